package models

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// Role is what a user may do. The role is read from the database on every
// request, never from a cookie or a token.
type Role string

const (
	RoleCustomer  Role = "customer"
	RoleStaff     Role = "staff"
	RoleModerator Role = "moderator"
	RoleAdmin     Role = "admin"
)

// Roles lists every role, lowest first.
var Roles = []Role{RoleCustomer, RoleStaff, RoleModerator, RoleAdmin}

// Valid tells whether r is a known role.
func (r Role) Valid() bool { return r.Rank() > 0 }

// Rank orders roles for "equal or higher" checks: nobody acts on a user whose
// rank is equal to or above their own.
func (r Role) Rank() int {
	for i, x := range Roles {
		if x == r {
			return i + 1
		}
	}
	return 0
}

// IsStaff tells whether r may post official statements.
func (r Role) IsStaff() bool { return r == RoleStaff || r == RoleAdmin }

// CanModerate tells whether r may use the moderation tools.
func (r Role) CanModerate() bool { return r == RoleModerator || r == RoleAdmin }

// User is an account.
type User struct {
	ID           int64
	Name         string
	Email        string
	PasswordHash string
	Role         Role
	// The user's current silence or suspension, kept here so that every
	// request sees it with the user row; the history is in sanctions.
	SilencedUntil    *time.Time
	SilenceReason    string
	SuspendedUntil   *time.Time
	SuspensionReason string
	// MailLevel is how much mail they get about the threads they follow
	// (MailOfficial, MailAll, MailNever). MailKey derives the token of
	// that mail's unsubscribe links (made with their first such mail);
	// MailUnsubscribeHash is its SHA-256.
	MailLevel           string
	MailKey             string
	MailUnsubscribeHash string
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// Field limits.
const (
	NameMinLen     = 3
	NameMaxLen     = 30
	EmailMaxLen    = 254
	PasswordMinLen = 10
	PasswordMaxLen = 72 // bcrypt reads no further
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// reservedWords are refused inside self-chosen names so that nobody can pose
// as the site or its staff; the staff badge comes from the role alone.
var reservedWords = []string{"admin", "staff", "support", "moderator", "sitrep", "official", "system", "helpdesk"}

// looksReserved folds common look-alike characters and separators before
// looking for a reserved word, so "Supp0rt", "s.u.p.p.o.r.t" and "ADM1N" are
// caught too. Names are ASCII-only, which rules out homoglyphs from other
// scripts.
func looksReserved(name string) bool {
	folded := strings.Map(func(r rune) rune {
		switch r {
		case '0':
			return 'o'
		case '1', 'l', '|', '!':
			return 'i'
		case '3':
			return 'e'
		case '4', '@':
			return 'a'
		case '5', '$':
			return 's'
		case '7':
			return 't'
		case '_', '-', '.':
			return -1
		}
		return r
	}, strings.ToLower(name))
	for _, w := range reservedWords {
		if strings.Contains(folded, strings.ReplaceAll(w, "l", "i")) {
			return true
		}
	}
	return false
}

// NewUser is the input for creating an account.
type NewUser struct {
	Name     string
	Email    string
	Password string
	Role     Role
	// AllowReserved lets an operator create accounts such as "support"; self
	// sign-up never sets it.
	AllowReserved bool
}

func validateName(v validation, name string, allowReserved bool) {
	switch {
	case name == "":
		v.add("name", "Choose a user name.")
	case utf8.RuneCountInString(name) < NameMinLen || utf8.RuneCountInString(name) > NameMaxLen:
		v.add("name", "A user name has 3 to 30 characters.")
	case !nameRE.MatchString(name):
		v.add("name", "Use only letters A-Z, digits, and . _ - (starting with a letter or digit).")
	case !allowReserved && looksReserved(name):
		v.add("name", "This name could be mistaken for the site or its staff; choose another.")
	}
}

func validateEmail(v validation, email string) {
	switch {
	case email == "":
		v.add("email", "Enter an email address.")
	case len(email) > EmailMaxLen:
		v.add("email", "An email address has at most 254 characters.")
	default:
		a, err := mail.ParseAddress(email)
		if err != nil || a.Address != email || !strings.Contains(email, "@") {
			v.add("email", "Enter an email address such as name@example.com.")
		}
	}
}

func validatePassword(v validation, field, pw string) {
	switch {
	case utf8.RuneCountInString(pw) < PasswordMinLen:
		v.add(field, "A password has at least 10 characters.")
	case len(pw) > PasswordMaxLen:
		v.add(field, "A password has at most 72 bytes.")
	}
}

// CreateUser validates and stores a new account.
func (s *Store) CreateUser(ctx context.Context, in NewUser) (*User, error) {
	in.Name = strings.TrimSpace(in.Name)
	in.Email = strings.TrimSpace(in.Email)
	if in.Role == "" {
		in.Role = RoleCustomer
	}
	v := validation{}
	validateName(v, in.Name, in.AllowReserved)
	validateEmail(v, in.Email)
	validatePassword(v, "password", in.Password)
	if !in.Role.Valid() {
		v.add("role", "Role must be customer, staff, moderator or admin.")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.PasswordCost)
	if err != nil {
		return nil, err
	}
	u := &User{Name: in.Name, Email: in.Email, PasswordHash: string(hash), Role: in.Role, MailLevel: MailOfficial}
	err = s.write(ctx, func(tx *gorm.DB) error {
		var taken struct{ Name, Email int64 }
		if err := tx.Raw(`SELECT
			(SELECT COUNT(*) FROM users WHERE name = ?) AS name,
			(SELECT COUNT(*) FROM users WHERE email = ?) AS email`, in.Name, in.Email).Scan(&taken).Error; err != nil {
			return err
		}
		if taken.Name > 0 {
			v.add("name", "This name is taken.")
		}
		if taken.Email > 0 {
			v.add("email", "An account with this email already exists.")
		}
		if err := v.err(); err != nil {
			return err
		}
		return tx.Create(u).Error
	})
	if err != nil {
		return nil, translate(err)
	}
	return u, nil
}

// UserByID finds a user.
func (s *Store) UserByID(ctx context.Context, id int64) (*User, error) {
	var u User
	if err := s.db.WithContext(ctx).First(&u, id).Error; err != nil {
		return nil, translate(err)
	}
	return &u, nil
}

// UserByName finds a user by name, ignoring case.
func (s *Store) UserByName(ctx context.Context, name string) (*User, error) {
	var u User
	if err := s.db.WithContext(ctx).Where("name = ?", name).First(&u).Error; err != nil {
		return nil, translate(err)
	}
	return &u, nil
}

// dummyHash is compared against when the user does not exist, so that an
// unknown name takes as long to refuse as a wrong password. It is made once,
// at the store's cost.
func (s *Store) dummyHash() []byte {
	s.dummyOnce.Do(func() {
		s.dummy, _ = bcrypt.GenerateFromPassword([]byte("not a real password"), s.PasswordCost)
	})
	return s.dummy
}

// LoginKey names the account a log-in name or email leads to, for counting
// failed log-ins: "user:ID" for a known user, whichever way they were named,
// or "login:" and the folded text for an unknown one.
func (s *Store) LoginKey(ctx context.Context, login string) (string, error) {
	login = strings.TrimSpace(login)
	var ids []int64
	if err := s.db.WithContext(ctx).Model(&User{}).Where("name = ? OR email = ?", login, login).Limit(1).Pluck("id", &ids).Error; err != nil {
		return "", err
	}
	if len(ids) == 0 {
		return "login:" + strings.ToLower(login), nil
	}
	return UserKey(ids[0]), nil
}

// UserKey is the LoginKey of a known user.
func UserKey(id int64) string { return fmt.Sprintf("user:%d", id) }

// Authenticate checks a name (or email) and password. A suspended user is
// refused with the suspension's reason.
func (s *Store) Authenticate(ctx context.Context, login, password string) (*User, error) {
	login = strings.TrimSpace(login)
	var u User
	err := s.db.WithContext(ctx).Where("name = ? OR email = ?", login, login).First(&u).Error
	if err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			_ = bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
			return nil, ErrBadCredentials
		}
		return nil, err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return nil, ErrBadCredentials
	}
	if err := u.Suspended(s.now()); err != nil {
		return nil, err
	}
	return &u, nil
}

