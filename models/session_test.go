package models

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm/schema"
)

func TestSessionLifecycle(t *testing.T) {
	s := newTestStore(t)
	setClock(s, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ctx := context.Background()
	u := mustUser(t, s, "alice", RoleCustomer)
	secret, err := s.CreateSession(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	var stored Session
	s.db.First(&stored)
	if stored.ID == secret || strings.Contains(stored.ID, secret) {
		t.Fatal("the session secret is stored in clear")
	}
	if got, err := s.UserBySession(ctx, secret); err != nil || got.ID != u.ID {
		t.Fatalf("live session: %v %v", got, err)
	}
	if _, err := s.UserBySession(ctx, "forged"); !errors.Is(err, ErrNotFound) {
		t.Errorf("forged session: %v", err)
	}
	advance(s, SessionLifetime+time.Second)
	if _, err := s.UserBySession(ctx, secret); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired session: %v", err)
	}
	// A new log-in prunes expired sessions.
	if _, err := s.CreateSession(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	var n int64
	s.db.Model(&Session{}).Count(&n)
	if n != 1 {
		t.Errorf("%d sessions after pruning, want 1", n)
	}
}

func TestTokens(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	u := mustUser(t, s, "alice", RoleCustomer)
	other := mustUser(t, s, "bob", RoleCustomer)
	tok, secret, err := s.CreateToken(ctx, u.ID, "cron")
	if err != nil || !strings.HasPrefix(secret, TokenPrefix) || tok.Hash == secret {
		t.Fatalf("token %v %q %v", tok, secret, err)
	}
	if got, err := s.UserByToken(ctx, secret); err != nil || got.ID != u.ID {
		t.Fatalf("token user: %v %v", got, err)
	}
	if _, _, err := s.CreateToken(ctx, u.ID, " "); err == nil {
		t.Error("empty token name accepted")
	}
	if err := s.RevokeToken(ctx, other.ID, tok.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoking someone else's token: %v", err)
	}
	if err := s.RevokeToken(ctx, u.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByToken(ctx, secret); !errors.Is(err, ErrRevoked) {
		t.Errorf("revoked token: %v", err)
	}
	if ts, _ := s.ListTokens(ctx, u.ID); len(ts) != 0 {
		t.Errorf("revoked token still listed: %v", ts)
	}
}

// TestUserColumns: the hand-written column list of a user is every field of
// User, in order, so that a new column cannot be left out of the signed-in
// user.
func TestUserColumns(t *testing.T) {
	s := newTestStore(t)
	sch, err := schema.Parse(&User{}, &sync.Map{}, s.db.NamingStrategy)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range sch.Fields {
		if f.DBName != "" {
			want = append(want, "u."+f.DBName)
		}
	}
	if got := strings.Split(userColumns, ", "); !slices.Equal(got, want) {
		t.Errorf("userColumns %v, want %v", got, want)
	}
}
