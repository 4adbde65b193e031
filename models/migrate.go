package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// migration is one step of the schema's history. Migrations are append-only:
// a released step is never edited; a change is a new step. Each step is plain
// SQL, which freezes the schema it creates independently of today's structs.
//
// The SQL is SQLite's. PostgreSQL runs each statement rewritten by pgSQL
// (types, upserts), except where the step gives PostgreSQL its own: postgres
// maps a statement's index in sql to the statements PostgreSQL runs instead
// (none: it is skipped; sameSQL: the statement itself, rewritten).
type migration struct {
	version  int
	name     string
	sql      []string
	postgres map[int][]string
}

var migrations = []migration{
	{1, "accounts, sessions, tokens, services", []string{
		`CREATE TABLE users (
			id INTEGER PRIMARY KEY,
			name TEXT NOT NULL COLLATE NOCASE UNIQUE,
			email TEXT NOT NULL COLLATE NOCASE UNIQUE,
			password_hash TEXT NOT NULL,
			role TEXT NOT NULL DEFAULT 'customer' CHECK (role IN ('customer','staff','moderator','admin')),
			created_at DATETIME NOT NULL,
			updated_at DATETIME NOT NULL
		)`,
		`CREATE TABLE sessions (
			id TEXT PRIMARY KEY,
			user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
			created_at DATETIME NOT NULL,
			expires_at DATETIME NOT NULL,
			revoked_at DATETIME,
			revoked_reason TEXT NOT NULL DEFAULT ''
		)`,
		`CREATE INDEX sessions_user_id ON sessions(user_id)`,
		`CREATE INDEX sessions_expires_at ON sessions(expires_at)`,
		`CREATE TABLE api_tokens (
			id INTEGER PRIMARY KEY,
			user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
			name TEXT NOT NULL,
			hash TEXT NOT NULL UNIQUE,
			created_at DATETIME NOT NULL,
			last_used_at DATETIME,
			revoked_at DATETIME,
			revoked_reason TEXT NOT NULL DEFAULT ''
		)`,
		`CREATE INDEX api_tokens_user_id ON api_tokens(user_id)`,
		`CREATE TABLE services (
			id INTEGER PRIMARY KEY,
			name TEXT NOT NULL COLLATE NOCASE UNIQUE,
			description TEXT NOT NULL DEFAULT '',
			group_name TEXT NOT NULL DEFAULT '',
			position INTEGER NOT NULL DEFAULT 0,
			created_at DATETIME NOT NULL,
			updated_at DATETIME NOT NULL
		)`,
		`CREATE INDEX services_position ON services(position, id)`,
	}, map[int][]string{
		// PostgreSQL compares case-insensitively with citext (pgSQL turns
		// COLLATE NOCASE into it).
		0: {"CREATE EXTENSION IF NOT EXISTS citext", sameSQL},
	}},
	{2, "forum: threads, posts, revisions, affected marks, search", []string{
		`CREATE TABLE threads (
			id INTEGER PRIMARY KEY,
			title TEXT NOT NULL,
			author_id INTEGER NOT NULL REFERENCES users(id),
			service_id INTEGER REFERENCES services(id) ON DELETE SET NULL,
			locked INTEGER NOT NULL DEFAULT 0,
			lock_reason TEXT NOT NULL DEFAULT '',
			pinned INTEGER NOT NULL DEFAULT 0,
			post_count INTEGER NOT NULL DEFAULT 0,
			affected_count INTEGER NOT NULL DEFAULT 0,
			last_activity_at DATETIME NOT NULL,
			created_at DATETIME NOT NULL,
			updated_at DATETIME NOT NULL
		)`,
		`CREATE INDEX threads_activity ON threads(pinned DESC, last_activity_at DESC, id DESC)`,
		`CREATE INDEX threads_service_activity ON threads(service_id, last_activity_at DESC, id DESC)`,
		`CREATE INDEX threads_author ON threads(author_id)`,
		`CREATE TABLE posts (
			id INTEGER PRIMARY KEY,
			thread_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
			author_id INTEGER NOT NULL REFERENCES users(id),
			source TEXT NOT NULL,
			html TEXT NOT NULL,
			official INTEGER NOT NULL DEFAULT 0,
			submit_key TEXT,
			edited_at DATETIME,
			hidden_at DATETIME,
			hidden_by_id INTEGER REFERENCES users(id),
			hidden_reason TEXT NOT NULL DEFAULT '',
			created_at DATETIME NOT NULL,
			updated_at DATETIME NOT NULL
		)`,
		`CREATE INDEX posts_thread ON posts(thread_id, id)`,
		`CREATE INDEX posts_author_created ON posts(author_id, created_at)`,
		`CREATE UNIQUE INDEX posts_submit_key ON posts(author_id, submit_key) WHERE submit_key IS NOT NULL`,
		`CREATE TABLE post_revisions (
			id INTEGER PRIMARY KEY,
			post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
			editor_id INTEGER NOT NULL REFERENCES users(id),
			source TEXT NOT NULL,
			html TEXT NOT NULL,
			created_at DATETIME NOT NULL
		)`,
		`CREATE INDEX post_revisions_post ON post_revisions(post_id, id)`,
		`CREATE TABLE affected_marks (
			thread_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
			user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
			created_at DATETIME NOT NULL,
			PRIMARY KEY (thread_id, user_id)
		) WITHOUT ROWID`,
		`CREATE INDEX affected_marks_user ON affected_marks(user_id)`,
		// One row per post, docid = posts.id; the first post of a thread
		// also carries the thread's title.
		`CREATE VIRTUAL TABLE post_search USING fts4(title, body, tokenize=unicode61)`,
	}, postgresSearch},
	{3, "incidents, official updates, maintenance, service status history, thread links", []string{
		`CREATE TABLE incidents (
			id INTEGER PRIMARY KEY,
			thread_id INTEGER NOT NULL UNIQUE REFERENCES threads(id),
			kind TEXT NOT NULL CHECK (kind IN ('incident','maintenance')),
			title TEXT NOT NULL,
			status TEXT NOT NULL CHECK (status IN ('investigating','identified','monitoring','resolved','scheduled','in_progress','verifying','completed')),
			impact TEXT NOT NULL CHECK (impact IN ('none','minor','major','critical','maintenance')),
			next_update_at DATETIME,
			started_at DATETIME NOT NULL,
			monitoring_at DATETIME,
			resolved_at DATETIME,
			scheduled_for DATETIME,
			scheduled_until DATETIME,
			postmortem TEXT NOT NULL DEFAULT '',
			postmortem_html TEXT NOT NULL DEFAULT '',
			postmortem_at DATETIME,
			created_by_id INTEGER NOT NULL REFERENCES users(id),
			created_at DATETIME NOT NULL,
			updated_at DATETIME NOT NULL
		)`,
		`CREATE INDEX incidents_started ON incidents(started_at DESC, id DESC)`,
		`CREATE INDEX incidents_open ON incidents(resolved_at, kind)`,
		`CREATE TABLE incident_services (
			incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
			service_id INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,
			status TEXT NOT NULL CHECK (status IN ('operational','degraded_performance','partial_outage','major_outage','under_maintenance')),
			PRIMARY KEY (incident_id, service_id)
		) WITHOUT ROWID`,
		`CREATE INDEX incident_services_service ON incident_services(service_id)`,
		`CREATE TABLE incident_updates (
			id INTEGER PRIMARY KEY,
			incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
			post_id INTEGER NOT NULL UNIQUE REFERENCES posts(id),
			status TEXT NOT NULL,
			next_update_at DATETIME,
			created_at DATETIME NOT NULL
		)`,
		`CREATE INDEX incident_updates_incident ON incident_updates(incident_id, id)`,
		`CREATE TABLE update_transitions (
			update_id INTEGER NOT NULL REFERENCES incident_updates(id) ON DELETE CASCADE,
			service_id INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,
			old_status TEXT NOT NULL,
			new_status TEXT NOT NULL,
			PRIMARY KEY (update_id, service_id)
		) WITHOUT ROWID`,
		`CREATE TABLE service_status_changes (
			id INTEGER PRIMARY KEY,
			service_id INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,
			status TEXT NOT NULL,
			changed_at DATETIME NOT NULL
		)`,
		`CREATE INDEX service_status_changes_service ON service_status_changes(service_id, changed_at)`,
		`ALTER TABLE threads ADD COLUMN incident_id INTEGER REFERENCES incidents(id)`,
		`CREATE INDEX threads_incident ON threads(incident_id, last_activity_at DESC, id DESC)`,
	}, nil},
	{4, "moderation: flags, sanctions, audit log, slow mode, pin expiry, merges", []string{
		`CREATE TABLE flags (
			id INTEGER PRIMARY KEY,
			post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
			user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
			reason TEXT NOT NULL CHECK (reason IN ('spam','abuse','off_topic','other')),
			note TEXT NOT NULL DEFAULT '',
			state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open','resolved','dismissed')),
			handled_by_id INTEGER REFERENCES users(id),
			handled_at DATETIME,
			private_note TEXT NOT NULL DEFAULT '',
			created_at DATETIME NOT NULL,
			UNIQUE (post_id, user_id)
		)`,
		`CREATE INDEX flags_state ON flags(state, post_id)`,
		`CREATE INDEX flags_user ON flags(user_id)`,
		`CREATE TABLE sanctions (
			id INTEGER PRIMARY KEY,
			user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
			kind TEXT NOT NULL CHECK (kind IN ('warning','silence','suspension')),
			reason TEXT NOT NULL,
			ends_at DATETIME,
			created_by_id INTEGER NOT NULL REFERENCES users(id),
			created_at DATETIME NOT NULL,
			lifted_at DATETIME,
			lifted_by_id INTEGER REFERENCES users(id)
		)`,
		`CREATE INDEX sanctions_user ON sanctions(user_id, id)`,
		`ALTER TABLE users ADD COLUMN silenced_until DATETIME`,
		`ALTER TABLE users ADD COLUMN suspended_until DATETIME`,
		`ALTER TABLE users ADD COLUMN sanction_reason TEXT NOT NULL DEFAULT ''`,
		`CREATE TABLE audit_entries (
			id INTEGER PRIMARY KEY,
			actor_id INTEGER REFERENCES users(id),
			action TEXT NOT NULL,
			target_type TEXT NOT NULL,
			target_id INTEGER NOT NULL,
			reason TEXT NOT NULL DEFAULT '',
			before TEXT NOT NULL DEFAULT '',
			after TEXT NOT NULL DEFAULT '',
			request_id TEXT NOT NULL DEFAULT '',
			created_at DATETIME NOT NULL
		)`,
		`CREATE INDEX audit_entries_action ON audit_entries(action, id)`,
		`CREATE INDEX audit_entries_actor ON audit_entries(actor_id, id)`,
		`CREATE INDEX audit_entries_target ON audit_entries(target_type, target_id, id)`,
		// The log is append-only below the application too.
		`CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
			BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END`,
		`CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
			BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END`,
		`ALTER TABLE threads ADD COLUMN slow_mode_seconds INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE threads ADD COLUMN pinned_until DATETIME`,
		`ALTER TABLE threads ADD COLUMN merged_into_id INTEGER REFERENCES threads(id)`,
	}, postgresAuditTriggers},
	{5, "followed threads, a reason for each kind of sanction, merges that can be undone, list filter indexes", []string{
		`CREATE TABLE follows (
			thread_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
			user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
			created_at DATETIME NOT NULL,
			PRIMARY KEY (thread_id, user_id)
		)`,
		`CREATE INDEX follows_user ON follows(user_id, thread_id)`,
		// Everyone who started a thread follows it, and the thread it was
		// merged into.
		`INSERT INTO follows (thread_id, user_id, created_at) SELECT id, author_id, created_at FROM threads`,
		`INSERT OR IGNORE INTO follows (thread_id, user_id, created_at)
			SELECT merged_into_id, author_id, created_at FROM threads WHERE merged_into_id IS NOT NULL`,
		// A silence and a suspension in force at once each keep their reason.
		`ALTER TABLE users ADD COLUMN silence_reason TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE users ADD COLUMN suspension_reason TEXT NOT NULL DEFAULT ''`,
		`UPDATE users SET silence_reason = CASE WHEN silenced_until IS NULL THEN '' ELSE sanction_reason END,
			suspension_reason = CASE WHEN suspended_until IS NULL THEN '' ELSE sanction_reason END`,
		`ALTER TABLE users DROP COLUMN sanction_reason`,
		// A merge remembers where each post came from, so it can be undone.
		`ALTER TABLE posts ADD COLUMN merged_from_id INTEGER REFERENCES threads(id)`,
		`CREATE INDEX posts_merged_from ON posts(merged_from_id) WHERE merged_from_id IS NOT NULL`,
		// The thread list and its filters read their page in list order
		// from an index that holds only listed (not merged) threads, so
		// skipping to a deep page never reads the table.
		`DROP INDEX threads_activity`,
		`DROP INDEX threads_service_activity`,
		`CREATE INDEX threads_list ON threads(pinned DESC, last_activity_at DESC, id DESC) WHERE merged_into_id IS NULL`,
		`CREATE INDEX threads_service_list ON threads(service_id, pinned DESC, last_activity_at DESC, id DESC) WHERE merged_into_id IS NULL`,
		`CREATE INDEX threads_linked_list ON threads(pinned DESC, last_activity_at DESC, id DESC) WHERE incident_id IS NOT NULL AND merged_into_id IS NULL`,
	}, nil},
	{6, "events, jobs, notifications, follow levels and read positions", []string{
		// The outbox of changes: streams and caches read it, every
		// instance keeping its own place.
		`CREATE TABLE events (
			id INTEGER PRIMARY KEY,
			kind TEXT NOT NULL CHECK (kind IN ('post','thread','incident','status','notification')),
			thread_id INTEGER,
			post_id INTEGER,
			incident_id INTEGER,
			purge INTEGER NOT NULL DEFAULT 0,
			created_at DATETIME NOT NULL
		)`,
		`CREATE INDEX events_thread ON events(thread_id, id) WHERE thread_id IS NOT NULL`,
		`CREATE INDEX events_kind ON events(kind, id)`,
		`CREATE INDEX events_created ON events(created_at)`,
		// Durable work, claimed for a lease.
		`CREATE TABLE jobs (
			id INTEGER PRIMARY KEY,
			kind TEXT NOT NULL,
			payload TEXT NOT NULL DEFAULT '{}',
			run_at DATETIME NOT NULL,
			attempts INTEGER NOT NULL DEFAULT 0,
			locked_until DATETIME,
			last_error TEXT NOT NULL DEFAULT '',
			created_at DATETIME NOT NULL
		)`,
		`CREATE INDEX jobs_due ON jobs(run_at, id)`,
		`CREATE TABLE notifications (
			id INTEGER PRIMARY KEY,
			user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
			kind TEXT NOT NULL CHECK (kind IN ('reply','official','linked','resolved','mention','merged','flag_handled','sanction')),
			thread_id INTEGER REFERENCES threads(id) ON DELETE CASCADE,
			post_id INTEGER REFERENCES posts(id) ON DELETE SET NULL,
			incident_id INTEGER REFERENCES incidents(id) ON DELETE CASCADE,
			actor_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
			count INTEGER NOT NULL DEFAULT 1,
			detail TEXT NOT NULL DEFAULT '',
			event_id INTEGER NOT NULL DEFAULT 0,
			read_at DATETIME,
			created_at DATETIME NOT NULL,
			updated_at DATETIME NOT NULL
		)`,
		// One unread reply notification per person and thread, which new
		// replies count up.
		`CREATE UNIQUE INDEX notifications_unread_replies ON notifications(user_id, thread_id) WHERE kind = 'reply' AND read_at IS NULL`,
		`CREATE INDEX notifications_user ON notifications(user_id, updated_at, id)`,
		`CREATE INDEX notifications_user_event ON notifications(user_id, event_id)`,
		`CREATE INDEX notifications_event ON notifications(event_id)`,
		`CREATE INDEX notifications_updated ON notifications(updated_at)`,
		`ALTER TABLE follows ADD COLUMN level TEXT NOT NULL DEFAULT 'all' CHECK (level IN ('all','official','muted'))`,
		// Existing followers have read what there is.
		`ALTER TABLE follows ADD COLUMN last_read_post_id INTEGER NOT NULL DEFAULT 0`,
		`UPDATE follows SET last_read_post_id = COALESCE((SELECT MAX(id) FROM posts WHERE thread_id = follows.thread_id), 0)`,
	}, nil},
	{7, "attempt limits shared by every instance", []string{
		`CREATE TABLE limits (
			key TEXT PRIMARY KEY,
			window_start DATETIME NOT NULL,
			window_end DATETIME NOT NULL,
			hits INTEGER NOT NULL
		)`,
		`CREATE INDEX limits_window_end ON limits(window_end)`,
	}, nil},
	{8, "cancelled maintenance, the author's role at writing", []string{
		`ALTER TABLE incidents ADD COLUMN cancelled_at DATETIME`,
		// Posts written before this step take their author's role of today.
		`ALTER TABLE posts ADD COLUMN author_role TEXT NOT NULL DEFAULT 'customer'`,
		`UPDATE posts SET author_role = (SELECT role FROM users WHERE users.id = posts.author_id)`,
	}, nil},
	{9, "subscriptions, announcements, deliveries, the mail outbox, pending sign-ups, mail settings", []string{
		// E-mail and webhook subscribers: no account needed. Only the
		// SHA-256 of the confirmation token and of the unsubscribe token
		// is kept; the secret signs webhooks (and derives the unsubscribe
		// token of an e-mail subscription).
		`CREATE TABLE subscriptions (
			id INTEGER PRIMARY KEY,
			kind TEXT NOT NULL CHECK (kind IN ('email','webhook')),
			email TEXT NOT NULL COLLATE NOCASE,
			webhook_url TEXT NOT NULL DEFAULT '',
			secret TEXT NOT NULL,
			incident_id INTEGER REFERENCES incidents(id) ON DELETE CASCADE,
			all_services INTEGER NOT NULL DEFAULT 1,
			state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','active','disabled')),
			confirm_hash TEXT UNIQUE,
			unsubscribe_hash TEXT NOT NULL UNIQUE,
			failures INTEGER NOT NULL DEFAULT 0,
			client_ip TEXT NOT NULL DEFAULT '',
			created_at DATETIME NOT NULL,
			confirmed_at DATETIME,
			updated_at DATETIME NOT NULL
		)`,
		`CREATE INDEX subscriptions_state ON subscriptions(state, id)`,
		`CREATE INDEX subscriptions_incident ON subscriptions(incident_id) WHERE incident_id IS NOT NULL`,
		`CREATE INDEX subscriptions_email ON subscriptions(email, created_at)`,
		`CREATE INDEX subscriptions_client ON subscriptions(client_ip, created_at)`,
		`CREATE TABLE subscription_services (
			subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
			service_id INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,
			PRIMARY KEY (subscription_id, service_id)
		) WITHOUT ROWID`,
		`CREATE INDEX subscription_services_service ON subscription_services(service_id)`,
		// One row per announcement, written once and read by every
		// delivery of it.
		`CREATE TABLE notices (
			id INTEGER PRIMARY KEY,
			event TEXT NOT NULL,
			incident_id INTEGER REFERENCES incidents(id) ON DELETE CASCADE,
			service_id INTEGER REFERENCES services(id) ON DELETE CASCADE,
			payload TEXT NOT NULL,
			subject TEXT NOT NULL DEFAULT '',
			text_body TEXT NOT NULL DEFAULT '',
			html_body TEXT NOT NULL DEFAULT '',
			created_at DATETIME NOT NULL
		)`,
		`CREATE INDEX notices_created ON notices(created_at)`,
		// One row per attempt to deliver a notice to a subscriber.
		`CREATE TABLE deliveries (
			id INTEGER PRIMARY KEY,
			subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
			notice_id INTEGER REFERENCES notices(id) ON DELETE SET NULL,
			event TEXT NOT NULL,
			attempt INTEGER NOT NULL,
			status INTEGER NOT NULL DEFAULT 0,
			latency_ms INTEGER NOT NULL DEFAULT 0,
			error TEXT NOT NULL DEFAULT '',
			created_at DATETIME NOT NULL
		)`,
		`CREATE INDEX deliveries_subscription ON deliveries(subscription_id, id)`,
		`CREATE INDEX deliveries_created ON deliveries(created_at)`,
		// Mails to one person each, from queued to sent (or why not).
		`CREATE TABLE outbox (
			id INTEGER PRIMARY KEY,
			kind TEXT NOT NULL,
			to_addr TEXT NOT NULL COLLATE NOCASE,
			subject TEXT NOT NULL,
			text_body TEXT NOT NULL DEFAULT '',
			html_body TEXT NOT NULL DEFAULT '',
			headers TEXT NOT NULL DEFAULT '{}',
			message_id TEXT NOT NULL DEFAULT '',
			state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued','sent','failed','not_sent')),
			reason TEXT NOT NULL DEFAULT '',
			notice_id INTEGER REFERENCES notices(id) ON DELETE SET NULL,
			subscription_id INTEGER REFERENCES subscriptions(id) ON DELETE SET NULL,
			user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
			created_at DATETIME NOT NULL,
			updated_at DATETIME NOT NULL
		)`,
		`CREATE UNIQUE INDEX outbox_message ON outbox(message_id) WHERE message_id <> ''`,
		`CREATE INDEX outbox_state ON outbox(state, id)`,
		`CREATE INDEX outbox_to ON outbox(to_addr, kind, created_at)`,
		`CREATE INDEX outbox_created ON outbox(created_at)`,
		// Sign-ups waiting for their address to be confirmed (when mail is
		// configured).
		`CREATE TABLE pending_signups (
			id INTEGER PRIMARY KEY,
			name TEXT NOT NULL COLLATE NOCASE,
			email TEXT NOT NULL COLLATE NOCASE,
			password_hash TEXT NOT NULL,
			token_hash TEXT NOT NULL UNIQUE,
			client_ip TEXT NOT NULL DEFAULT '',
			created_at DATETIME NOT NULL,
			expires_at DATETIME NOT NULL
		)`,
		`CREATE INDEX pending_signups_expires ON pending_signups(expires_at)`,
		// Mail about followed threads: how much, and the key its
		// unsubscribe links derive from.
		`ALTER TABLE users ADD COLUMN mail_level TEXT NOT NULL DEFAULT 'official' CHECK (mail_level IN ('official','all','never'))`,
		`ALTER TABLE users ADD COLUMN mail_key TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE users ADD COLUMN mail_unsubscribe_hash TEXT NOT NULL DEFAULT ''`,
		`CREATE INDEX users_mail_unsubscribe ON users(mail_unsubscribe_hash) WHERE mail_unsubscribe_hash <> ''`,
	}, nil},
	{10, "search finds every form of a word: the full-text index stems (porter)", []string{
		`CREATE VIRTUAL TABLE post_search_stemmed USING fts4(title, body, tokenize=porter)`,
		// The text is indexed again as new posts are (index_text is
		// indexText, registered with the driver).
		`INSERT INTO post_search_stemmed (docid, title, body) SELECT docid, index_text(title), index_text(body) FROM post_search`,
		`DROP TABLE post_search`,
		`ALTER TABLE post_search_stemmed RENAME TO post_search`,
	}, postgresFTS4Only},
	{11, "search reads the newest posts first: the full-text index is kept in descending docid order", []string{
		`CREATE VIRTUAL TABLE post_search_newest USING fts4(title, body, tokenize=porter, order=DESC)`,
		`INSERT INTO post_search_newest (docid, title, body) SELECT docid, title, body FROM post_search`,
		`DROP TABLE post_search`,
		`ALTER TABLE post_search_newest RENAME TO post_search`,
	}, postgresFTS4Only},
}

