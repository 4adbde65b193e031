package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"golang.org/x/crypto/bcrypt"

	"sitrep/models"
	"sitrep/server/loadtest"
)

// cmdLoadtest replays the day of an outage against a running Sitrep (see
// package loadtest). With -db, it first makes the customer accounts that
// post the replies, in the site's database, and afterwards checks that
// every reply answered 201 is there.
func cmdLoadtest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	var o loadtest.Options
	fs.StringVar(&o.Target, "target", "http://127.0.0.1:8080", "the running server's base URL")
	fs.BoolVar(&o.AllowRemote, "allow-remote", false, "allow a target that is not on this machine")
	fs.Float64Var(&o.Rate, "rate", loadtest.DefaultRate, "reads per second, all connections together")
	fs.IntVar(&o.Connections, "connections", loadtest.DefaultConnections, "keep-alive connections")
	fs.DurationVar(&o.Duration, "duration", loadtest.DefaultDuration, "how long requests are scheduled for")
	fs.Float64Var(&o.ReplyRate, "replies", loadtest.DefaultReplyRate, "replies per second (needs -db; 0: none)")
	fs.IntVar(&o.Streams, "streams", 500, "live-update streams held open")
	fs.BoolVar(&o.FindMax, "find-max", false, "closed loop: find the highest read rate served with no error")
	fs.DurationVar(&o.MaxP99, "max-p99", loadtest.DefaultMaxP99, "with -find-max: the p99 a rate must stay under")
	mix := fs.String("mix", loadtest.DefaultMix.String(), "the reads' weights")
	db := fs.String("db", "", "the site's database, to make the accounts that reply (SQLite file or postgres:// URL)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	m, err := loadtest.ParseMix(*mix)
	if err != nil {
		return usagef("loadtest: %v", err)
	}
	o.Mix = m
	if o.ReplyRate == 0 {
		o.ReplyRate = -1 // none
	}
	var store *models.Store
	if o.ReplyRate > 0 {
		if *db == "" {
			return usagef("loadtest: replies need -db (the accounts that post them are made there), or -replies 0")
		}
		if err := requireDB("loadtest", *db); err != nil {
			return err
		}
		if store, _, err = openMigrated(ctx, *db); err != nil {
			return err
		}
		defer store.Close()
		// One account per reply of the first minute: a customer posts at
		// most once in that time, and the limits are not what is measured.
		n := int(o.ReplyRate * min(o.Duration, time.Minute).Seconds())
		fmt.Fprintf(stderr, "loadtest: making %d customer accounts with API tokens in %s\n", n, *db)
		if o.Tokens, err = loadAccounts(ctx, store, n); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	rep, err := loadtest.Run(ctx, o, stderr)
	if rep != nil {
		if err := rep.Print(stdout); err != nil {
			return err
		}
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("loadtest: %w", err)
	}
	if store != nil && len(rep.Acknowledged) > 0 {
		missing, err := store.MissingPosts(context.WithoutCancel(ctx), rep.Acknowledged)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "acknowledged replies in the database: %d of %d\n", len(rep.Acknowledged)-len(missing), len(rep.Acknowledged))
		if len(missing) > 0 {
			return fmt.Errorf("loadtest: %d acknowledged replies are missing, the first %d", len(missing), missing[0])
		}
	}
	return nil
}

// loadAccounts makes n customer accounts for one run, each with an API
// token, and returns the tokens. The names carry the run's time, so runs do
// not collide; passwords are hashed at bcrypt's lowest cost, which is fine
// for accounts nobody logs in to.
func loadAccounts(ctx context.Context, store *models.Store, n int) ([]string, error) {
	store.PasswordCost = bcrypt.MinCost
	run := time.Now().UTC().Format("0102150405")
	tokens := make([]string, 0, n)
	for i := range n {
		name := fmt.Sprintf("load%s-%d", run, i)
		u, err := store.CreateUser(ctx, models.NewUser{Name: name, Email: name + "@loadtest.invalid", Password: "load test account",
			Role: models.RoleCustomer, AllowReserved: true})
		if err != nil {
			return nil, fmt.Errorf("loadtest: account %s: %w", name, err)
		}
		_, secret, err := store.CreateToken(ctx, u.ID, "loadtest")
		if err != nil {
			return nil, err
		}
		tokens = append(tokens, secret)
	}
	return tokens, nil
}
