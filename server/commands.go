package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"sitrep/models"
	"sitrep/server/demo"
	"sitrep/server/web"
)

// The operator's commands besides serve.

// requireDB refuses a database file that does not exist, for the commands
// that only make sense on an existing site (a typo in -db would otherwise
// quietly create an empty one). serve, migrate, user add and demo create it.
func requireDB(cmd, path string) error {
	if models.IsPostgresURL(path) {
		return nil // opening it says whether it is there
	}
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
	n, err := models.MigrateAt(ctx, *db)
	if err != nil {
		return err
	}
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
	if err := demo.Load(ctx, store); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo loaded into %s; accounts %s share the password %q\n", models.RedactURL(*db), strings.Join(demo.UserNames(), ", "), demo.Password)
	return nil
}

func cmdBackup(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	db := dbFlag(fs)
	to := fs.String("to", "", "file to write the backup to (must not exist)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if models.IsPostgresURL(*db) {
		return models.ErrBackupPostgres
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

func cmdCopy(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("copy", flag.ContinueOnError)
	from := fs.String("from", "", "the site's database: a SQLite file (or a postgres:// URL)")
	to := fs.String("to", "", "the empty database to copy it to: a postgres:// URL (or a SQLite file)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return usagef("copy: -from and -to are required")
	}
	if *from == *to {
		return usagef("copy: -from and -to are the same database")
	}
	if err := requireDB("copy", *from); err != nil {
		return err
	}
	src, err := models.Open(*from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := models.Open(*to)
	if err != nil {
		return err
	}
	defer dst.Close()
	n, err := src.CopyTo(ctx, dst)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "copied %d rows from %s to %s\n", n, models.RedactURL(*from), models.RedactURL(*to))
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

func cmdSnapshot(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	db := dbFlag(fs)
	to := fs.String("to", "", "the snapshot's link: a symbolic link to the newest version, made beside it (required)")
	base := fs.String("base-url", envDefault("SITREP_BASE_URL", ""), "the live site's public URL, for links to what the snapshot does not hold (env SITREP_BASE_URL)")
	site := fs.String("site-name", envDefault("SITREP_SITE_NAME", web.DefaultSiteName), "the site's name (env SITREP_SITE_NAME)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *to == "" {
		return usagef("snapshot: -to is required")
	}
	cfg := Config{Config: web.Config{BaseURL: *base, SiteName: *site}, DB: *db}
	if err := cfg.validateSite(); err != nil {
		return usagef("snapshot: %v", err)
	}
	if err := requireDB("snapshot", *db); err != nil {
		return err
	}
	store, _, err := openMigrated(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	app, err := web.New(cfg.Config, store, newLogger("text", stderr))
	if err != nil {
		return err
	}
	if err := app.WriteSnapshot(ctx, *to); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "snapshot written to %s\n", *to)
	return nil
}
