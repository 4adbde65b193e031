package httpcache

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"

	"fmt"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

func TestCacheIsBoundedInBytes(t *testing.T) {
	now := time.Now()
	rc := New(time.Minute, time.Minute, 100, 10, func() time.Time { return now })
	for i := range 5 {
		key := fmt.Sprint(i)
		_, f, leader := rc.get(key)
		if !leader {
			t.Fatal("not the leader of a new key")
		}
		rc.finish(key, f, &entry{body: []byte("abcd")})
		if rc.bytes > 10 || rc.Len() > 2 {
			t.Fatalf("%d bytes in %d entries, bound 10 bytes", rc.bytes, rc.Len())
		}
	}
	_, f, _ := rc.get("huge")
	rc.finish("huge", f, &entry{body: make([]byte, 11)})
	if rc.bytes > 10 {
		t.Fatalf("%d bytes, bound 10", rc.bytes)
	}
}

func TestCacheDropsRendersFromBeforeAPurge(t *testing.T) {
	now := time.Now()
	rc := New(time.Minute, time.Minute, 100, MaxBytes, func() time.Time { return now })
	_, f, _ := rc.get("k")
	rc.Purge()
	rc.finish("k", f, &entry{body: []byte("old")})
	if rc.Len() != 0 || f.resp != nil {
		t.Error("a render from before the purge was stored")
	}
}

func TestETagMatches(t *testing.T) {
	for _, c := range []struct {
		header string
		want   bool
	}{{`"a"`, true}, {`W/"a"`, true}, {`"b", "a"`, true}, {`*`, true}, {`"b"`, false}, {``, false}} {
		if got := ETagMatches(c.header, `"a"`); got != c.want {
			t.Errorf("If-None-Match %q: %v, want %v", c.header, got, c.want)
		}
	}
}

func get(h http.Handler, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	return w
}

func TestCacheStoresOnlyShareableAnswers(t *testing.T) {
	now := time.Now()
	rc := New(5*time.Second, 0, DefaultEntries, MaxBytes, func() time.Time { return now })
	r := gin.New()
	r.Use(func(c *gin.Context) { rc.Serve(c, c.Request.URL.RequestURI()) })
	renders := 0
	r.GET("/", func(c *gin.Context) {
		renders++
		switch c.Query("kind") {
		case "cookie":
			http.SetCookie(c.Writer, &http.Cookie{Name: "other", Value: "x"})
		case "no-store":
			c.Header("Cache-Control", "no-store")
		case "private":
			c.Header("Cache-Control", "private, max-age=60")
		case "missing":
			c.String(http.StatusNotFound, "no")
			return
		case "big":
			c.String(http.StatusOK, strings.Repeat("x", maxBody+1))
			return
		}
		c.String(http.StatusOK, "render %d", renders)
	})
	for _, kind := range []string{"cookie", "no-store", "private", "missing", "big"} {
		before := renders
		for range 2 {
			if w := get(r, "/?kind="+kind); w.Header().Get("X-Cache") == "hit" {
				t.Errorf("%s: served from the cache", kind)
			}
		}
		if renders != before+2 {
			t.Errorf("%s: %d renders for 2 requests, want 2", kind, renders-before)
		}
	}
	before := renders
	a, b := get(r, "/"), get(r, "/")
	if renders != before+1 || a.Body.String() != b.Body.String() || b.Header().Get("X-Cache") != "hit" {
		t.Errorf("a plain 200 should be cached: %d renders, %q then %q", renders-before, a.Body, b.Body)
	}
	if b.Header().Get("Set-Cookie") != "" {
		t.Error("a cached answer carries a cookie")
	}
}

func TestCacheCollapsesConcurrentMisses(t *testing.T) {
	now := time.Now()
	rc := New(5*time.Second, 0, DefaultEntries, MaxBytes, func() time.Time { return now })
	r := gin.New()
	r.Use(func(c *gin.Context) { rc.Serve(c, c.Request.URL.RequestURI()) })
	entered, release := make(chan struct{}), make(chan struct{})
	var renders atomic.Int32
	r.GET("/", func(c *gin.Context) {
		if renders.Add(1) == 1 {
			close(entered)
			<-release
		}
		c.String(http.StatusOK, "the page")
	})
	const n = 8
	results := make(chan *httptest.ResponseRecorder, n)
	go func() { results <- get(r, "/") }()
	<-entered
	for range n - 1 {
		go func() { results <- get(r, "/") }()
	}
	for rc.Collapsed() < n-1 {
		runtime.Gosched()
	}
	close(release)
	for range n {
		if w := <-results; w.Code != http.StatusOK || w.Body.String() != "the page" {
			t.Errorf("%d %q", w.Code, w.Body)
		}
	}
	if got := renders.Load(); got != 1 {
		t.Errorf("%d renders for %d concurrent requests, want 1", got, n)
	}
}

