package models

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sitrep/server/markup"
)

func TestGenerateSpecCheck(t *testing.T) {
	for _, tc := range []struct {
		spec GenerateSpec
		err  string // substring; "" for a good spec
	}{
		{GenerateSpec{Users: 50, Threads: 20, Posts: 500}, ""},
		{GenerateSpec{Users: 10, Threads: 1, Posts: 1}, ""},
		{GenerateSpec{Users: 9, Threads: 1, Posts: 1}, "users must be"},
		{GenerateSpec{Users: 50, Threads: 0, Posts: 500}, "threads must be"},
		{GenerateSpec{Users: 50, Threads: 20, Posts: 19}, "posts must be"},
		{GenerateSpec{Users: 50, Threads: 20, Posts: GenerateMaxPosts + 1}, "posts must be"},
	} {
		err := tc.spec.Check()
		if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%+v: %v, want %q", tc.spec, err, tc.err)
		}
	}
}

// generated makes a small site and opens it.
func generated(t *testing.T, spec GenerateSpec) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "site.db")
	st, err := Generate(context.Background(), path, spec)
	if err != nil {
		t.Fatal(err)
	}
	if st.Users != spec.Users || st.Threads != spec.Threads || st.Posts != spec.Posts || st.Bodies < 16 {
		t.Fatalf("stats %+v for %+v", st, spec)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// TestGenerate: a generated site holds what the Store's own writes would
// have made: each post's HTML is its Markdown rendered, the search index
// holds its text, the threads' counters and activity times match their
// posts, ids follow time, authors follow what they posted in.
func TestGenerate(t *testing.T) {
	s, path := generated(t, GenerateSpec{Users: 50, Threads: 20, Posts: 500, Seed: 7})
	ctx := context.Background()
	for _, tc := range []struct {
		name, query string
		want        int64
	}{
		{"users", "SELECT COUNT(*) FROM users", 50},
		{"staff and others", "SELECT COUNT(DISTINCT role) FROM users", 4},
		{"threads", "SELECT COUNT(*) FROM threads", 20},
		{"posts", "SELECT COUNT(*) FROM posts", 500},
		{"indexed", "SELECT COUNT(*) FROM post_search", 500},
		{"titles indexed once per thread", "SELECT COUNT(*) FROM post_search WHERE title <> ''", 20},
		{"counters", `SELECT COUNT(*) FROM threads t WHERE post_count <> (SELECT COUNT(*) FROM posts WHERE thread_id = t.id)
			OR last_activity_at <> (SELECT MAX(created_at) FROM posts WHERE thread_id = t.id)
			OR created_at <> (SELECT MIN(created_at) FROM posts WHERE thread_id = t.id)`, 0},
		{"first posts carry the title", `SELECT COUNT(*) FROM threads t JOIN post_search s
			ON s.docid = (SELECT MIN(id) FROM posts WHERE thread_id = t.id) WHERE s.title = t.title`, 20},
		{"ids in time order", "SELECT COUNT(*) FROM posts a JOIN posts b ON b.id = a.id + 1 WHERE b.created_at < a.created_at", 0},
		{"roles", "SELECT COUNT(*) FROM posts p JOIN users u ON u.id = p.author_id WHERE p.author_role <> u.role", 0},
		{"follows", `SELECT COUNT(*) FROM (SELECT thread_id, author_id, MAX(id) AS last FROM posts GROUP BY 1, 2) p
			LEFT JOIN follows f ON f.thread_id = p.thread_id AND f.user_id = p.author_id WHERE f.last_read_post_id IS NOT p.last`, 0},
		{"affected", "SELECT COUNT(*) FROM threads t JOIN affected_marks m ON m.thread_id = t.id AND m.user_id = t.author_id WHERE t.affected_count = 1", 20},
		{"months of history", "SELECT julianday(MAX(created_at)) - julianday(MIN(created_at)) > 90 FROM posts", 1},
	} {
		var got int64
		if err := s.db.Raw(tc.query).Scan(&got).Error; err != nil || got != tc.want {
			t.Errorf("%s: %d %v, want %d", tc.name, got, err, tc.want)
		}
	}
	var posts []struct {
		ID     int64
		Source string
		HTML   string
		Body   string
	}
	if err := s.db.Raw(`SELECT p.id, p.source, p.html, s.body FROM posts p JOIN post_search s ON s.docid = p.id`).Scan(&posts).Error; err != nil {
		t.Fatal(err)
	}
	long := 0
	for _, p := range posts {
		html, err := markup.Render(p.Source)
		if err != nil || string(html) != p.HTML {
			t.Fatalf("post %d: stored HTML is not its rendering (%v):\n%s\n%s", p.ID, err, html, p.HTML)
		}
		if want := indexText(markup.Text(html)); p.Body != want {
			t.Fatalf("post %d: indexed %q, want %q", p.ID, p.Body, want)
		}
		if len(p.Source) >= 300 {
			long++
		}
	}
	if long < len(posts)/2 {
		t.Errorf("%d of %d posts have several hundred characters", long, len(posts))
	}

	// Search finds a post by its own reference, and common words find many.
	var ref struct{ ID int64 }
	s.db.Raw("SELECT id FROM posts WHERE source LIKE '%reference is q%' LIMIT 1").Scan(&ref)
	if r, err := s.Search(ctx, postRef(ref.ID), nil, Page{}); err != nil || len(r.Items) != 1 || r.Items[0].PostID != ref.ID {
		t.Errorf("search for post %d's reference: %+v %v", ref.ID, r.Items, err)
	}
	if r, err := s.Search(ctx, "same here", nil, Page{}); err != nil || !r.HasNext {
		t.Errorf("search for common words: %d results %v", len(r.Items), err)
	}
	if list, err := s.ListThreads(ctx, ThreadFilter{}, Page{Number: 1}); err != nil || len(list.Items) != 20 || list.Items[0].Author == nil {
		t.Errorf("thread list: %d %v", len(list.Items), err)
	}
	if _, err := s.Authenticate(ctx, "admin1", GeneratedPassword); err != nil {
		t.Errorf("log in as the generated admin: %v", err)
	}

	// A file that holds a site is refused, and left as it was.
	before, _ := os.Stat(path)
	if _, err := Generate(ctx, path, GenerateSpec{Users: 50, Threads: 20, Posts: 500}); err == nil || !strings.Contains(err.Error(), "already holds a site") {
		t.Errorf("generate over a site: %v", err)
	}
	if after, _ := os.Stat(path); after.ModTime() != before.ModTime() {
		t.Error("the refused file changed")
	}
}

// TestGenerateIsRepeatable: the same spec makes the same posts.
func TestGenerateIsRepeatable(t *testing.T) {
	spec := GenerateSpec{Users: 20, Threads: 5, Posts: 60, Seed: 3}
	spec.End = spec.End.AddDate(2026, 0, 0)
	var sources [2][]string
	for i := range sources {
		s, _ := generated(t, spec)
		if err := s.db.Raw("SELECT source FROM posts ORDER BY id").Scan(&sources[i]).Error; err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(sources[0], "\x00") != strings.Join(sources[1], "\x00") {
		t.Error("the same seed made different posts")
	}
}