// UpdateEmail changes a user's email address.
func (s *Store) UpdateEmail(ctx context.Context, userID int64, email string) error {
	email = strings.TrimSpace(email)
	v := validation{}
	validateEmail(v, email)
	if err := v.err(); err != nil {
		return err
	}
	err := s.write(ctx, func(tx *gorm.DB) error {
		return tx.Model(&User{}).Where("id = ?", userID).Updates(map[string]any{"email": email, "updated_at": s.now()}).Error
	})
	if errors.Is(translate(err), ErrConflict) {
		v.add("email", "An account with this email already exists.")
		return v.err()
	}
	return translate(err)
}

// ChangePassword checks the current password, stores the new one and ends
// every session and token of the user, so a stolen session dies with the old
// password. The caller signs the user in again.
func (s *Store) ChangePassword(ctx context.Context, userID int64, current, next string) error {
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	v := validation{}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(current)) != nil {
		v.add("current_password", "This is not your current password.")
	}
	validatePassword(v, "new_password", next)
	if err := v.err(); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(next), s.PasswordCost)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&User{}).Where("id = ?", userID).
			Updates(map[string]any{"password_hash": string(hash), "updated_at": s.now()}).Error; err != nil {
			return err
		}
		return s.revokeCredentials(tx, userID, "password changed")
	})
}

