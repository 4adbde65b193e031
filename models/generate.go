package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// GenerateSpec sizes a generated site.
type GenerateSpec struct {
	Users, Threads, Posts int
	// Seed makes the site: the same spec gives the same site.
	Seed uint64
	// End is the time of the newest post possible; posts spread over the
	// GenerateSpan before it.
	End time.Time
}

// GenerateSpan is how far back a generated site's history goes.
const GenerateSpan = 180 * 24 * time.Hour

// GeneratedPassword is every generated account's password.
const GeneratedPassword = "generated-password"

// Bounds of a generated site.
const (
	GenerateMinUsers = 10 // an admin, a moderator, staff and customers
	GenerateMaxPosts = 20_000_000
)

// Check refuses a spec that cannot make a site.
func (g GenerateSpec) Check() error {
	switch {
	case g.Users < GenerateMinUsers || g.Users > GenerateMaxPosts:
		return fmt.Errorf("users must be between %d and %d, not %d", GenerateMinUsers, GenerateMaxPosts, g.Users)
	case g.Threads < 1:
		return fmt.Errorf("threads must be at least 1, not %d", g.Threads)
	case g.Posts < g.Threads || g.Posts > GenerateMaxPosts:
		return fmt.Errorf("posts must be between the number of threads (%d: each has its first post) and %d, not %d", g.Threads, GenerateMaxPosts, g.Posts)
	}
	return nil
}

// GenerateStats says what Generate made.
type GenerateStats struct {
	Users, Threads, Posts, Bodies int
}

// Generate builds a site of spec's size into a new database file at path,
// for measuring the application at scale: users (a few staff, a moderator
// and an admin; the rest customers, some posting much more than others),
// services, threads with a spread of lengths, and posts in time order
// whose Markdown is rendered once per distinct text. Counters, follows,
// "I'm affected" marks and the search index are what the Store's own
// writes would have made. A file that already holds a site is refused; the
// site is built beside path and renamed into place when complete.
func Generate(ctx context.Context, path string, spec GenerateSpec) (GenerateStats, error) {
	if err := spec.Check(); err != nil {
		return GenerateStats{}, err
	}
	if IsPostgresURL(path) {
		return GenerateStats{}, errors.New("generate writes a new SQLite file; for PostgreSQL, generate a file and move it there with sitrep copy")
	}
	if err := refuseSite(ctx, path); err != nil {
		return GenerateStats{}, err
	}
	tmp := path + ".generating"
	removeDB(tmp)
	stats, err := generateInto(ctx, tmp, spec)
	if err != nil {
		removeDB(tmp)
		return stats, err
	}
	removeDB(path)
	return stats, os.Rename(tmp, path)
}

