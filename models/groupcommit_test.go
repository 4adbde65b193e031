package models

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

// TestGroupCommitFailsAlone: writes committed together each stand alone. A
// write held open keeps the committer busy while others queue up; it locks
// a thread, so the replies queued for that thread fail inside the next
// batch (ErrLocked); it takes a key, so the writes queued to take it too
// fail on the table's primary key; accounts whose names are taken are
// refused by their own check; while the replies to another thread and the
// new accounts beside them in the same batch are written.
func TestGroupCommitFailsAlone(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	staff := mustUser(t, s, "staff", RoleStaff)
	mustUser(t, s, "taken", RoleCustomer)
	ok := func(err error) bool { return err == nil }
	is := func(want error) func(error) bool { return func(err error) bool { return errors.Is(err, want) } }
	open := mustThread(t, s, staff, "Open thread", "x")
	locked := mustThread(t, s, staff, "Soon locked", "x")

	entered, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- s.write(ctx, func(tx *gorm.DB) error {
			close(entered)
			<-release
			if err := tx.Exec("INSERT INTO limits (key, window_start, window_end, hits) VALUES (?, ?, ?, ?)", "taken", time.Now(), time.Now(), 1).Error; err != nil {
				return err
			}
			return tx.Exec("UPDATE threads SET locked = ? WHERE id = ?", true, locked.ID).Error
		})
	}()
	<-entered

	type outcome struct {
		what string
		err  error
	}
	writes := []struct {
		what string
		do   func(i int) error
		want func(error) bool
	}{
		{"reply to the open thread", func(i int) error {
			_, _, err := s.CreateReply(ctx, staff, open.ID, NewPost{Body: fmt.Sprintf("reply %d", i)})
			return err
		}, ok},
		{"reply to the locked thread", func(i int) error {
			_, _, err := s.CreateReply(ctx, staff, locked.ID, NewPost{Body: fmt.Sprintf("reply %d", i)})
			return err
		}, is(ErrLocked)},
		{"new account", func(i int) error {
			_, err := s.CreateUser(ctx, NewUser{Name: fmt.Sprintf("new%02d", i), Email: fmt.Sprintf("new%02d@example.com", i), Password: "long enough password"})
			return err
		}, ok},
		{"taken name", func(i int) error {
			_, err := s.CreateUser(ctx, NewUser{Name: "taken", Email: fmt.Sprintf("other%02d@example.com", i), Password: "long enough password"})
			return err
		}, func(err error) bool { var v *ValidationError; return errors.As(err, &v) }},
		{"taken key", func(i int) error {
			return s.write(ctx, func(tx *gorm.DB) error {
				return tx.Exec("INSERT INTO limits (key, window_start, window_end, hits) VALUES (?, ?, ?, ?)", "taken", time.Now(), time.Now(), 1).Error
			})
		}, is(gorm.ErrDuplicatedKey)},
	}
	const each = 8
	results := make(chan outcome, each*len(writes))
	var wg sync.WaitGroup
	for _, w := range writes {
		for i := 0; i < each; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results <- outcome{w.what, w.do(i)}
			}()
		}
	}
	time.Sleep(200 * time.Millisecond) // let them all queue behind the held write
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(results)

	want := map[string]func(error) bool{}
	for _, w := range writes {
		want[w.what] = w.want
	}
	for r := range results {
		if !want[r.what](r.err) {
			t.Errorf("%s: unexpected outcome %v", r.what, r.err)
		}
	}
	var replies, lockedReplies, accounts int64
	s.db.Model(&Post{}).Where("thread_id = ?", open.ID).Count(&replies)
	s.db.Model(&Post{}).Where("thread_id = ?", locked.ID).Count(&lockedReplies)
	s.db.Model(&User{}).Where("name LIKE ?", "new%").Count(&accounts)
	if replies != 1+each || lockedReplies != 1 || accounts != each {
		t.Errorf("written: %d posts in the open thread, %d in the locked one, %d new accounts; want %d, 1, %d",
			replies, lockedReplies, accounts, 1+each, each)
	}
}

// TestGroupCommitPanicsInCaller: a write that panics panics in its caller,
// is undone, and the committer goes on with the next writes.
func TestGroupCommitPanicsInCaller(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want boom", p)
			}
		}()
		_ = s.write(ctx, func(tx *gorm.DB) error {
			if err := tx.Exec("INSERT INTO limits (key, window_start, window_end, hits) VALUES (?, ?, ?, ?)", "undone", time.Now(), time.Now(), 1).Error; err != nil {
				t.Error(err)
			}
			panic("boom")
		})
	}()
	if err := s.write(ctx, func(tx *gorm.DB) error {
		return tx.Exec("INSERT INTO limits (key, window_start, window_end, hits) VALUES (?, ?, ?, ?)", "kept", time.Now(), time.Now(), 1).Error
	}); err != nil {
		t.Fatal(err)
	}
	var keys []string
	s.db.Model(&Limit{}).Order("key").Pluck("key", &keys)
	if fmt.Sprint(keys) != "[kept]" {
		t.Errorf("limits %v, want [kept]", keys)
	}
}

// TestWriteAfterClose: a write sent to a closed store fails as the
// database being unavailable, and closing twice is harmless.
func TestWriteAfterClose(t *testing.T) {
	s := newTestStore(t)
	s.Close()
	err := s.write(context.Background(), func(tx *gorm.DB) error { return nil })
	if !Unavailable(err) {
		t.Errorf("write after close: %v, want unavailable", err)
	}
}
