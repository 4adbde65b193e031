package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Limit counts the attempts made under one key (a client address, an
// account, an account from one address...) in a fixed window. The counts
// live in the database, so every instance of Sitrep serving one database
// shares them.
type Limit struct {
	Key         string `gorm:"primaryKey"`
	WindowStart time.Time
	WindowEnd   time.Time
	Hits        int
}

// takeSQL counts one attempt in one statement: a key without a live window
// starts one with this attempt; otherwise the attempt is added to the
// window, refused or not (a client that keeps trying stays refused until
// the window ends). Both SQLite and PostgreSQL accept it.
const takeSQL = `INSERT INTO limits (key, window_start, window_end, hits) VALUES (?, ?, ?, 1)
	ON CONFLICT (key) DO UPDATE SET
		hits = CASE WHEN limits.window_end <= excluded.window_start THEN 1 ELSE limits.hits + 1 END,
		window_start = CASE WHEN limits.window_end <= excluded.window_start THEN excluded.window_start ELSE limits.window_start END,
		window_end = CASE WHEN limits.window_end <= excluded.window_start THEN excluded.window_end ELSE limits.window_end END
	RETURNING hits, window_end`

// Take counts one attempt for key, allowing allowed in each window, atomically:
// attempts sent at the same moment are counted one after the other, so no
// more than allowed ever go ahead. It tells whether this one may, and if not,
// for how long the key stays refused.
func (s *Store) Take(ctx context.Context, key string, allowed int, window time.Duration) (ok bool, retry time.Duration, err error) {
	now := s.now()
	var row struct {
		Hits      int
		WindowEnd time.Time
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
		return tx.Raw(takeSQL, key, now, now.Add(window)).Scan(&row).Error
	})
	if err != nil {
		return false, 0, err
	}
	if row.Hits <= allowed {
		return true, 0, nil
	}
	return false, max(row.WindowEnd.Sub(now), time.Second), nil
}

// Undo gives back an attempt that Take counted and that turned out not to
// count (a log-in with the right password).
func (s *Store) Undo(ctx context.Context, key string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Exec("UPDATE limits SET hits = hits - 1 WHERE key = ? AND hits > 0 AND window_end > ?", key, s.now()).Error
	})
}

// Reset forgets the attempts counted for key.
func (s *Store) Reset(ctx context.Context, key string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Exec("DELETE FROM limits WHERE key = ?", key).Error
	})
}

// PruneLimits deletes the counts whose window has ended; the server's
// housekeeping calls it. It returns how many it deleted.
func (s *Store) PruneLimits(ctx context.Context) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Exec("DELETE FROM limits WHERE window_end <= ?", s.now())
		n = res.RowsAffected
		return res.Error
	})
	return int(n), err
}
