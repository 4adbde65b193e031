package models

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestListThreadsAfter: the next page read after the last thread of a
// page is the page that follows it, whatever the filter, pinned threads
// and threads active at the same moment included.
func TestListThreadsAfter(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	alice := oldUser(t, s, "alice")
	var made []*Thread
	for i := range 11 {
		made = append(made, mustThread(t, s, alice, fmt.Sprintf("Thread number %d", i), "Body."))
		advance(s, time.Minute)
	}
	if err := s.db.Model(&Thread{}).Where("id IN ?", []int64{made[2].ID, made[7].ID}).Update("pinned", true).Error; err != nil {
		t.Fatal(err)
	}
	// Some share their last activity with another.
	if err := s.db.Model(&Thread{}).Where("id IN ?", []int64{made[4].ID, made[5].ID, made[6].ID}).
		Update("last_activity_at", made[3].LastActivityAt).Error; err != nil {
		t.Fatal(err)
	}
	ids := func(p Paged[Thread]) []int64 {
		var out []int64
		for _, th := range p.Items {
			out = append(out, th.ID)
		}
		return out
	}
	for name, f := range map[string]ThreadFilter{"all": {}, "open": {OpenOnly: true}} {
		var byKey []int64
		for page, after := 1, (*ThreadKey)(nil); ; page++ {
			f.After = after
			p, err := s.ListThreads(ctx, f, Page{Number: page, PerPage: 3})
			if err != nil {
				t.Fatal(err)
			}
			byOffset, err := s.ListThreads(ctx, ThreadFilter{OpenOnly: f.OpenOnly}, Page{Number: page, PerPage: 3})
			if err != nil || !slices.Equal(ids(p), ids(byOffset)) || p.HasNext != byOffset.HasNext {
				t.Fatalf("%s, page %d: by key %v, by offset %v %v", name, page, ids(p), ids(byOffset), err)
			}
			byKey = append(byKey, ids(p)...)
			if !p.HasNext {
				break
			}
			k := p.Items[len(p.Items)-1].Key()
			after = &k
		}
		if len(byKey) != len(made) || byKey[0] != made[7].ID || byKey[1] != made[2].ID {
			t.Errorf("%s: %v", name, byKey)
		}
	}
}

func TestParseThreadKey(t *testing.T) {
	at := time.Date(2026, 3, 14, 9, 30, 0, 123456789, time.UTC)
	for _, tc := range []struct {
		in   string
		want ThreadKey
		ok   bool
	}{
		{ThreadKey{Pinned: true, LastActivityAt: at, ID: 42}.String(), ThreadKey{true, at, 42}, true},
		{"0-0-1", ThreadKey{false, time.Unix(0, 0).UTC(), 1}, true},
		{"2-0-1", ThreadKey{}, false},
		{"0-x-1", ThreadKey{}, false},
		{"0-1-0", ThreadKey{}, false},
		{"0-1", ThreadKey{}, false},
		{"", ThreadKey{}, false},
	} {
		got, err := ParseThreadKey(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%q: %+v %v, want %+v", tc.in, got, err, tc.want)
		}
	}
}
