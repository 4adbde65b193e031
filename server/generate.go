package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"sitrep/models"
)

// cmdGenerate builds a big made-up site into a new database, for
// measuring the application at scale.
func cmdGenerate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	db := dbFlag(fs)
	var spec models.GenerateSpec
	fs.IntVar(&spec.Users, "users", 100_000, "accounts to make")
	fs.IntVar(&spec.Threads, "threads", 20_000, "threads to start")
	fs.IntVar(&spec.Posts, "posts", 1_000_000, "posts in all, the threads' first posts included")
	fs.Uint64Var(&spec.Seed, "seed", 1, "the same seed and sizes make the same site")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := spec.Check(); err != nil {
		return usagef("generate: %v", err)
	}
	began := time.Now()
	st, err := models.Generate(ctx, *db, spec)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	fmt.Fprintf(stdout, "generated %d users, %d threads and %d posts (%d distinct texts) into %s in %s; accounts share the password %q\n",
		st.Users, st.Threads, st.Posts, st.Bodies, *db, time.Since(began).Round(time.Second), models.GeneratedPassword)
	return nil
}
