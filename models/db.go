// Package models holds the data types and every query. It is the only package
// that talks to the database.
package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Store is the application's view of the database.
type Store struct {
	// db reads and wdb writes (see Open): two pools on one database.
	db  *gorm.DB
	wdb *gorm.DB
	// Now is the clock; tests replace it. Times are stored in UTC.
	Now func() time.Time
	// PasswordCost is the bcrypt cost for new password hashes.
	PasswordCost int
	// FlagHideThreshold is how many people flagging a post hide it
	// pending review.
	FlagHideThreshold int
	// UpdateCadence is the promise an open incident gets when an update
	// leaves out when the next one comes (see NewUpdate.NextUpdateAt).
	UpdateCadence time.Duration

	dummyOnce sync.Once
	dummy     []byte

	// changes wakes the readers of events and jobs after a write.
	changes *changeHub

	// pg is true on PostgreSQL, false on SQLite: the few queries whose SQL
	// differs branch on it.
	pg bool
	// writers queues this instance's write transactions on PostgreSQL
	// (see write).
	writers chan struct{}
	// instance names this store in its PostgreSQL notifications.
	instance string
	// stopListening ends the PostgreSQL listener (see listen), and
	// listening is done once it has.
	stopListening context.CancelFunc
	listening     sync.WaitGroup
	// committer commits concurrent writes together (groupcommit.go).
	committer *committer
}

// dsn builds the mattn/go-sqlite3 connection string: WAL so readers never
// block the writer, synchronous=FULL so an acknowledged write survives power
// loss, foreign keys on, and a busy timeout instead of an immediate
// "database is locked". Writers (write true) wait up to 10 s for the lock
// and begin IMMEDIATE, so that read-then-write transactions take the write
// lock up front rather than failing half-way. Readers wait 2 s at most:
// under WAL only something unusual (another process's exclusive lock, a
// damaged file) stops a read, and then a public page had better fall back
// on its last good copy at once than keep a visitor waiting.
func dsn(path string, write bool) string {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_foreign_keys", "on")
	if write {
		q.Set("_busy_timeout", "10000")
		q.Set("_txlock", "immediate")
	} else {
		q.Set("_busy_timeout", "2000")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// driverName is SQLite with Sitrep's search functions registered on every
// connection. FTS4 is built into the driver (FTS5 would need a build tag on
// every go command); FTS4 has no ranking of its own, hence searchRank, and
// the stemming migration re-indexes with indexText (search.go).
const driverName = "sqlite3_sitrep"

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{
		ConnectHook: func(conn *sqlite3.SQLiteConn) error {
			if err := conn.RegisterFunc("search_rank", searchRank, true); err != nil {
				return err
			}
			return conn.RegisterFunc("index_text", indexText, true)
		},
	})
}

// tables lists every model type with a table. A new model must be added
// here: Open parses each schema once, and TestSchemaMatchesModels checks
// each against its migration.
var tables = []any{&User{}, &Session{}, &APIToken{}, &Service{}, &schemaMigration{},
	&Thread{}, &Post{}, &PostRevision{}, &AffectedMark{},
	&Incident{}, &IncidentService{}, &IncidentUpdate{}, &UpdateTransition{}, &ServiceStatusChange{},
	&Flag{}, &Sanction{}, &AuditEntry{}, &Follow{},
	&Event{}, &Job{}, &Notification{}, &Limit{},
	&Subscription{}, &SubscriptionService{}, &Notice{}, &Delivery{}, &OutboxMail{}, &PendingSignup{}}

// parseSchemas parses every model's schema, relations included, before the
// store is shared: GORM parses a schema on first use, and two goroutines
// doing so at once race (one writes a relation map another reads).
func parseSchemas(db *gorm.DB) error {
	for _, m := range tables {
		if err := (&gorm.Statement{DB: db}).Parse(m); err != nil {
			return fmt.Errorf("schema of %T: %w", m, err)
		}
	}
	return nil
}

