package loadtest

import (
	"bytes"
	"context"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func run(t *testing.T, o Options) *Report {
	t.Helper()
	var progress bytes.Buffer
	rep, err := Run(context.Background(), o, &progress)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	var out bytes.Buffer
	rep.Print(&out)
	t.Logf("progress:\n%s\nreport:\n%s", progress.String(), out.String())
	return rep
}

func TestMixProportions(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	o := f.opts()
	o.Rate, o.Duration = 1000, time.Second
	o.Mix = Mix{Dashboard: 50, Incident: 20, Thread: 20, Summary: 10}
	rep := run(t, o)
	if rep.Scheduled != 1000 || rep.Sent != 1000 || rep.Total.Requests != 1000 || rep.Total.OK != 1000 {
		t.Fatalf("scheduled %d, sent %d, requests %d, 2xx %d; want 1000 of each", rep.Scheduled, rep.Sent, rep.Total.Requests, rep.Total.OK)
	}
	want := map[string]float64{"dashboard": 0.5, "incident": 0.2, "thread": 0.2, "summary": 0.1}
	for name, share := range want {
		got := float64(routeOf(rep, name).Requests) / 1000
		if math.Abs(got-share) > 0.02 {
			t.Errorf("%s: %.3f of requests, want %.2f", name, got, share)
		}
	}
	// What the server saw agrees, and thread reads go to every linked thread.
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hits["/"] != int(routeOf(rep, "dashboard").Requests) || f.hits["/incidents/7"] != int(routeOf(rep, "incident").Requests) ||
		f.hits["/api/v2/summary.json"] != int(routeOf(rep, "summary").Requests) {
		t.Errorf("server saw %v, report says %+v", f.hits, rep.Routes)
	}
	if a, b := f.hits["/threads/71"], f.hits["/threads/72"]; a+b != int(routeOf(rep, "thread").Requests) || a-b > 1 || b-a > 1 {
		t.Errorf("thread reads split %d/%d over the two linked threads", a, b)
	}
	if f.hits["/threads/70"] != 0 {
		t.Errorf("the incident's own thread was read as a complaint thread")
	}
}

func TestDefaultMixProportions(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	o := f.opts()
	o.Rate, o.Duration = 800, 500*time.Millisecond
	rep := run(t, o)
	n := float64(rep.Total.Requests)
	for name, share := range map[string]float64{"dashboard": 0.6, "incident": 0.15, "thread": 0.10, "summary": 0.15} {
		if got := float64(routeOf(rep, name).Requests) / n; math.Abs(got-share) > 0.02 {
			t.Errorf("%s: %.3f of requests, want %.2f", name, got, share)
		}
	}
}

func TestUsesExactlyTheConnectionsAsked(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	o := f.opts()
	o.Connections = 8
	rep := run(t, o)
	f.mu.Lock()
	defer f.mu.Unlock()
	remotes, discovery := len(f.remotes), len(f.discovery)
	for r := range f.discovery {
		if f.remotes[r] {
			t.Errorf("discovery's connection carried load")
		}
	}
	if remotes != 8 {
		t.Errorf("requests came over %d connections, want all 8", remotes)
	}
	for r := range f.remotes {
		if f.warm[r] != 1 {
			t.Errorf("connection %s was warmed %d times, want once before the clock", r, f.warm[r])
		}
	}
	if got := f.newConns.Load(); got != int64(8+discovery) {
		t.Errorf("server saw %d connections, want 8 and %d for discovery", got, discovery)
	}
	if rep.ConnsOpened != 8 || rep.ConnsUsed != 8 || rep.PeakOpen != 8 {
		t.Errorf("report: %d opened, %d used, %d at most open; want 8 each", rep.ConnsOpened, rep.ConnsUsed, rep.PeakOpen)
	}
}

func TestShedIsNotAnError(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.page = func(w http.ResponseWriter, r *http.Request, n int64) bool {
		switch {
		case r.URL.Path == "/api/v2/summary.json": // shed on purpose
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(http.StatusServiceUnavailable)
		case strings.HasPrefix(r.URL.Path, "/incidents/"): // 503 that says nothing
			w.WriteHeader(http.StatusServiceUnavailable)
		case r.URL.Path == "/threads/71": // a crash
			w.WriteHeader(http.StatusInternalServerError)
		case r.URL.Path == "/threads/72": // the connection dies mid-answer
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte("partial"))
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
		default:
			return false
		}
		return true
	}
	rep := run(t, f.opts())
	d, inc, th, sum := routeOf(rep, "dashboard"), routeOf(rep, "incident"), routeOf(rep, "thread"), routeOf(rep, "summary")
	if d.Requests == 0 || d.OK != d.Requests || d.Errors != 0 || d.Shed != 0 {
		t.Errorf("dashboard: %+v, want all 2xx", d)
	}
	if sum.Requests == 0 || sum.Shed != sum.Requests || sum.Errors != 0 {
		t.Errorf("summary: %+v, want all shed", sum)
	}
	if inc.Requests == 0 || inc.Errors != inc.Requests || inc.Shed != 0 || inc.ErrorKinds["HTTP 503 without Retry-After"] != inc.Requests {
		t.Errorf("incident: %+v, want all errors (503 without Retry-After)", inc)
	}
	if th.Requests == 0 || th.Errors != th.Requests || th.ErrorKinds["HTTP 500"] == 0 || th.ErrorKinds["HTTP 500"] == th.Requests {
		t.Errorf("thread: %+v, want all errors, some HTTP 500 and some broken connections", th)
	}
	if rep.Total.Shed != sum.Shed || rep.Total.Errors != inc.Errors+th.Errors {
		t.Errorf("total %+v does not add up", rep.Total)
	}
}

