package models

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// copyBatch is how many rows one INSERT of a copy carries.
const copyBatch = 500

// CopyTo copies every row of s, a database at this binary's schema
// version, into to, ids kept, in one transaction on to: either all of it
// is there afterwards or none. to is migrated first and must hold no data.
// On PostgreSQL, each table's id sequence then continues after the
// highest id copied. It returns how many rows it copied.
func (s *Store) CopyTo(ctx context.Context, to *Store) (int, error) {
	var version int
	if err := s.db.WithContext(ctx).Raw("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&version).Error; err != nil {
		return 0, fmt.Errorf("copy: the source is not a Sitrep database: %w", err)
	}
	if version != SchemaVersion() {
		return 0, fmt.Errorf("copy: the source's schema is version %d, this binary's %d: run sitrep migrate on it first", version, SchemaVersion())
	}
	if _, err := to.Migrate(ctx); err != nil {
		return 0, fmt.Errorf("copy: target: %w", err)
	}
	copied := 0
	// One snapshot of the source, so a site still running copies whole.
	err := s.readSnapshot(ctx, func(src *Store) error {
		return to.wdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			for _, m := range tables {
				if _, ok := m.(*schemaMigration); ok {
					continue // the target's own, from Migrate
				}
				n, err := src.copyTable(ctx, tx, m)
				copied += n
				if err != nil {
					return err
				}
			}
			n, err := src.copySearch(ctx, tx)
			copied += n
			if err != nil {
				return err
			}
			if err := src.copyThreadLinks(ctx, tx); err != nil {
				return err
			}
			if to.pg {
				return advanceSequences(tx)
			}
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	return copied, nil
}

// copyTable copies the rows of model m's table into tx's, in batches,
// after checking that tx's table is empty. Threads are written without
// their links to incidents and merged threads, which may come later in
// the copy; copyThreadLinks sets them.
func (s *Store) copyTable(ctx context.Context, tx *gorm.DB, m any) (int, error) {
	sch, err := modelSchema(s.db, m)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := tx.Model(m).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("copy: target table %s: %w", sch.Table, err)
	}
	if n > 0 {
		return 0, fmt.Errorf("copy: the target already has data (table %s has %d rows); copy only into an empty database", sch.Table, n)
	}
	rows, err := s.db.WithContext(ctx).Model(m).Rows()
	if err != nil {
		return 0, fmt.Errorf("copy: source table %s: %w", sch.Table, err)
	}
	defer rows.Close()
	typ := reflect.TypeOf(m).Elem()
	batch := reflect.MakeSlice(reflect.SliceOf(typ), 0, copyBatch)
	copied := 0
	flush := func() error {
		if batch.Len() == 0 {
			return nil
		}
		if th, ok := batch.Interface().([]Thread); ok {
			for i := range th {
				th[i].IncidentID, th[i].MergedIntoID = nil, nil
			}
		}
		if err := tx.Omit(clause.Associations).Create(batch.Interface()).Error; err != nil {
			return fmt.Errorf("copy: table %s: %w", sch.Table, err)
		}
		copied += batch.Len()
		batch = batch.Slice(0, 0)
		return nil
	}
	for rows.Next() {
		row := reflect.New(typ)
		if err := s.db.ScanRows(rows, row.Interface()); err != nil {
			return copied, fmt.Errorf("copy: source table %s: %w", sch.Table, err)
		}
		batch = reflect.Append(batch, row.Elem())
		if batch.Len() == copyBatch {
			if err := flush(); err != nil {
				return copied, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return copied, fmt.Errorf("copy: source table %s: %w", sch.Table, err)
	}
	return copied, flush()
}

// modelSchema is model m's parsed schema.
func modelSchema(db *gorm.DB, m any) (*schema.Schema, error) {
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(m); err != nil {
		return nil, err
	}
	return stmt.Schema, nil
}

// copyThreadLinks sets the copied threads' links to their incidents and to
// the threads they were merged into.
func (s *Store) copyThreadLinks(ctx context.Context, tx *gorm.DB) error {
	var links []Thread
	if err := s.db.WithContext(ctx).Select("id", "incident_id", "merged_into_id").
		Where("incident_id IS NOT NULL OR merged_into_id IS NOT NULL").Find(&links).Error; err != nil {
		return fmt.Errorf("copy: source threads: %w", err)
	}
	for _, th := range links {
		if err := tx.Model(&Thread{}).Where("id = ?", th.ID).
			Updates(map[string]any{"incident_id": th.IncidentID, "merged_into_id": th.MergedIntoID}).Error; err != nil {
			return fmt.Errorf("copy: thread %d: %w", th.ID, err)
		}
	}
	return nil
}

// copySearch copies the full-text index's text; the target indexes it
// its own way.
func (s *Store) copySearch(ctx context.Context, tx *gorm.DB) (int, error) {
	type doc struct {
		Docid       int64
		Title, Body string
	}
	var docs []doc
	if err := s.db.WithContext(ctx).Raw("SELECT docid, title, body FROM post_search ORDER BY docid").Scan(&docs).Error; err != nil {
		return 0, fmt.Errorf("copy: source search index: %w", err)
	}
	for i := 0; i < len(docs); i += copyBatch {
		if err := tx.Table("post_search").Create(docs[i:min(i+copyBatch, len(docs))]).Error; err != nil {
			return i, fmt.Errorf("copy: search index: %w", err)
		}
	}
	return len(docs), nil
}

// advanceSequences makes every PostgreSQL id sequence continue after the
// highest id its table holds.
func advanceSequences(tx *gorm.DB) error {
	var tablesWithIDs []string
	if err := tx.Raw(`SELECT table_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND column_name = 'id' AND is_identity = 'YES'`).Scan(&tablesWithIDs).Error; err != nil {
		return err
	}
	if len(tablesWithIDs) == 0 {
		return errors.New("copy: the target has no id sequences")
	}
	for _, t := range tablesWithIDs {
		if err := tx.Exec(fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', 'id'), COALESCE((SELECT MAX(id) FROM %s), 0) + 1, false)`,
			t, t)).Error; err != nil {
			return fmt.Errorf("copy: the id sequence of %s: %w", t, err)
		}
	}
	return nil
}
