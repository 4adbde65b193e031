package loadtest

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RouteStats is one row of the report. Latencies count from each
// request's due time to the last byte of its answer (for streams, to the
// answer's headers), whatever the answer was.
type RouteStats struct {
	Route    string // dashboard, incident, thread, summary, reply, stream
	Requests int64
	OK       int64 // answered 2xx
	Shed     int64 // answered 503 with Retry-After: refused on purpose
	Errors   int64 // any other status, transport errors, timeouts, never sent
	P50      time.Duration
	P99      time.Duration
	Max      time.Duration
	// ErrorKinds counts Errors by kind, e.g. "HTTP 500", "timeout".
	ErrorKinds map[string]int64
}

// Step is one short run of the search for the maximum rate.
type Step struct {
	Rate     float64 // reads per second asked for
	Requests int64
	OK       int64
	Shed     int64
	Errors   int64
	P99      time.Duration // over all routes
	Passed   bool          // no error, nothing shed, p99 within MaxP99
}

// Report is what a run measured. For a search of the maximum rate, the
// routes and rates are those of the fastest step that passed (or of the
// last step, if none did).
type Report struct {
	Target  string
	FindMax bool

	// What was found on the target.
	Incident       int64 // 0: none, only the dashboard and summary were read
	IncidentOpen   bool  // false: the newest incident, none being open
	IncidentThread int64
	LinkedThreads  []int64

	// The schedule: reads and replies per second, for how long.
	Rate, ReplyRate float64
	Duration        time.Duration
	Scheduled       int64 // requests due within Duration (and the cap)
	Sent            int64 // of those, handed to a connection
	Elapsed         time.Duration
	SentRate        float64 // requests sent per second of the schedule
	OKRate          float64 // 2xx answers per second, from start to last answer

	Routes []RouteStats // the reads, reply, and stream when streams were asked for
	Total  RouteStats   // reads and replies; streams are not requests per second

	// Connections: how many were asked for, how many TCP connections were
	// dialled (more than asked means the server closed some), the most
	// open at once, and how many carried at least one request.
	Connections int
	ConnsOpened int64
	PeakOpen    int64
	ConnsUsed   int64

	Streams      int
	StreamEvents int64 // server-sent events received
	StreamDrops  int64 // streams that ended before the run did

	// Acknowledged are the ids of the replies answered 201, sorted: every
	// one of them must exist on the target afterwards.
	Acknowledged []int64

	Steps   []Step  // FindMax only
	MaxRate float64 // FindMax only: the highest rate that passed; 0 if none

	Server     *ServerStats // nil when the process was not found
	ServerNote string       // why not
	LoadCPU    time.Duration
	Wall       time.Duration
	Notes      []string
}

func (r *routeRec) stats(rt route) RouteStats {
	s := RouteStats{
		Route: routeNames[rt], Requests: r.requests.Load(), OK: r.ok.Load(), Shed: r.shed.Load(), Errors: r.errors.Load(),
		P50: r.lat.percentile(50), P99: r.lat.percentile(99), Max: r.lat.maxValue(),
	}
	r.mu.Lock()
	s.ErrorKinds = maps.Clone(r.kinds)
	r.mu.Unlock()
	return s
}

// total sums the reads and replies, latencies included.
func (rec *recorder) total() RouteStats {
	var h histogram
	t := RouteStats{Route: "total", ErrorKinds: map[string]int64{}}
	for rt := range rStream {
		r := &rec.routes[rt]
		t.Requests += r.requests.Load()
		t.OK += r.ok.Load()
		t.Shed += r.shed.Load()
		t.Errors += r.errors.Load()
		h.merge(&r.lat)
		r.mu.Lock()
		for k, v := range r.kinds {
			t.ErrorKinds[k] += v
		}
		r.mu.Unlock()
	}
	t.P50, t.P99, t.Max = h.percentile(50), h.percentile(99), h.maxValue()
	return t
}

func stepOf(rec *recorder, info stepInfo) Step {
	t := rec.total()
	return Step{Rate: info.rate, Requests: t.Requests, OK: t.OK, Shed: t.Shed, Errors: t.Errors, P99: t.P99}
}

func (rep *Report) fill(rec *recorder, info stepInfo) {
	rep.Rate, rep.ReplyRate, rep.Duration = info.rate, info.replyRate, info.duration
	rep.Scheduled, rep.Sent, rep.Elapsed = info.scheduled, info.sent, info.elapsed
	rep.Routes = nil
	for rt := range rStream {
		rep.Routes = append(rep.Routes, rec.routes[rt].stats(rt))
	}
	rep.Total = rec.total()
	if info.duration > 0 {
		rep.SentRate = float64(info.sent) / info.duration.Seconds()
	}
	if info.elapsed > 0 {
		rep.OKRate = float64(rep.Total.OK) / info.elapsed.Seconds()
	}
	rep.ConnsUsed = rec.connsUsed.Load()
}