// ChangeRole sets a user's role on behalf of actor (an admin). Admins cannot
// lower their own role, and the last admin always stays. The user's sessions
// and tokens are revoked so that the change takes effect everywhere at once.
func (s *Store) ChangeRole(ctx context.Context, actor *User, userID int64, role Role) (*User, error) {
	if actor.Role != RoleAdmin {
		return nil, ErrForbidden
	}
	if !role.Valid() {
		return nil, &ValidationError{Fields: map[string]string{"role": "Role must be customer, staff, moderator or admin."}}
	}
	var target User
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.First(&target, userID).Error; err != nil {
			return err
		}
		if target.Role == role {
			return nil
		}
		if target.ID == actor.ID {
			return &ValidationError{Fields: map[string]string{"role": "You cannot change your own role; ask another admin."}}
		}
		if target.Role == RoleAdmin {
			var admins int64
			if err := tx.Model(&User{}).Where("role = ?", RoleAdmin).Count(&admins).Error; err != nil {
				return err
			}
			if admins <= 1 {
				return &ValidationError{Fields: map[string]string{"role": "The last admin cannot be removed."}}
			}
		}
		if err := tx.Model(&User{}).Where("id = ?", target.ID).
			Updates(map[string]any{"role": role, "updated_at": s.now()}).Error; err != nil {
			return err
		}
		before := target.Role
		target.Role = role
		if err := s.audit(tx, actor, "user.role", "user", target.ID, "", string(before), string(role)); err != nil {
			return err
		}
		return s.revokeCredentials(tx, target.ID, "role changed to "+string(role))
	})
	if err != nil {
		return nil, translate(err)
	}
	return &target, nil
}

// UserFilter narrows the user list.
type UserFilter struct {
	Query string // part of the name or email
	Role  Role
}

// ListUsers lists users by name.
func (s *Store) ListUsers(ctx context.Context, f UserFilter, p Page) (Paged[User], error) {
	p = p.Normalize(UsersPerPage)
	q := s.db.WithContext(ctx).Model(&User{})
	if f.Query != "" {
		like := "%" + escapeLike(f.Query) + "%"
		q = q.Where(`name LIKE ? ESCAPE '\' OR email LIKE ? ESCAPE '\'`, like, like)
	}
	if f.Role != "" {
		q = q.Where("role = ?", f.Role)
	}
	var users []User
	err := q.Order("name").Offset(p.offset()).Limit(p.PerPage + 1).Find(&users).Error
	return paged(users, p), translate(err)
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// CountUsers counts accounts.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&User{}).Count(&n).Error
	return n, err
}
