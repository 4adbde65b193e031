package models

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// IsPostgresURL tells whether dsn names a PostgreSQL database rather than a
// SQLite file.
func IsPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// ErrBackupPostgres is what backup says of a PostgreSQL database.
var ErrBackupPostgres = errors.New("backup copies a SQLite database file; on PostgreSQL use pg_dump (for example pg_dump -Fc -f sitrep.dump postgres://...)")

// RedactURL is dsn with its password, if any, hidden, fit for logs and
// error messages; a file path is returned as it is.
func RedactURL(dsn string) string {
	if !IsPostgresURL(dsn) {
		return dsn
	}
	if u, err := url.Parse(dsn); err == nil {
		return u.Redacted()
	}
	return "(an unreadable URL)"
}

// postgresConns bounds one instance's connections: PostgreSQL's default
// of 100 leaves room for several instances and the tools.
const postgresConns = 16

// postgresWriters is how many write transactions one instance runs at
// once on PostgreSQL: one, as on SQLite. Serializable transactions that
// touch the same rows (replies to one thread bump its counters) fail and
// run again; side by side on one instance they mostly retry (measured with
// BenchmarkConcurrentReplies: one at a time wrote more replies a second
// than two or four, and 32 at once ran out of retries). Between
// instances, retries keep them apart.
const postgresWriters = 1

// openPostgres opens the PostgreSQL database at dsn. There is one pool:
// PostgreSQL has no single writer, so s.db and s.wdb are the same, and
// writes run serializable (see write).
func (s *Store) openPostgres(dsn string) error {
	if _, err := pgx.ParseConfig(dsn); err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner // pgx's own message repeats the URL
		}
		return fmt.Errorf("database URL %s: %w", RedactURL(dsn), err)
	}
	s.pg = true
	db, err := gorm.Open(postgres.New(postgres.Config{DSN: dsn}), s.gormConfig())
	if err != nil {
		return fmt.Errorf("open %s: %w", RedactURL(dsn), err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	sqlDB.SetMaxOpenConns(postgresConns)
	sqlDB.SetMaxIdleConns(postgresConns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	if err := sqlDB.Ping(); err != nil {
		sqlDB.Close()
		return fmt.Errorf("open %s: %w", RedactURL(dsn), err)
	}
	if err := parseSchemas(db); err != nil {
		sqlDB.Close()
		return err
	}
	s.db, s.wdb = db, db
	s.writers = make(chan struct{}, postgresWriters)
	b := make([]byte, 8)
	rand.Read(b)
	s.instance = hex.EncodeToString(b)
	ctx, cancel := context.WithCancel(context.Background())
	s.stopListening = cancel
	s.listening.Add(1)
	go s.listen(ctx, dsn)
	return nil
}

// changesChannel is the PostgreSQL channel on which a write transaction
// that wrote events or jobs says so when it commits. A notification
// carries only the id of the instance that wrote (PostgreSQL bounds a
// payload to 8 KB, and the events table has it all): each other instance's
// listener wakes its broker and job worker, which read what they have not
// seen; the writer woke its own already.
const changesChannel = "sitrep_changes"

// notifyChanges has tx, when it commits, notify every instance's
// listener.
func (s *Store) notifyChanges(tx *gorm.DB) error {
	return tx.Exec("SELECT pg_notify(?, ?)", changesChannel, s.instance).Error
}

// listen holds a connection of its own that listens on changesChannel and
// signals this store's change hub at each notification, so an event
// committed by another instance reaches this one's streams at once. After a
// failure it connects again; meanwhile the readers poll.
func (s *Store) listen(ctx context.Context, dsn string) {
	defer s.listening.Done()
	for again := false; ctx.Err() == nil; again = true {
		if err := s.listenOnce(ctx, dsn, again); err != nil && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// listenOnce listens until the connection fails. Listening again, it wakes
// the readers first, for what was written while no one listened.
func (s *Store) listenOnce(ctx context.Context, dsn string, again bool) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+changesChannel); err != nil {
		return err
	}
	if again {
		s.changes.signal()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Payload != s.instance {
			s.changes.signal()
		}
	}
}

// param is a query parameter of SQL type typ where the database cannot
// tell its type from where it stands (in the SELECT list of an INSERT ...
// SELECT): PostgreSQL needs the cast, SQLite has no use for it.
func (s *Store) param(typ string) string {
	if s.pg {
		return "CAST(? AS " + typ + ")"
	}
	return "?"
}

// jsonObject is the SQL of a JSON object, as text, of the keys and values
// pairs ("'key', value, ...").
func (s *Store) jsonObject(pairs string) string {
	if s.pg {
		return "json_build_object(" + pairs + ")::text"
	}
	return "json_object(" + pairs + ")"
}

// retryable tells whether a PostgreSQL transaction failed only because it
// ran at the same time as another (a serialization failure or a
// deadlock) and may simply run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// pgUnavailable tells whether err is PostgreSQL's way of saying that it
// cannot be reached or cannot serve at all.
func pgUnavailable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exceptions; 53: insufficient resources;
		// 57P0x: the server shutting down or gone.
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "53") || strings.HasPrefix(pe.Code, "57P0")
	}
	return false
}