// Print writes the report as a table with its notes.
func (rep *Report) Print(w io.Writer) error {
	var b strings.Builder
	mode := "open loop"
	if rep.FindMax {
		mode = "search for the maximum rate"
	}
	fmt.Fprintf(&b, "target %s, %s, %d connections\n", rep.Target, mode, rep.Connections)
	switch {
	case rep.Incident == 0:
		b.WriteString("found: no incident\n")
	default:
		which := "open"
		if !rep.IncidentOpen {
			which = "newest, none open"
		}
		fmt.Fprintf(&b, "found: incident %d (%s), its thread %d, %d linked threads\n", rep.Incident, which, rep.IncidentThread, len(rep.LinkedThreads))
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	if rep.FindMax {
		b.WriteString("\nstep    reads/s   requests        2xx     503+RA     errors        p99  result\n")
		for i, s := range rep.Steps {
			fmt.Fprintf(&b, "%4d %10s %10d %10d %10d %10d %10s  %s\n", i+1, rate(s.Rate), s.Requests, s.OK, s.Shed, s.Errors, fmtDur(s.P99), passWord(s.Passed))
		}
		if rep.MaxRate > 0 {
			fmt.Fprintf(&b, "highest rate served with no error and p99 within bound: %s reads/s\n", rate(rep.MaxRate))
		} else {
			b.WriteString("no rate tried was served with no error and p99 within bound\n")
		}
		b.WriteString("\nthe step shown below:\n")
	}
	fmt.Fprintf(&b, "\nschedule: %s reads/s + %s replies/s for %s: %d requests due, %d sent\n",
		rate(rep.Rate), rate(rep.ReplyRate), rep.Duration, rep.Scheduled, rep.Sent)
	b.WriteString("\nroute       requests        2xx     503+RA     errors        p50        p99        max\n")
	row := func(s RouteStats) {
		fmt.Fprintf(&b, "%-9s %10d %10d %10d %10d %10s %10s %10s\n", s.Route, s.Requests, s.OK, s.Shed, s.Errors, fmtDur(s.P50), fmtDur(s.P99), fmtDur(s.Max))
	}
	for _, s := range rep.Routes {
		if s.Route != "stream" {
			row(s)
		}
	}
	row(rep.Total)
	for _, s := range rep.Routes {
		if s.Route == "stream" {
			row(s)
		}
	}
	b.WriteString("(latency counts from each request's due time, so time spent waiting for a connection is in it)\n")
	fmt.Fprintf(&b, "\nachieved: %s requests/s sent, %s answered 2xx/s over %s (%s/s scheduled)\n",
		rate(rep.SentRate), rate(rep.OKRate), rep.Elapsed.Round(time.Millisecond), rate(rep.Rate+rep.ReplyRate))
	fmt.Fprintf(&b, "connections: %d asked, %d opened, %d carried requests, at most %d open at once\n",
		rep.Connections, rep.ConnsOpened, rep.ConnsUsed, rep.PeakOpen)
	if rep.Streams > 0 {
		fmt.Fprintf(&b, "streams: %d asked, %d events received, %d dropped by the server\n", rep.Streams, rep.StreamEvents, rep.StreamDrops)
	}
	if rep.ReplyRate > 0 || len(rep.Acknowledged) > 0 {
		fmt.Fprintf(&b, "replies acknowledged (201): %d\n", len(rep.Acknowledged))
	}
	for _, s := range append(slices.Clone(rep.Routes), rep.Total) {
		if s.Route == "total" || len(s.ErrorKinds) == 0 {
			continue
		}
		kinds := slices.Sorted(maps.Keys(s.ErrorKinds))
		parts := make([]string, len(kinds))
		for i, k := range kinds {
			parts[i] = strconv.FormatInt(s.ErrorKinds[k], 10) + " " + k
		}
		fmt.Fprintf(&b, "errors, %s: %s\n", s.Route, strings.Join(parts, ", "))
	}
	if s := rep.Server; s != nil {
		cores := 0.0
		if s.Wall > 0 {
			cores = s.CPU.Seconds() / s.Wall.Seconds()
		}
		fmt.Fprintf(&b, "\nserver: pid %d (%s), peak RSS %s, CPU %.2f s over %s (%.2f cores), %d samples\n",
			s.PID, s.Command, mib(s.PeakRSS), s.CPU.Seconds(), s.Wall.Round(time.Millisecond), cores, s.Samples)
		if s.SameProcess {
			b.WriteString("(the server runs in this process: its CPU includes the load tool's)\n")
		}
	} else {
		b.WriteString("\n" + rep.ServerNote + "\n")
	}
	cores := 0.0
	if rep.Wall > 0 {
		cores = rep.LoadCPU.Seconds() / rep.Wall.Seconds()
	}
	fmt.Fprintf(&b, "load tool: CPU %.2f s over %s (%.2f cores)\n", rep.LoadCPU.Seconds(), rep.Wall.Round(time.Millisecond), cores)
	_, err := io.WriteString(w, b.String())
	return err
}

// rate prints a rate without spurious decimals.
func rate(r float64) string {
	if r >= 100 || r == float64(int64(r)) {
		return strconv.FormatFloat(r, 'f', 0, 64)
	}
	return strconv.FormatFloat(r, 'f', 1, 64)
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
