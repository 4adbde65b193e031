package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"sitrep/models"
	"sitrep/server/demo"
	"sitrep/server/notify"
	"sitrep/server/web"
)

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
	if os.Getenv("GOGC") == "" {
		// The heap is collected when it has grown by half, not doubled:
		// on the day of an outage the live heap is about 30 MB and its
		// peak was 65 MB, most of the server's memory; at 50 % the peak
		// memory fell by a sixth for the same CPU and latency (see "The
		// day of an outage, measured"). GOGC still decides when set.
		debug.SetGCPercent(50)
	}
	store, n, err := openMigrated(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	if n > 0 {
		log.Info("migrated", "applied", n, "schema_version", models.SchemaVersion())
	}
	if cfg.Demo {
		switch err := demo.Load(ctx, store); {
		case errors.Is(err, demo.ErrNotEmpty):
			log.Info("demo: database has data already; not loading the demo")
		case err != nil:
			return err
		default:
			log.Info("demo loaded", "accounts", strings.Join(demo.UserNames(), ","), "password", demo.Password)
		}
	}
	store.FlagHideThreshold = cfg.FlagThreshold
	store.UpdateCadence = cfg.UpdateCadence
	cfg.LinkURL = linkURL(cfg)
	app, err := web.New(cfg.Config, store, log)
	if err != nil {
		return err
	}
	handler, err := app.Handler()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, cfg, store, app, log, ln, handler)
}

// serve runs the HTTP server on ln until ctx ends, with the background
// work beside it.
func serve(ctx context.Context, cfg Config, store *models.Store, app *web.App, log *slog.Logger, ln net.Listener, handler http.Handler) error {
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(app.CloseStreams)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	workers, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	defer func() {
		// The database closes after the background work has stopped.
		stopWorkers()
		wg.Wait()
	}()
	wg.Go(func() { housekeeping(workers, store, log, housekeepingTick) })
	wg.Go(func() {
		if err := app.RunLive(workers); err != nil {
			log.Error("live updates stopped", "error", err)
		}
	})
	worker, err := newWorker(cfg, store, log)
	if err != nil {
		return err
	}
	wg.Go(func() { worker.Run(workers) })
	if cfg.SnapshotDir != "" {
		wg.Go(func() { app.RunSnapshots(workers, cfg.SnapshotDir) })
	}
	log.Info("listening", "addr", ln.Addr().String(), "db", models.RedactURL(cfg.DB))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Readiness answers 503 first, for a quarter of the grace (at most 5 s),
	// so that a load balancer stops sending new requests before the
	// listener closes; then in-flight requests get the rest to finish.
	drain := min(cfg.ShutdownGrace/4, 5*time.Second)
	log.Info("shutting down", "grace", cfg.ShutdownGrace.String(), "drain", drain.String())
	app.Drain()
	time.Sleep(drain)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// housekeepingTick is how often the server moves maintenance windows whose
// start or end has come, unpins threads whose pin has ended and prunes what
// has expired.
const housekeepingTick = 15 * time.Second

// housekeeping runs the time-driven changes until ctx ends.
func housekeeping(ctx context.Context, store *models.Store, log *slog.Logger, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for name, run := range map[string]func(context.Context) (int, error){
			"maintenance windows moved": store.AdvanceMaintenance,
			"pins expired":              store.ExpirePins,
			"old events pruned":         store.PruneEvents,
			"old notifications pruned":  store.PruneNotifications,
			"expired limits pruned":     store.PruneLimits,
			"subscription data pruned":  store.PruneSubscriptions,
		} {
			n, err := run(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				log.Error("housekeeping", "task", name, "error", err)
			case n > 0:
				log.Info("housekeeping: "+name, "count", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// linkURL is where links in mails and webhooks lead: -base-url, or this
// server as -addr names it.
func linkURL(cfg Config) string {
	if cfg.BaseURL != "" {
		return cfg.BaseURL
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// newWorker is the job worker with what deliveries need: the mail server
// (or none: the log says once that mail is off), where links lead, and
// whether webhooks may reach private addresses.
func newWorker(cfg Config, store *models.Store, log *slog.Logger) (*notify.Worker, error) {
	w := notify.NewWorker(store, log)
	s := notify.Settings{Site: notify.Site{Name: cfg.SiteName, BaseURL: cfg.LinkURL}, BaseURLSet: cfg.BaseURL != "",
		AllowPrivate: cfg.WebhookAllowPrivate}
	if cfg.SMTP != nil {
		m, err := notify.NewSMTPMailer(cfg.SMTP, w.Concurrency)
		if err != nil {
			return nil, err
		}
		s.Mailer = m
		log.Info("mail on", "smtp", cfg.SMTP.String(), "from", cfg.SMTP.From)
	} else {
		log.Warn("mail is off: no -smtp-url; mails are kept in the admin outbox (/admin/outbox) as not sent, and sign-up does not confirm addresses")
	}
	if cfg.WebhookAllowPrivate {
		log.Warn("webhooks may reach loopback and private addresses (-webhook-allow-private)")
	}
	w.Configure(s)
	return w, nil
}
