// Command sitrep is a support forum with incident threads and a service
// health dashboard, in one binary with SQLite inside.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gin-gonic/gin"
)

const usage = `Usage: sitrep [command] [flags]

Commands:
  serve     run the web server (the default)
  migrate   apply database migrations and exit
  user add  create a user; the password is the first line of standard input
  token add print a new API token for a user
  demo      load the demo scenario into an empty database
  backup    write a consistent, verified copy of the database (SQLite)
  copy      move a site to another database, such as PostgreSQL
  rerender  render every post again after a change of the Markdown policy
  snapshot  write the public status as static files
  loadtest  replay the day of an outage against a running server and measure it
  generate  build a big made-up site into a new database, for measuring at scale

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
	case "copy":
		return cmdCopy(ctx, args, stdout)
	case "rerender":
		return cmdRerender(ctx, args, stdout)
	case "snapshot":
		return cmdSnapshot(ctx, args, stdout, stderr)
	case "loadtest":
		return cmdLoadtest(ctx, args, stdout, stderr)
	case "generate":
		return cmdGenerate(ctx, args, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usagef("unknown command %q (try: serve, migrate, user add, token add, demo, backup, copy, rerender, snapshot, loadtest, generate)", cmd)
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