func TestTimeoutsAreErrors(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.page = func(w http.ResponseWriter, r *http.Request, n int64) bool {
		select { // slow: answers after the client gave up
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
		return false
	}
	o := f.opts()
	o.Rate, o.Duration, o.Timeout = 40, 250*time.Millisecond, 100*time.Millisecond
	rep := run(t, o)
	if rep.Total.Requests != 10 || rep.Total.Errors != 10 || rep.Total.ErrorKinds["timeout"] == 0 {
		t.Errorf("total %+v: want 10 requests, all errors, timeouts among them", rep.Total)
	}
	for k := range rep.Total.ErrorKinds {
		if k != "timeout" && !strings.HasPrefix(k, "not sent") {
			t.Errorf("unexpected error kind %q", k)
		}
	}
}

func TestStopsAtTheRequestCap(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	o := f.opts()
	o.Rate, o.Duration, o.MaxRequests = 1000, 300*time.Millisecond, 50
	rep := run(t, o)
	if rep.Scheduled != 50 || rep.Sent != 50 || rep.Total.Requests != 50 || f.pages.Load() != 50 {
		t.Errorf("scheduled %d, sent %d, recorded %d, server saw %d; want 50 each", rep.Scheduled, rep.Sent, rep.Total.Requests, f.pages.Load())
	}
}

// The heart of open loop: the server stalls the first two requests, which
// hold both connections for 300 ms; every request due meanwhile waits, and
// its latency says so, although the server answers it at once. A closed-
// loop tool would report only the two stalled requests as slow, and p99
// of 200 requests would be fast.
func TestLatencyCountsFromDueTime(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.page = func(w http.ResponseWriter, r *http.Request, n int64) bool {
		if n <= 2 {
			time.Sleep(300 * time.Millisecond)
		}
		return false
	}
	o := f.opts()
	o.Connections, o.Rate, o.Duration = 2, 200, time.Second
	o.Mix = Mix{Dashboard: 1}
	rep := run(t, o)
	d := routeOf(rep, "dashboard")
	if d.Requests != 200 || d.OK != 200 {
		t.Fatalf("dashboard: %+v, want 200 answered", d)
	}
	if d.Max < 250*time.Millisecond {
		t.Errorf("max latency %s, want at least 250ms", d.Max)
	}
	// p99 of 200 is the third slowest: only two requests were slow on the
	// server, so it is slow only if waiting for a connection counted.
	if d.P99 < 250*time.Millisecond {
		t.Errorf("p99 %s: the wait of requests due during the stall was not counted", d.P99)
	}
}

func TestRepliesAreUniqueAndAcknowledged(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.postStatus = func(n int64) int {
		if n%4 == 0 {
			return http.StatusServiceUnavailable
		}
		return 0
	}
	o := f.opts()
	o.Rate, o.ReplyRate, o.Duration = 50, 100, time.Second
	o.Tokens = []string{"tok-a", "tok-b", "tok-c"}
	rep := run(t, o)
	r := routeOf(rep, "reply")
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Requests != 100 || f.posts != 100 {
		t.Fatalf("reply route %+v, server took %d posts; want 100", r, f.posts)
	}
	if r.OK != int64(len(f.created)) || r.Shed != int64(f.shed) || r.Errors != 0 {
		t.Errorf("reply route %+v; server created %d and shed %d", r, len(f.created), f.shed)
	}
	if !slices.Equal(rep.Acknowledged, f.created) {
		t.Errorf("acknowledged %v, server created %v", rep.Acknowledged, f.created)
	}
	if len(f.bodies) != len(f.created) || len(f.keys) != len(f.created) {
		t.Errorf("%d bodies and %d keys for %d replies: not unique", len(f.bodies), len(f.keys), len(f.created))
	}
	for _, tok := range o.Tokens {
		if n := f.tokens[tok]; n < 20 {
			t.Errorf("token %s posted %d of %d replies: not spread", tok, n, len(f.created))
		}
	}
	for _, th := range []string{"70", "71", "72"} {
		if n := f.threads[th]; n < 20 {
			t.Errorf("thread %s got %d of %d replies: not spread", th, n, len(f.created))
		}
	}
	if rep.Total.Requests != routeOf(rep, "dashboard").Requests+routeOf(rep, "incident").Requests+
		routeOf(rep, "thread").Requests+routeOf(rep, "summary").Requests+r.Requests {
		t.Errorf("total %d does not add up", rep.Total.Requests)
	}
}

func TestNoOpenIncidentUsesTheNewest(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.open = nil
	f.all = []fakeIncident{{ID: 9, ThreadID: 90}, {ID: 7, ThreadID: 70}}
	f.linked = map[int64][]int64{9: {91}}
	rep := run(t, f.opts())
	if rep.Incident != 9 || rep.IncidentOpen || rep.IncidentThread != 90 || !slices.Equal(rep.LinkedThreads, []int64{91}) {
		t.Errorf("found incident %d (open %v), thread %d, linked %v; want the newest, 9", rep.Incident, rep.IncidentOpen, rep.IncidentThread, rep.LinkedThreads)
	}
	if !hasNote(rep, "no open incident") {
		t.Errorf("notes %q do not say there was no open incident", rep.Notes)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hits["/incidents/9"] == 0 || f.hits["/threads/91"] == 0 {
		t.Errorf("server saw %v", f.hits)
	}
}

func TestNoIncidentReadsOnlyDashboardAndSummary(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.open, f.all = nil, nil
	o := f.opts()
	o.ReplyRate, o.Tokens = 50, []string{"tok"}
	rep := run(t, o)
	if rep.Incident != 0 || !hasNote(rep, "no incident") {
		t.Errorf("incident %d, notes %q", rep.Incident, rep.Notes)
	}
	d, s := routeOf(rep, "dashboard"), routeOf(rep, "summary")
	if d.Requests+s.Requests != rep.Total.Requests || rep.Total.Requests != 200 {
		t.Errorf("%d requests in all, %d dashboard, %d summary; want 200, only those two", rep.Total.Requests, d.Requests, s.Requests)
	}
	// The mix keeps their ratio, 60:15.
	if d.Requests != 160 || s.Requests != 40 {
		t.Errorf("dashboard %d, summary %d; want 160 and 40", d.Requests, s.Requests)
	}
	if f.posts != 0 {
		t.Errorf("%d replies posted with no thread to post to", f.posts)
	}
}

// Scheduled maintenance is open too, and newer; the outage is what is
// loaded.
func TestDiscoveryPrefersAnIncidentToMaintenance(t *testing.T) {
	f := newFake(t)
	f.open = []fakeIncident{{ID: 3, ThreadID: 30, Kind: "maintenance"}, {ID: 7, ThreadID: 70, Kind: "incident"}}
	got, notes, err := discover(context.Background(), f.srv.Client(), f.srv.URL)
	if err != nil || got.incident != 7 || !got.incidentOpen || got.incidentThread != 70 || !slices.Equal(got.linked, []int64{71, 72}) {
		t.Errorf("found %+v, %v; want incident 7 with threads 71 and 72", got, err)
	}
	if len(notes) != 0 {
		t.Errorf("notes %q", notes)
	}
	f.srv.Close()
	if _, _, err := discover(context.Background(), f.srv.Client(), f.srv.URL); err == nil {
		t.Errorf("a server that does not answer was taken for one with no incident")
	}
}

func hasNote(rep *Report, s string) bool {
	return slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, s) })
}

