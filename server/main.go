// Command sitrep is a support forum with incident threads and a service
// health dashboard, in one binary with SQLite inside.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

const usage = `Usage: sitrep [command] [flags]

Commands:
  serve     run the web server (the default)
  migrate   apply database migrations and exit
  user add  create a user; the password is the first line of standard input
  token add print a new API token for a user
  demo      load the demo scenario into an empty database
  backup    write a consistent, verified copy of the database
  rerender  render every post again after a change of the Markdown policy

Run "sitrep COMMAND -h" for a command's flags.
`

func main() {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// run is the whole command line, testable without a process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdin, stdout, stderr)
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "sitrep:", oneLine(err.Error()))
		return 2
	default:
		fmt.Fprintln(stderr, "sitrep:", oneLine(err.Error()))
		return 1
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return cmdServe(ctx, args, stderr)
	case "migrate":
		return cmdMigrate(ctx, args, stdout)
	case "user", "token":
		if len(args) == 0 || args[0] != "add" {
			return usagef("%s needs a subcommand: %s add", cmd, cmd)
		}
		if cmd == "user" {
			return cmdUserAdd(ctx, args[1:], stdin, stdout)
		}
		return cmdTokenAdd(ctx, args[1:], stdout)
	case "demo":
		return cmdDemo(ctx, args, stdout)
	case "backup":
		return cmdBackup(ctx, args, stdout)
	case "rerender":
		return cmdRerender(ctx, args, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usagef("unknown command %q (try: serve, migrate, user add, token add, demo, backup, rerender)", cmd)
}

// parseFlags parses a subcommand's flags; -h prints them. Positional
// arguments are refused.
func parseFlags(fs *flag.FlagSet, args []string, help io.Writer) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(help)
			fmt.Fprintf(help, "Flags of sitrep %s:\n", fs.Name())
			fs.PrintDefaults()
			return err
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// requireDB refuses a database file that does not exist, for the commands
// that only make sense on an existing site (a typo in -db would otherwise
// quietly create an empty one). serve, migrate, user add and demo create it.
func requireDB(cmd, path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%s: database %s: %w", cmd, path, errors.Unwrap(err))
	}
	return nil
}

// openMigrated opens the database and brings its schema up to date.
func openMigrated(ctx context.Context, path string) (*models.Store, int, error) {
	store, err := models.Open(path)
	if err != nil {
		return nil, 0, err
	}
	n, err := store.Migrate(ctx)
	if err != nil {
		store.Close()
		return nil, 0, err
	}
	return store, n, nil
}

func cmdMigrate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	db := dbFlag(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	store, n, err := openMigrated(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprintf(stdout, "applied %d migration(s); schema version %d\n", n, models.SchemaVersion())
	return nil
}

func cmdUserAdd(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	db := dbFlag(fs)
	name := fs.String("name", "", "user name (required)")
	email := fs.String("email", "", "email address (required)")
	role := fs.String("role", "customer", "customer, staff, moderator or admin")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *name == "" || *email == "" {
		return usagef("user add: -name and -email are required")
	}
	if !models.Role(*role).Valid() {
		return usagef("user add: -role must be customer, staff, moderator or admin, not %q", *role)
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return errors.New("user add: give the password as the first line of standard input")
	}
	store, _, err := openMigrated(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	u, err := store.CreateUser(ctx, models.NewUser{Name: *name, Email: *email, Password: password,
		Role: models.Role(*role), AllowReserved: true})
	if err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	fmt.Fprintf(stdout, "created %s %s (id %d)\n", u.Role, u.Name, u.ID)
	return nil
}

func cmdTokenAdd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("token add", flag.ContinueOnError)
	db := dbFlag(fs)
	user := fs.String("user", "", "user name (required)")
	label := fs.String("name", "command line", "a label for the token")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *user == "" {
		return usagef("token add: -user is required")
	}
	if err := requireDB("token add", *db); err != nil {
		return err
	}
	store, _, err := openMigrated(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	u, err := store.UserByName(ctx, *user)
	if errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("token add: no user named %q", *user)
	}
	if err != nil {
		return err
	}
	_, secret, err := store.CreateToken(ctx, u.ID, *label)
	if err != nil {
		return fmt.Errorf("token add: %w", err)
	}
	fmt.Fprintln(stdout, secret)
	return nil
}

func cmdDemo(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	db := dbFlag(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	store, _, err := openMigrated(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := loadDemo(ctx, store); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo loaded into %s; accounts %s share the password %q\n", *db, strings.Join(demoUserNames(), ", "), demoPassword)
	return nil
}

func cmdBackup(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	db := dbFlag(fs)
	to := fs.String("to", "", "file to write the backup to (must not exist)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *to == "" {
		return usagef("backup: -to is required")
	}
	if err := requireDB("backup", *db); err != nil {
		return err
	}
	store, err := models.Open(*db)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Backup(ctx, *to); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s and verified\n", *to)
	return nil
}

func cmdRerender(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("rerender", flag.ContinueOnError)
	db := dbFlag(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := requireDB("rerender", *db); err != nil {
		return err
	}
	store, _, err := openMigrated(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := store.RerenderPosts(ctx)
	if err != nil {
		return fmt.Errorf("rerender: %w", err)
	}
	fmt.Fprintf(stdout, "re-rendered posts and revisions: %d changed\n", n)
	return nil
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// cmdServe runs the server until SIGINT or SIGTERM, then shuts down
// gracefully: readiness turns 503, in-flight requests finish, the database
// closes last.
func cmdServe(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := parseServeFlags(args)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogFormat, stderr)
	store, n, err := openMigrated(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	if n > 0 {
		log.Info("migrated", "applied", n, "schema_version", models.SchemaVersion())
	}
	if cfg.Demo {
		switch err := loadDemo(ctx, store); {
		case errors.Is(err, errNotEmpty):
			log.Info("demo: database has data already; not loading the demo")
		case err != nil:
			return err
		default:
			log.Info("demo loaded", "accounts", strings.Join(demoUserNames(), ","), "password", demoPassword)
		}
	}
	store.FlagHideThreshold = cfg.FlagThreshold
	a, err := newApp(cfg, store, log)
	if err != nil {
		return err
	}
	handler, err := a.router()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return a.serve(ctx, ln, handler)
}

// serve runs the HTTP server on ln until ctx ends.
func (a *app) serve(ctx context.Context, ln net.Listener, handler http.Handler) error {
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	workers, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	go a.housekeeping(workers, housekeepingTick)
	a.log.Info("listening", "addr", ln.Addr().String(), "db", a.cfg.DB)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Readiness answers 503 first, for a quarter of the grace (at most 5 s),
	// so that a load balancer stops sending new requests before the
	// listener closes; then in-flight requests get the rest to finish.
	drain := min(a.cfg.ShutdownGrace/4, 5*time.Second)
	a.log.Info("shutting down", "grace", a.cfg.ShutdownGrace.String(), "drain", drain.String())
	a.ready.Store(false)
	time.Sleep(drain)
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	a.log.Info("stopped")
	return nil
}

// housekeepingTick is how often the server moves maintenance windows whose
// start or end has come and unpins threads whose pin has ended.
const housekeepingTick = 15 * time.Second

// housekeeping runs the time-driven changes until ctx ends.
func (a *app) housekeeping(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for name, run := range map[string]func(context.Context) (int, error){
			"maintenance windows moved": a.store.AdvanceMaintenance,
			"pins expired":              a.store.ExpirePins,
		} {
			n, err := run(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				a.log.Error("housekeeping", "task", name, "error", err)
			case n > 0:
				a.log.Info("housekeeping: "+name, "count", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
