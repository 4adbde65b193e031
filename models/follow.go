package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Follow is one person following a thread: it shows in their list of
// followed threads (the forum's "Following" filter), latest activity first.
// Authors follow the threads they start.
type Follow struct {
	ThreadID  int64 `gorm:"primaryKey;autoIncrement:false"`
	UserID    int64 `gorm:"primaryKey;autoIncrement:false"`
	CreatedAt time.Time
}

// SetFollowing starts or stops the user following a thread; both are
// idempotent.
func (s *Store) SetFollowing(ctx context.Context, user *User, threadID int64, follow bool) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var th Thread
		if err := tx.Select("id", "merged_into_id").First(&th, threadID).Error; err != nil {
			return err
		}
		if th.MergedIntoID != nil {
			return &ConflictError{Message: fmt.Sprintf("This thread was merged into thread %d; follow that one.", *th.MergedIntoID)}
		}
		if follow {
			return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&Follow{ThreadID: threadID, UserID: user.ID, CreatedAt: s.now()}).Error
		}
		return tx.Where("thread_id = ? AND user_id = ?", threadID, user.ID).Delete(&Follow{}).Error
	})
	return translate(err)
}