// refuseSite refuses a database at path that holds anything but an empty
// schema.
func refuseSite(ctx context.Context, path string) error {
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		return nil
	}
	s, err := Open(path)
	if err != nil {
		return err
	}
	defer s.Close()
	var tables, sites int64
	if err := s.db.WithContext(ctx).Raw(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name <> 'schema_migrations'`).
		Scan(&tables).Error; err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if tables > 0 {
		if err := s.db.WithContext(ctx).Raw(`SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM threads)`).Scan(&sites).Error; err != nil {
			return fmt.Errorf("%s is not an empty Sitrep database: %w", path, err)
		}
	}
	if sites > 0 {
		return fmt.Errorf("%s already holds a site; generate into a new file", path)
	}
	return nil
}

func removeDB(path string) {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
}

// generateInto builds the site in a new file, without a journal: if
// anything fails the file is thrown away.
func generateInto(ctx context.Context, path string, spec GenerateSpec) (GenerateStats, error) {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?_journal_mode=OFF&_synchronous=OFF&_foreign_keys=on&_cache_size=-262144"
	db, err := gorm.Open(sqlite.New(sqlite.Config{DriverName: driverName, DSN: dsn}), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return GenerateStats{}, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return GenerateStats{}, err
	}
	defer sqlDB.Close()
	sqlDB.SetMaxOpenConns(1)
	s := &Store{db: db, wdb: db, Now: time.Now, changes: newChangeHub()}
	if _, err := s.Migrate(ctx); err != nil {
		return GenerateStats{}, err
	}
	site, err := planSite(spec)
	if err != nil {
		return GenerateStats{}, err
	}
	if err := site.write(ctx, sqlDB); err != nil {
		return GenerateStats{}, err
	}
	if _, err := sqlDB.ExecContext(ctx, "PRAGMA journal_mode=WAL"); err != nil {
		return GenerateStats{}, err
	}
	return GenerateStats{Users: len(site.roles), Threads: len(site.threads), Posts: len(site.posts), Bodies: len(site.bodies)}, nil
}

// genThread and genPost are the plan of a site, ids in order of time.
type genThread struct {
	title      string
	author     int32
	service    int32 // 0: none
	posts      int32
	created    time.Time
	lastActive time.Time
}

type genPost struct {
	at     time.Time
	thread int32 // index in threads
	author int32 // user id
	body   int32
}

type genSite struct {
	roles   []Role // by user id - 1
	userAt  []time.Time
	threads []genThread
	posts   []genPost
	bodies  []*genBody
	staffAt int // bodies[staffAt:] are staff's
}

// planSite decides everything before a row is written.
func planSite(spec GenerateSpec) (*genSite, error) {
	if spec.End.IsZero() {
		spec.End = time.Now()
	}
	spec.End = spec.End.UTC().Truncate(time.Second)
	r := rand.New(rand.NewPCG(spec.Seed, 0x5175e9))
	words := newGenWords(r)
	g := &genSite{}
	start := spec.End.Add(-GenerateSpan)
	// Accounts: an admin, a moderator, one staff member per 2,000 people
	// (at least one), customers; made over the year before the site's
	// history.
	staff := max(1, spec.Users/2000)
	for i := range spec.Users {
		role := RoleCustomer
		switch {
		case i == 0:
			role = RoleAdmin
		case i == 1:
			role = RoleModerator
		case i < 2+staff:
			role = RoleStaff
		}
		g.roles = append(g.roles, role)
		g.userAt = append(g.userAt, start.Add(-time.Duration(r.Int64N(int64(365*24*time.Hour)))))
	}
	// Customers post with a Zipf law over a shuffled order: a few post a
	// lot, most a little.
	customers := r.Perm(spec.Users - 2 - staff)
	zipf := rand.NewZipf(r, 1.07, 8, uint64(len(customers)-1))
	customer := func() int32 { return int32(customers[zipf.Uint64()] + 3 + staff) }
	staffer := func() int32 { return int32(3 + r.IntN(staff)) }

	bodies, err := genBodies(words, min(max(spec.Posts/20, 16), 50_000))
	if err != nil {
		return nil, err
	}
	g.bodies, g.staffAt = bodies, len(bodies)-len(bodies)/staffBodies

	// Thread lengths: log-normal, so most threads are short and a few run
	// to hundreds of replies; every thread has its first post.
	weights := make([]float64, spec.Threads)
	sum := 0.0
	for i := range weights {
		weights[i] = math.Exp(r.NormFloat64())
		sum += weights[i]
	}
	replies := spec.Posts - spec.Threads
	counts := make([]int32, spec.Threads)
	given := 0
	for i, w := range weights {
		counts[i] = 1 + int32(float64(replies)*w/sum)
		given += int(counts[i]) - 1
	}
	for ; given < replies; given++ {
		counts[r.IntN(len(counts))]++
	}
	created := make([]time.Time, spec.Threads)
	for i := range created {
		created[i] = start.Add(time.Duration(r.Int64N(int64(GenerateSpan - time.Hour))))
	}
	slices.SortFunc(created, func(a, b time.Time) int { return a.Compare(b) })
	g.posts = make([]genPost, 0, spec.Posts)
	for i := range spec.Threads {
		th := genThread{title: words.title(), author: customer(), posts: counts[i], created: created[i], lastActive: created[i]}
		if r.IntN(10) < 7 {
			th.service = int32(1 + r.IntN(len(genServices)))
		}
		g.posts = append(g.posts, genPost{at: th.created, thread: int32(i), author: th.author, body: int32(r.IntN(g.staffAt))})
		// Replies come soon after the first post, then more slowly.
		window := float64(spec.End.Sub(th.created) - time.Second)
		for range th.posts - 1 {
			at := th.created.Add(time.Second + time.Duration(window*math.Pow(r.Float64(), 3)))
			p := genPost{at: at, thread: int32(i), author: customer(), body: int32(r.IntN(g.staffAt))}
			switch n := r.IntN(20); {
			case n == 0:
				p.author, p.body = staffer(), int32(g.staffAt+r.IntN(len(bodies)-g.staffAt))
			case n < 4:
				p.author = th.author
			}
			g.posts = append(g.posts, p)
			th.lastActive = maxTime(th.lastActive, at)
		}
		g.threads = append(g.threads, th)
	}
	slices.SortStableFunc(g.posts, func(a, b genPost) int { return a.at.Compare(b.at) })
	return g, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// genBatch is how many posts one transaction writes.
const genBatch = 50_000

// write inserts the planned site with prepared statements in big
// transactions.
func (g *genSite) write(ctx context.Context, db *sql.DB) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(GeneratedPassword), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	err = inTx(ctx, db, func(tx *sql.Tx) error {
		return g.writeAccounts(ctx, tx, string(hash))
	})
	if err != nil {
		return err
	}
	for from := 0; from < len(g.posts); from += genBatch {
		err := inTx(ctx, db, func(tx *sql.Tx) error {
			return g.writePosts(ctx, tx, from, min(from+genBatch, len(g.posts)))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// inTx runs f in one transaction.
func inTx(ctx context.Context, db *sql.DB, f func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		return errors.Join(err, tx.Rollback())
	}
	return tx.Commit()
}

// prepare prepares each statement of qs on tx.
func prepare(ctx context.Context, tx *sql.Tx, qs ...string) ([]*sql.Stmt, error) {
	stmts := make([]*sql.Stmt, len(qs))
	for i, q := range qs {
		var err error
		if stmts[i], err = tx.PrepareContext(ctx, q); err != nil {
			return nil, err
		}
	}
	return stmts, nil
}

// writeAccounts writes the services, users and threads, with the
// threads' final counters.
func (g *genSite) writeAccounts(ctx context.Context, tx *sql.Tx, hash string) error {
	st, err := prepare(ctx, tx,
		`INSERT INTO services (id, name, description, position, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		`INSERT INTO users (id, name, email, password_hash, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		`INSERT INTO threads (id, title, author_id, service_id, post_count, affected_count, last_activity_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)`)
	if err != nil {
		return err
	}
	first := g.userAt[0]
	for i, name := range genServices {
		if _, err := st[0].ExecContext(ctx, i+1, name, "The "+name+" service.", i, first, first); err != nil {
			return err
		}
	}
	for i, role := range g.roles {
		name := fmt.Sprintf("%s%d", role, i+1)
		if role == RoleCustomer {
			name = fmt.Sprintf("%s%d", genSyllables[i%len(genSyllables)]+genSyllables[i/7%len(genSyllables)], i+1)
		}
		if _, err := st[1].ExecContext(ctx, i+1, name, name+"@example.com", hash, role, g.userAt[i], g.userAt[i]); err != nil {
			return err
		}
	}
	for i, th := range g.threads {
		var service any
		if th.service != 0 {
			service = th.service
		}
		if _, err := st[2].ExecContext(ctx, i+1, th.title, th.author, service, th.posts, th.lastActive, th.created, th.lastActive); err != nil {
			return err
		}
	}
	return nil
}

// writePosts writes posts[from:to] (ids from+1 to to), their search index
// rows, their authors' follows and each first post's "I'm affected" mark.
func (g *genSite) writePosts(ctx context.Context, tx *sql.Tx, from, to int) error {
	st, err := prepare(ctx, tx,
		`INSERT INTO posts (id, thread_id, author_id, author_role, source, html, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		`INSERT INTO post_search (docid, title, body) VALUES (?, ?, ?)`,
		`INSERT INTO follows (thread_id, user_id, level, last_read_post_id, created_at) VALUES (?, ?, 'all', ?, ?)
			ON CONFLICT (thread_id, user_id) DO UPDATE SET last_read_post_id = excluded.last_read_post_id`,
		`INSERT INTO affected_marks (thread_id, user_id, created_at) VALUES (?, ?, ?)`)
	if err != nil {
		return err
	}
	for i := from; i < to; i++ {
		p, id := g.posts[i], int64(i+1)
		th := &g.threads[p.thread]
		source, html, text := g.bodies[p.body].fill(postRef(id))
		if _, err := st[0].ExecContext(ctx, id, p.thread+1, p.author, g.roles[p.author-1], source, html, p.at, p.at); err != nil {
			return err
		}
		title := ""
		if p.at.Equal(th.created) { // the first post
			title = indexText(th.title)
			if _, err := st[3].ExecContext(ctx, p.thread+1, p.author, p.at); err != nil {
				return err
			}
		}
		if _, err := st[1].ExecContext(ctx, id, title, text); err != nil {
			return err
		}
		if _, err := st[2].ExecContext(ctx, p.thread+1, p.author, id, p.at); err != nil {
			return err
		}
	}
	return nil
}
