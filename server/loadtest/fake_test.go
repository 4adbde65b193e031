package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fake is a stand-in for a Sitrep server: the discovery API, the four
// pages, replies and streams, with hooks to make routes misbehave.
type fake struct {
	srv *httptest.Server

	open, all []fakeIncident
	linked    map[int64][]int64

	// page, when set, answers the page reads (not discovery) instead of
	// the plain 200; n counts its calls from 1.
	page func(w http.ResponseWriter, r *http.Request, n int64) bool
	// postStatus picks the answer to the n-th reply (from 1): 0 is 201.
	postStatus func(n int64) int
	// stream answers GET /api/v1/stream; n counts from 1.
	stream func(w http.ResponseWriter, r *http.Request, n int64)

	pages    atomic.Int64
	streams  atomic.Int64
	newConns atomic.Int64

	mu      sync.Mutex
	hits    map[string]int  // page path -> requests
	remotes map[string]bool // connections that carried page reads
	// connections that carried discovery
	discovery map[string]bool
	warm      map[string]int // warm-up requests by connection
	bodies    map[string]bool
	keys      map[string]bool
	tokens    map[string]int
	threads   map[string]int
	created   []int64
	shed      int
	posts     int64
}

type fakeIncident struct {
	ID       int64  `json:"id"`
	ThreadID int64  `json:"thread_id"`
	Kind     string `json:"kind,omitempty"`
}

var bigPage = []byte("<!doctype html><title>Status</title>" + strings.Repeat("<p>Investigating reports of errors.</p>\n", 500))

// newFake starts a fake server; configure, if given, sets up its
// http.Server before it starts.
func newFake(t *testing.T, configure ...func(*http.Server)) *fake {
	f := &fake{
		open:   []fakeIncident{{ID: 7, ThreadID: 70}},
		linked: map[int64][]int64{7: {71, 72}},
		hits:   map[string]int{}, remotes: map[string]bool{}, discovery: map[string]bool{}, warm: map[string]int{}, bodies: map[string]bool{},
		keys: map[string]bool{}, tokens: map[string]int{}, threads: map[string]int{},
	}
	f.all = f.open
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.newConns.Add(1)
		}
	}
	for _, c := range configure {
		c(f.srv.Config)
	}
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/api/v1/incidents"):
		f.mu.Lock()
		f.discovery[r.RemoteAddr] = true
		f.mu.Unlock()
		f.discover(w, r)
	case p == "/api/v1/stream":
		n := f.streams.Add(1)
		if f.stream != nil {
			f.stream(w, r, n)
		}
	case r.Method == http.MethodPost && strings.HasPrefix(p, "/api/v1/threads/"):
		f.reply(w, r)
	case r.UserAgent() == warmAgent:
		f.mu.Lock()
		f.warm[r.RemoteAddr]++
		f.mu.Unlock()
		io.WriteString(w, "{}")
	case p == "/" || p == "/api/v2/summary.json" || strings.HasPrefix(p, "/incidents/") || strings.HasPrefix(p, "/threads/"):
		n := f.pages.Add(1)
		f.mu.Lock()
		f.hits[p]++
		f.remotes[r.RemoteAddr] = true
		f.mu.Unlock()
		if f.page != nil && f.page(w, r, n) {
			return
		}
		if p == "/" {
			// Large enough for the server to send it chunked.
			w.Write(bigPage)
			return
		}
		io.WriteString(w, "<!doctype html><title>Status</title><p>All good, mostly.</p>")
	default:
		http.NotFound(w, r)
	}
}

func (f *fake) discover(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "/api/v1/incidents" {
		list := f.all
		if r.URL.Query().Get("status") == "open" {
			list = f.open
		}
		if list == nil {
			list = []fakeIncident{}
		}
		json.NewEncoder(w).Encode(map[string]any{"incidents": list})
		return
	}
	id, _ := strconv.ParseInt(strings.TrimPrefix(p, "/api/v1/incidents/"), 10, 64)
	var linked []map[string]int64
	for _, l := range f.linked[id] {
		linked = append(linked, map[string]int64{"id": l})
	}
	json.NewEncoder(w).Encode(map[string]any{"id": id, "linked_threads": linked})
}

func (f *fake) reply(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Body string `json:"body"`
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || json.NewDecoder(r.Body).Decode(&in) != nil || in.Body == "" || r.Header.Get("Idempotency-Key") == "" {
		http.Error(w, "bad reply", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.posts++
	status := 0
	if f.postStatus != nil {
		status = f.postStatus(f.posts)
	}
	if status == http.StatusServiceUnavailable {
		f.shed++
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(status)
		return
	}
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	if f.bodies[in.Body] || f.keys[r.Header.Get("Idempotency-Key")] {
		http.Error(w, "duplicate", http.StatusConflict)
		return
	}
	f.bodies[in.Body] = true
	f.keys[r.Header.Get("Idempotency-Key")] = true
	f.tokens[tok]++
	f.threads[strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v1/threads/"), "/posts")]++
	id := 1000 + f.posts
	f.created = append(f.created, id)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"id":%d,"body":%q}`, id, in.Body)
}

// opts are small, quick options against f.
func (f *fake) opts() Options {
	return Options{
		Target:      f.srv.URL,
		Rate:        400,
		Connections: 4,
		Duration:    500 * time.Millisecond,
		ReplyRate:   -1,
		Timeout:     5 * time.Second,
	}
}

func routeOf(rep *Report, name string) RouteStats {
	for _, s := range rep.Routes {
		if s.Route == name {
			return s
		}
	}
	return RouteStats{}
}