// Open opens the database at dsn: a PostgreSQL URL (postgres:// or
// postgresql://) or else the path of a SQLite file, created if needed. It
// does not migrate; call Migrate.
func Open(dsn string) (*Store, error) {
	if dsn == "" {
		return nil, errors.New("database path is empty")
	}
	s := &Store{Now: time.Now, PasswordCost: bcrypt.DefaultCost, FlagHideThreshold: DefaultFlagHideThreshold, UpdateCadence: DefaultUpdateCadence, changes: newChangeHub()}
	if IsPostgresURL(dsn) {
		if err := s.openPostgres(dsn); err != nil {
			return nil, err
		}
		return s, nil
	}
	path := dsn
	// Two pools: readers, several at once as WAL allows, and the writer,
	// one connection, because SQLite has one writer at a time: writes queue
	// in the pool, in order, instead of polling the lock.
	var err error
	if s.db, err = s.openPool(path, false, 8); err != nil {
		return nil, err
	}
	if s.wdb, err = s.openPool(path, true, 1); err != nil {
		s.Close()
		return nil, err
	}
	s.committer = startCommitter(s.wdb)
	return s, nil
}

// openPool opens one pool of n connections on the database at path.
func (s *Store) openPool(path string, write bool, n int) (*gorm.DB, error) {
	db, err := gorm.Open(sqlite.New(sqlite.Config{DriverName: driverName, DSN: dsn(path, write)}), s.gormConfig())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	if err := sqlDB.Ping(); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := parseSchemas(db); err != nil {
		sqlDB.Close()
		return nil, err
	}
	return db, nil
}

// gormConfig is GORM's configuration on either database.
func (s *Store) gormConfig() *gorm.Config {
	return &gorm.Config{
		Logger:         logger.Discard,
		TranslateError: true,
		NowFunc:        func() time.Time { return s.now() },
	}
}

// now is the clock in UTC, to the microsecond on PostgreSQL, which keeps
// no finer times: what is written reads back equal.
func (s *Store) now() time.Time {
	if s.pg {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return s.Now().UTC()
}

// Close closes the database.
func (s *Store) Close() error {
	if s.committer != nil {
		s.committer.stop()
	}
	if s.stopListening != nil {
		s.stopListening()
		s.listening.Wait()
	}
	var errs []error
	for i, db := range []*gorm.DB{s.db, s.wdb} {
		if db == nil || i == 1 && db == s.db { // PostgreSQL: one pool
			continue
		}
		sqlDB, err := db.DB()
		if err == nil {
			err = sqlDB.Close()
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Ping tells whether the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.db.WithContext(ctx).Raw("SELECT 1").Scan(&one).Error
}

// readSnapshot runs fn with a Store whose queries all read one snapshot of
// the database, so that a page assembled from several reads never mixes two
// states. On SQLite it is a deferred transaction on one connection, not
// db.Transaction: the driver begins those IMMEDIATE (see dsn), which would
// hold every writer up for as long as the page is read; under WAL a deferred
// read blocks no one. On PostgreSQL it is a read-only repeatable-read
// transaction, which blocks no one either.
func (s *Store) readSnapshot(ctx context.Context, fn func(rs *Store) error) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	begin := "BEGIN DEFERRED"
	if s.pg {
		begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
	}
	if _, err := conn.ExecContext(ctx, begin); err != nil {
		return err
	}
	defer func() {
		// Nothing was written, so ROLLBACK only ends the transaction; it
		// runs even when ctx is cancelled. A connection still inside a
		// transaction must not go back to the pool, where the next BEGIN
		// on it would fail.
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	// A new session with its own statement, so that s.db keeps its pool.
	db := s.db.Session(&gorm.Session{NewDB: true, Context: ctx})
	db.Statement.ConnPool = conn
	return fn(&Store{db: db, wdb: s.wdb, Now: s.Now, PasswordCost: s.PasswordCost, FlagHideThreshold: s.FlagHideThreshold, UpdateCadence: s.UpdateCadence,
		changes: s.changes, committer: s.committer, pg: s.pg, writers: s.writers, instance: s.instance})
}

// Backup writes a consistent copy of the database to path while others keep
// reading and writing, then opens the copy and checks its integrity. An
// existing file at path is never overwritten. A PostgreSQL database is
// backed up with PostgreSQL's own tools.
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.pg {
		return ErrBackupPostgres
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s already exists", path)
	}
	if err := s.db.WithContext(ctx).Exec("VACUUM INTO ?", path).Error; err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := CheckIntegrity(ctx, path); err != nil {
		return fmt.Errorf("backup written but %w", err)
	}
	return nil
}

// CheckIntegrity opens the database file at path read-only and runs SQLite's
// integrity check.
func CheckIntegrity(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	var result string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&result); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if result != "ok" {
		return fmt.Errorf("integrity check: %s", result)
	}
	return nil
}

// translate maps driver errors to the package's sentinels.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return ErrNotFound
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return ErrConflict
	}
	return err
}