// schemaMigration records an applied step.
type schemaMigration struct {
	Version   int `gorm:"primaryKey"`
	Name      string
	AppliedAt time.Time
}

// MigrateAt opens the database at dsn, applies its pending migrations and
// closes it; it returns how many it applied.
func MigrateAt(ctx context.Context, dsn string) (int, error) {
	s, err := Open(dsn)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	return s.Migrate(ctx)
}

// SchemaVersion is the newest migration this binary knows.
func SchemaVersion() int { return migrations[len(migrations)-1].version }

// Migrate applies the pending migrations in order, each in its own
// transaction, and returns how many it applied. A database newer than this
// binary is refused.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	db := s.wdb.WithContext(ctx)
	if err := db.Transaction(func(tx *gorm.DB) error {
		if err := s.lockMigrations(tx); err != nil {
			return err
		}
		return tx.Exec(s.dialectSQL(`CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY,
			name TEXT NOT NULL,
			applied_at DATETIME NOT NULL
		)`)).Error
	}); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	var versions []int
	if err := db.Raw("SELECT version FROM schema_migrations").Scan(&versions).Error; err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	done := map[int]bool{}
	current := 0
	for _, v := range versions {
		done[v] = true
		current = max(current, v)
	}
	if current > SchemaVersion() {
		return 0, fmt.Errorf("migrate: database schema version %d is newer than this binary's %d", current, SchemaVersion())
	}
	// Every step not yet recorded runs, in order: a step numbered below one
	// already applied (made on another branch at the same time) still
	// runs.
	applied := 0
	for _, m := range migrations {
		if done[m.version] {
			continue
		}
		ran := false
		err := db.Transaction(func(tx *gorm.DB) error {
			var err error
			if ran, err = s.claimStep(tx, m.version); err != nil || !ran {
				return err
			}
			for _, stmt := range s.statements(m) {
				if err := tx.Exec(stmt).Error; err != nil {
					return err
				}
			}
			return tx.Create(&schemaMigration{Version: m.version, Name: m.name, AppliedAt: s.now()}).Error
		})
		if err != nil {
			return applied, fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
		}
		if ran {
			applied++
		}
	}
	return applied, nil
}