// TestCacheKeepsLastGoodAnswers: past its TTL (and after a purge) an
// answer is no longer served fresh, but is kept as the last good answer
// until its stale time, and then dropped first.
func TestCacheKeepsLastGoodAnswers(t *testing.T) {
	now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	rc := New(5*time.Second, 15*time.Minute, 2, MaxBytes, func() time.Time { return now })
	r := gin.New()
	renders := 0
	r.Use(func(c *gin.Context) { rc.Serve(c, c.Request.URL.RequestURI()) })
	r.GET("/*path", func(c *gin.Context) {
		renders++
		c.String(http.StatusOK, "render %d", renders)
	})
	get(r, "/a")
	now = now.Add(time.Minute)
	if w := get(r, "/a"); w.Body.String() != "render 2" {
		t.Fatalf("past the TTL: %q, want a new render", w.Body)
	}
	rc.Purge()
	c, ok := rc.Stale("/a")
	if !ok || string(c.Body) != "render 2" || !c.Made.Equal(now) || c.Header.Get("Content-Type") == "" {
		t.Fatalf("last good answer after a purge: %+v %v", c, ok)
	}
	if w := get(r, "/a"); w.Body.String() != "render 3" {
		t.Fatalf("after a purge: %q, want a new render", w.Body)
	}
	now = now.Add(16 * time.Minute)
	if _, ok := rc.Stale("/a"); ok {
		t.Error("an answer older than its stale time is still kept")
	}
	get(r, "/b")
	get(r, "/c")
	if _, ok := rc.Stale("/a"); ok || rc.Len() != 2 {
		t.Errorf("the out-of-date answer was not evicted first: %d entries", rc.Len())
	}
}

// A cached answer is sent gzipped to those who take gzip, as another
// representation (its own ETag, Vary: Accept-Encoding); small and binary
// answers are sent as they are.
func TestCacheServesGzip(t *testing.T) {
	now := time.Now()
	rc := New(5*time.Second, 0, DefaultEntries, MaxBytes, func() time.Time { return now })
	r := gin.New()
	r.Use(func(c *gin.Context) { rc.Serve(c, c.Request.URL.RequestURI()) })
	page := strings.Repeat("<li>Mail: operational</li>\n", 200)
	r.GET("/:kind", func(c *gin.Context) {
		c.Header("ETag", `"v1"`)
		switch c.Param("kind") {
		case "small":
			c.Data(http.StatusOK, "text/html; charset=utf-8", []byte("<p>ok</p>"))
		case "png":
			c.Data(http.StatusOK, "image/png", []byte(page))
		default:
			c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(page))
		}
	})
	send := func(path, accept, inm string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Accept-Encoding", accept)
		req.Header.Set("If-None-Match", inm)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w
	}
	for _, path := range []string{"/page", "/small", "/png"} {
		send(path, "gzip", "") // the miss renders and stores
	}
	for _, tc := range []struct {
		path, accept, inm string
		code              int
		gzip              bool
	}{
		{"/page", "gzip, deflate, br", "", http.StatusOK, true},
		{"/page", "br;q=1.0, gzip;q=0.8", "", http.StatusOK, true},
		{"/page", "*", "", http.StatusOK, true},
		{"/page", "", "", http.StatusOK, false},
		{"/page", "gzip;q=0", "", http.StatusOK, false},
		{"/page", "identity", "", http.StatusOK, false},
		{"/page", "gzip", `"v1-gzip"`, http.StatusNotModified, true},
		{"/page", "gzip", `"v1"`, http.StatusOK, true},
		{"/page", "", `"v1"`, http.StatusNotModified, false},
		{"/small", "gzip", "", http.StatusOK, false},
		{"/png", "gzip", "", http.StatusOK, false},
	} {
		w := send(tc.path, tc.accept, tc.inm)
		name := fmt.Sprintf("%s with Accept-Encoding %q, If-None-Match %q", tc.path, tc.accept, tc.inm)
		if w.Code != tc.code || w.Header().Get("X-Cache") != "hit" || (w.Header().Get("Content-Encoding") == "gzip") != tc.gzip {
			t.Errorf("%s: %d %s, Content-Encoding %q", name, w.Code, w.Header().Get("X-Cache"), w.Header().Get("Content-Encoding"))
			continue
		}
		if tc.path == "/page" && !strings.Contains(w.Header().Get("Vary"), "Accept-Encoding") {
			t.Errorf("%s: Vary %q", name, w.Header().Get("Vary"))
		}
		if w.Code != http.StatusOK {
			continue
		}
		body, sent := w.Body.Bytes(), w.Body.Len()
		if tc.gzip {
			zr, err := gzip.NewReader(w.Body)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if w.Header().Get("ETag") != `"v1-gzip"` || sent > len(page)/5 {
				t.Errorf("%s: ETag %s, %d bytes", name, w.Header().Get("ETag"), sent)
			}
		}
		if tc.path == "/page" && string(body) != page {
			t.Errorf("%s: the body differs", name)
		}
		if w.Header().Get("Content-Length") != fmt.Sprint(sent) {
			t.Errorf("%s: Content-Length %s for %d bytes", name, w.Header().Get("Content-Length"), sent)
		}
	}
}
