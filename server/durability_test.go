package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sitrep/models"
)

// TestSIGKILLKeepsAcknowledgedPosts is THREATS item 23: the real binary is
// killed with SIGKILL in the middle of a burst of replies from 32 writers at
// once, which the store commits in groups (models/groupcommit.go); afterwards
// every reply that was answered 201 is in the database with its text, the database
// passes SQLite's integrity check, and the binary starts again on it.
func TestSIGKILLKeepsAcknowledgedPosts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the binary: %v", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "sitrep")
	db := filepath.Join(dir, "durability.db")

	build := exec.Command(goBin, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	runCLI := func(stdin string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("sitrep %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	runCLI("", "migrate", "-db", db)
	runCLI("a long staff password\n", "user", "add", "-db", db, "-name", "durability.staff",
		"-email", "durability@example.com", "-role", "staff")
	token := ""
	for _, line := range strings.Split(runCLI("", "token", "add", "-db", db, "-user", "durability.staff"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			token = line
		}
	}
	if token == "" {
		t.Fatal("token add printed no token")
	}

	srv := startDurabilityServer(t, bin, db)
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 32, DisableCompression: true},
	}
	t.Cleanup(client.CloseIdleConnections)
	post := func(path string, body any) (*http.Response, error) {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r, err := http.NewRequest(http.MethodPost, srv.base+path, bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		r.Header.Set("Authorization", "Bearer "+token)
		r.Header.Set("Content-Type", "application/json")
		return client.Do(r)
	}

	resp, err := post("/api/v1/threads", map[string]string{
		"title": "Writes during a crash",
		"body":  "Replies below are posted while the server is killed.",
	})
	if err != nil {
		t.Fatalf("create thread: %v", err)
	}
	var thread struct {
		ID int64 `json:"id"`
	}
	status := resp.StatusCode
	err = json.NewDecoder(resp.Body).Decode(&thread)
	resp.Body.Close()
	if status != http.StatusCreated || err != nil || thread.ID == 0 {
		t.Fatalf("create thread: status %d, id %d, decode error %v\nserver log:\n%s", status, thread.ID, err, srv.log.tail())
	}

	// The burst: writers post until told to stop; only a complete 201 answer
	// counts as acknowledged.
	type ack struct {
		id   int64
		body string
	}
	const writers = 32
	var (
		mu        sync.Mutex
		acks      []ack
		acked     atomic.Int64
		killed    atomic.Bool
		refused   = map[int]int{} // non-201 statuses answered before the kill
		failed    atomic.Int64    // requests without a complete answer after the kill
		wg        sync.WaitGroup
		stop      = make(chan struct{})
		startedAt = time.Now()
		stopOnce  sync.Once
	)
	// Writers must be done before the test returns, whichever way it ends.
	stopWriters := func() {
		stopOnce.Do(func() { close(stop) })
		wg.Wait()
	}
	defer stopWriters()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf("Reply durability-marker-w%d-n%d during the burst.", w, n)
				resp, err := post(fmt.Sprintf("/api/v1/threads/%d/posts", thread.ID),
					map[string]string{"body": body})
				if err != nil {
					if killed.Load() {
						failed.Add(1)
						continue
					}
					t.Errorf("writer %d: request before the kill failed: %v", w, err)
					return
				}
				var p struct {
					ID       int64  `json:"id"`
					ThreadID int64  `json:"thread_id"`
					Body     string `json:"body"`
				}
				derr := json.NewDecoder(resp.Body).Decode(&p)
				resp.Body.Close()
				switch {
				case resp.StatusCode == http.StatusCreated && derr == nil && p.ID != 0:
					if p.ThreadID != thread.ID || p.Body != body {
						t.Errorf("writer %d: 201 answer is not the post sent: %+v, want thread %d and %q", w, p, thread.ID, body)
					}
					mu.Lock()
					acks = append(acks, ack{p.ID, body})
					mu.Unlock()
					acked.Add(1)
				case killed.Load():
					failed.Add(1)
				default:
					mu.Lock()
					refused[resp.StatusCode]++
					mu.Unlock()
					if derr != nil {
						t.Errorf("writer %d: status %d with an unreadable body: %v", w, resp.StatusCode, derr)
						return
					}
				}
			}
		}()
	}

	// Kill while the writers are busy: after 200 acknowledgements, or after
	// 1.5 s as long as at least one post was acknowledged.
	giveUp := time.Now().Add(2 * time.Minute)
	for {
		n := acked.Load()
		if n >= 200 || (n > 0 && time.Since(startedAt) >= 1500*time.Millisecond) {
			break
		}
		if time.Now().After(giveUp) {
			stopWriters()
			t.Fatalf("no post acknowledged within 2 minutes (refused: %v)\nserver log:\n%s", refused, srv.log.tail())
		}
		select {
		case err := <-srv.exited:
			stopWriters()
			t.Fatalf("server exited during the burst: %v\nserver log:\n%s", err, srv.log.tail())
		case <-time.After(10 * time.Millisecond):
		}
	}
	killed.Store(true)
	ackedAtKill := acked.Load()
	if err := srv.cmd.Process.Kill(); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	select {
	case err := <-srv.exited:
		t.Logf("server after SIGKILL: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("server still running 30 s after SIGKILL")
	}
	stopWriters()
	client.CloseIdleConnections()

	if len(acks) == 0 {
		t.Fatal("no post was acknowledged; the test proves nothing")
	}
	if len(refused) > 0 {
		t.Logf("non-201 answers before the kill: %v", refused)
	}

	// The file as the kill left it must pass the integrity check.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := models.CheckIntegrity(ctx, db); err != nil {
		t.Errorf("after SIGKILL: %v", err)
	}

	store, err := models.Open(db)
	if err != nil {
		t.Fatalf("open after SIGKILL: %v", err)
	}
	th, err := store.ThreadByID(ctx, thread.ID)
	if err != nil {
		store.Close()
		t.Fatalf("thread %d after SIGKILL: %v", thread.ID, err)
	}
	stored := map[int64]models.Post{}
	for page := 1; ; page++ {
		posts, err := store.ListPosts(ctx, models.PostQuery{ThreadID: thread.ID},
			models.Page{Number: page, PerPage: models.MaxPerPage})
		if err != nil {
			store.Close()
			t.Fatalf("list posts after SIGKILL: %v", err)
		}
		for _, p := range posts.Items {
			stored[p.ID] = p
		}
		if !posts.HasNext {
			break
		}
	}
	found := 0
	for _, a := range acks {
		p, ok := stored[a.id]
		switch {
		case !ok:
			t.Errorf("acknowledged post %d (%q) is missing after SIGKILL", a.id, a.body)
		case p.Source != a.body:
			t.Errorf("acknowledged post %d has text %q, want %q", a.id, p.Source, a.body)
		default:
			found++
		}
	}
	// The reply and the thread's counter commit together, so they agree even
	// for posts whose answer the kill cut off.
	if th.PostCount != len(stored) {
		t.Errorf("thread post_count is %d but %d posts are stored", th.PostCount, len(stored))
	}
	if err := store.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := models.CheckIntegrity(ctx, db); err != nil {
		t.Errorf("after reopening: %v", err)
	}
	t.Logf("acknowledged %d (%d when the kill was sent), found %d of them; %d posts stored in the thread (first post included); %d requests cut off by the kill",
		len(acks), ackedAtKill, found, len(stored), failed.Load())

	// The binary starts again on the same file: WAL recovery works.
	again := startDurabilityServer(t, bin, db)
	r, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/threads/%d", again.base, thread.ID), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = client.Do(r)
	if err != nil {
		t.Fatalf("thread after restart: %v", err)
	}
	var shown struct {
		PostCount int `json:"post_count"`
	}
	err = json.NewDecoder(resp.Body).Decode(&shown)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || shown.PostCount != len(stored) {
		t.Errorf("thread after restart: status %d, post_count %d (want %d), decode error %v", resp.StatusCode, shown.PostCount, len(stored), err)
	}
	again.stop(t)
}

