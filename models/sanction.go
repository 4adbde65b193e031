package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Sanction kinds.
const (
	SanctionWarning    = "warning"
	SanctionSilence    = "silence"
	SanctionSuspension = "suspension"
)

// Sanction is a warning, silence or suspension of a user.
type Sanction struct {
	ID          int64
	UserID      int64
	Kind        string
	Reason      string
	EndsAt      *time.Time
	CreatedByID int64
	CreatedBy   *User `gorm:"foreignKey:CreatedByID"`
	CreatedAt   time.Time
	LiftedAt    *time.Time
	LiftedByID  *int64
}

// Notice is what the sanctioned person is told.
func (x *Sanction) Notice() string {
	what := map[string]string{SanctionWarning: "You were warned", SanctionSilence: "You were silenced", SanctionSuspension: "You were suspended"}[x.Kind]
	if x.EndsAt != nil {
		what += " until " + x.EndsAt.UTC().Format("2 Jan 2006 15:04 UTC")
	}
	return what + ". Reason: " + x.Reason
}

// Active tells whether a silence or suspension is still in force.
func (x *Sanction) Active(now time.Time) bool {
	return x.Kind != SanctionWarning && x.LiftedAt == nil && x.EndsAt != nil && x.EndsAt.After(now)
}

// checkSanctionable refuses sanctioning oneself or an equal or higher role.
// Moderators keep the customers' forum in order; only an admin sanctions
// staff, who must be able to speak on the day of an outage.
func checkSanctionable(mod, target *User) error {
	switch {
	case mod.ID == target.ID:
		return &DeniedError{Message: "You cannot sanction yourself."}
	case target.Role.Rank() >= mod.Role.Rank():
		return &DeniedError{Message: "You cannot sanction someone whose role is equal to or higher than yours."}
	case mod.Role != RoleAdmin && target.Role != RoleCustomer:
		return &DeniedError{Message: "Moderators sanction customers; ask an admin about a staff member."}
	}
	return nil
}

// CanSanction tells whether u may sanction target (the rule above).
func (u *User) CanSanction(target *User) bool { return checkSanctionable(u, target) == nil }

// Silenced returns the error that refuses a silenced user's posts, or nil.
func (u *User) Silenced(now time.Time) error {
	if u.SilencedUntil != nil && u.SilencedUntil.After(now) {
		return &SanctionedError{Kind: SanctionSilence, Until: *u.SilencedUntil, Reason: u.SilenceReason}
	}
	return nil
}

// Suspended returns the error that refuses a suspended user, or nil.
func (u *User) Suspended(now time.Time) error {
	if u.SuspendedUntil != nil && u.SuspendedUntil.After(now) {
		return &SanctionedError{Kind: SanctionSuspension, Until: *u.SuspendedUntil, Reason: u.SuspensionReason}
	}
	return nil
}

// SanctionUser warns, silences or suspends a user. Silence and suspension
// need an end time; a suspension stops the user's sessions and tokens on
// their next request.
func (s *Store) SanctionUser(ctx context.Context, mod *User, userID int64, kind, reason string, until *time.Time) (*Sanction, error) {
	if err := requireModerator(mod); err != nil {
		return nil, err
	}
	v := validation{}
	reason = cleanReason(v, "reason", reason, true)
	switch kind {
	case SanctionWarning:
		until = nil
	case SanctionSilence, SanctionSuspension:
		if until == nil {
			v.add("until", "A "+kind+" needs an end time: say until when.")
		} else if !until.After(s.now()) {
			v.add("until", "Give an end time in the future.")
		} else if until.After(s.now().AddDate(10, 0, 0)) {
			v.add("until", "A sanction ends within 10 years.")
		} else {
			u := until.UTC()
			until = &u
		}
	default:
		v.add("kind", "The sanction is warning, silence or suspension.")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	x := &Sanction{UserID: userID, Kind: kind, Reason: reason, EndsAt: until, CreatedByID: mod.ID, CreatedAt: s.now()}
	err := s.write(ctx, func(tx *gorm.DB) error {
		var target User
		if err := tx.First(&target, userID).Error; err != nil {
			return err
		}
		if err := checkSanctionable(mod, &target); err != nil {
			return err
		}
		// A shorter silence or suspension would quietly end a longer one
		// in force: lifting comes first.
		current := map[string]*time.Time{SanctionSilence: target.SilencedUntil, SanctionSuspension: target.SuspendedUntil}[kind]
		if current != nil && current.After(*until) {
			return &ConflictError{Message: fmt.Sprintf("%s is already under a %s until %s. Lift it first to set a shorter one.",
				target.Name, kind, current.UTC().Format("2 Jan 2006 15:04 UTC"))}
		}
		if err := tx.Create(x).Error; err != nil {
			return err
		}
		cols := map[string][2]string{SanctionSilence: {"silenced_until", "silence_reason"}, SanctionSuspension: {"suspended_until", "suspension_reason"}}
		if col, ok := cols[kind]; ok {
			if err := tx.Model(&User{}).Where("id = ?", userID).Updates(map[string]any{col[0]: until, col[1]: reason}).Error; err != nil {
				return err
			}
		}
		after := kind
		if until != nil {
			after += " until " + until.Format(time.RFC3339)
		}
		if err := s.notify(tx, NotifyJob{Kind: NotifySanction, ActorID: mod.ID, UserIDs: []int64{userID}, Detail: x.Notice()}); err != nil {
			return err
		}
		return s.audit(tx, mod, "user."+kind, "user", userID, reason, "", after)
	})
	if err != nil {
		return nil, translate(err)
	}
	return x, nil
}

// LiftSanctions ends a user's active silence and suspension.
func (s *Store) LiftSanctions(ctx context.Context, mod *User, userID int64, reason string) error {
	reason, err := moderatorReason(mod, reason, true)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
		var target User
		if err := tx.First(&target, userID).Error; err != nil {
			return err
		}
		if err := checkSanctionable(mod, &target); err != nil {
			return err
		}
		now := s.now()
		res := tx.Model(&Sanction{}).Where("user_id = ? AND kind <> 'warning' AND lifted_at IS NULL AND ends_at > ?", userID, now).
			Updates(map[string]any{"lifted_at": now, "lifted_by_id": mod.ID})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return &ConflictError{Message: "This user is neither silenced nor suspended."}
		}
		if err := tx.Model(&User{}).Where("id = ?", userID).Updates(map[string]any{
			"silenced_until": nil, "silence_reason": "", "suspended_until": nil, "suspension_reason": ""}).Error; err != nil {
			return err
		}
		return s.audit(tx, mod, "user.lift", "user", userID, reason, "sanctioned", "lifted")
	})
	return translate(err)
}

// Sanctions lists a user's sanctions, newest first.
func (s *Store) Sanctions(ctx context.Context, userID int64) ([]Sanction, error) {
	var out []Sanction
	err := s.db.WithContext(ctx).Preload("CreatedBy").Where("user_id = ?", userID).Order("id DESC").Limit(MaxPerPage).Find(&out).Error
	return out, err
}