func TestRefusesRemoteTargets(t *testing.T) {
	for _, target := range []string{"http://192.0.2.10:8080", "http://[2001:db8::1]/", "https://198.51.100.7"} {
		rep, err := Run(context.Background(), Options{Target: target, Duration: time.Second}, nil)
		if err == nil || rep != nil || !strings.Contains(err.Error(), "not on this machine") {
			t.Errorf("%s: report %v, error %v; want refused", target, rep, err)
		}
	}
	for _, target := range []string{"ftp://127.0.0.1/", "127.0.0.1:80", ""} {
		if _, err := Run(context.Background(), Options{Target: target}, nil); err == nil {
			t.Errorf("%q accepted as a target", target)
		}
	}
}

func TestLocalAddresses(t *testing.T) {
	ctx := context.Background()
	local := []string{"127.0.0.1", "127.3.2.1", "::1", "localhost", "0.0.0.0"}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() {
				local = append(local, n.IP.String())
			}
		}
	}
	for _, h := range local {
		if _, err := localIP(ctx, h); err != nil {
			t.Errorf("%s refused: %v", h, err)
		}
	}
	for _, h := range []string{"192.0.2.1", "10.255.255.254", "8.8.8.8", "2001:db8::2"} {
		if _, err := localIP(ctx, h); err == nil {
			t.Errorf("%s taken for this machine", h)
		}
	}
}