// durabilityServer is a running `sitrep serve` process.
type durabilityServer struct {
	cmd    *exec.Cmd
	base   string
	log    *durabilityLog
	exited chan error // receives the exit once
}

// startDurabilityServer runs `bin serve` on db with an address the kernel
// picks, learns the address from the "listening" log line and waits until
// /readyz answers 200. The process is killed at the end of the test if it is
// still running.
func startDurabilityServer(t *testing.T, bin, db string) *durabilityServer {
	t.Helper()
	return startDurabilityServerArgs(t, bin, db)
}

// startDurabilityServerArgs is startDurabilityServer with more flags.
func startDurabilityServerArgs(t *testing.T, bin, db string, args ...string) *durabilityServer {
	t.Helper()
	log := &durabilityLog{addr: make(chan string, 1)}
	cmd := exec.Command(bin, append([]string{"serve", "-db", db, "-addr", "127.0.0.1:0", "-log-format", "json", "-shutdown-grace", "5s"}, args...)...)
	cmd.Stdout = io.Discard
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start server: %v", err)
	}
	s := &durabilityServer{cmd: cmd, log: log, exited: make(chan error, 1)}
	done := make(chan struct{})
	go func() {
		s.exited <- cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
	})

	deadline := time.After(30 * time.Second)
	select {
	case addr := <-log.addr:
		s.base = "http://" + addr
	case err := <-s.exited:
		t.Fatalf("server exited before listening: %v\nserver log:\n%s", err, log.tail())
	case <-deadline:
		t.Fatalf("no \"listening\" log line within 30 s\nserver log:\n%s", log.tail())
	}
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	for {
		resp, err := client.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case err := <-s.exited:
			t.Fatalf("server exited before it was ready: %v\nserver log:\n%s", err, log.tail())
		case <-deadline:
			t.Fatalf("/readyz not 200 within 30 s (last error %v)\nserver log:\n%s", err, log.tail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop ends the server gracefully and expects a clean exit.
func (s *durabilityServer) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatalf("interrupt server: %v", err)
	}
	select {
	case err := <-s.exited:
		if err != nil {
			t.Errorf("server exit after interrupt: %v\nserver log:\n%s", err, s.log.tail())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("server still running 30 s after interrupt")
	}
}

// durabilityLog takes the server's JSON log: it reports the address of the
// "listening" line and keeps the last lines for failure messages.
type durabilityLog struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	addr    chan string
	sent    bool
}

func (l *durabilityLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := string(l.partial[:i])
		l.partial = l.partial[i+1:]
		l.lines = append(l.lines, line)
		if len(l.lines) > 200 {
			l.lines = l.lines[len(l.lines)-100:]
		}
		var entry struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if !l.sent && json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "listening" && entry.Addr != "" {
			l.sent = true
			l.addr <- entry.Addr
		}
	}
	return len(p), nil
}

// tail returns the last lines the server logged.
func (l *durabilityLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := l.lines
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	var b strings.Builder
	for _, line := range lines {
		b.WriteString(line + "\n")
	}
	if len(l.partial) > 0 {
		b.WriteString(string(l.partial) + "\n")
	}
	return b.String()
}