func TestFindsTheServerProcess(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	rep := run(t, f.opts())
	s := rep.Server
	if s == nil {
		t.Fatalf("server not found: %s", rep.ServerNote)
	}
	if s.PID != os.Getpid() || !s.SameProcess || s.PeakRSS <= 0 || s.Samples < 2 {
		t.Errorf("server stats %+v; want this process (%d), a peak RSS, several samples", s, os.Getpid())
	}
}

func TestStreams(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.stream = func(w http.ResponseWriter, r *http.Request, n int64) {
		if n == 1 {
			http.Error(w, "not yet", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		// Three events (one a comment, one spread over two data lines),
		// then the server drops the stream and asks for a quick retry.
		w.Write([]byte("retry: 20\n\n: keep-alive\n\nevent: post\ndata: {\"id\":1}\n\ndata: a\ndata: b\n\nid: 3\ndata: c\n\n"))
		http.NewResponseController(w).Flush()
		if n%2 == 0 {
			<-r.Context().Done() // stays open to the end
		}
	}
	o := f.opts()
	o.Streams = 3
	rep := run(t, o)
	s := routeOf(rep, "stream")
	if s.Requests < 3 || s.Errors < 1 || s.ErrorKinds["HTTP 500"] != 1 {
		t.Errorf("stream route %+v: want at least 3 connections, the first one failed", s)
	}
	if rep.StreamEvents < 3*3 || rep.StreamEvents%3 != 0 {
		t.Errorf("%d events; want 3 for each stream answered", rep.StreamEvents)
	}
	if rep.StreamDrops < 1 {
		t.Errorf("no dropped stream counted")
	}
	if rep.Total.Requests != rep.Scheduled || rep.Total.Requests != 200 {
		t.Errorf("%d requests, %d scheduled: streams must not count as requests", rep.Total.Requests, rep.Scheduled)
	}
}

// The search must end and name a rate. The fake server refuses every
// request past the 30th of a burst (a burst ends after 120 ms without
// requests, as between steps), so 200/s for 100 ms passes and 400/s fails.
// It runs before the parallel tests, alone.
func TestFindMaxTerminates(t *testing.T) {
	f := newFake(t)
	var mu = make(chan struct{}, 1)
	var last time.Time
	var burst int
	f.page = func(w http.ResponseWriter, r *http.Request, n int64) bool {
		mu <- struct{}{}
		if time.Since(last) > 120*time.Millisecond {
			burst = 0
		}
		last = time.Now()
		burst++
		over := burst > 30
		<-mu
		if over {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	}
	o := f.opts()
	o.FindMax = true
	o.Mix = Mix{Summary: 1}
	o.StartRate, o.RateCeiling = 50, 3200
	o.StepDuration, o.StepPause, o.MaxP99 = 100*time.Millisecond, 250*time.Millisecond, 2*time.Second
	rep := run(t, o)
	if len(rep.Steps) < 2 || len(rep.Steps) >= 30 {
		t.Fatalf("%d steps", len(rep.Steps))
	}
	if rep.MaxRate <= 0 {
		t.Fatalf("no rate reported: steps %+v", rep.Steps)
	}
	failedAbove := false
	for _, s := range rep.Steps {
		if s.Passed && s.Rate > rep.MaxRate {
			t.Errorf("step at %v passed, above the reported maximum %v", s.Rate, rep.MaxRate)
		}
		if !s.Passed && s.Rate > rep.MaxRate {
			failedAbove = true
		}
	}
	if !failedAbove {
		t.Errorf("no step failed above %v: steps %+v", rep.MaxRate, rep.Steps)
	}
	if rep.Rate != rep.MaxRate || routeOf(rep, "summary").Shed != 0 {
		t.Errorf("report shows the step at %v, want the best one, %v", rep.Rate, rep.MaxRate)
	}
}

func TestCancelStopsTheRun(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	o := f.opts()
	o.Duration = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for f.pages.Load() < 50 {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	rep, err := Run(ctx, o, nil)
	if err != context.Canceled || rep == nil {
		t.Fatalf("report %v, error %v; want the report so far and context.Canceled", rep, err)
	}
	if rep.Total.Requests < 50 || rep.Total.Requests > rep.Scheduled || rep.Scheduled >= 400*3600 {
		t.Errorf("%d requests of %d scheduled", rep.Total.Requests, rep.Scheduled)
	}
	for k, n := range rep.Total.ErrorKinds {
		if n > int64(o.Connections) {
			t.Errorf("%d errors %q: requests not yet due were counted", n, k)
		}
	}
}
