package loadtest

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// route is one kind of request, a row of the report.
type route int

const (
	rDashboard route = iota
	rIncident
	rThread
	rSummary
	rReply
	rStream
	nRoutes
)

var routeNames = [nRoutes]string{"dashboard", "incident", "thread", "summary", "reply", "stream"}

// routeRec counts one route's outcomes. Everything is atomic: a thousand
// workers record into it at once.
type routeRec struct {
	requests atomic.Int64
	ok       atomic.Int64 // 2xx
	shed     atomic.Int64 // 503 with Retry-After
	errors   atomic.Int64 // everything else
	lat      histogram

	mu    sync.Mutex
	kinds map[string]int64 // errors by kind, e.g. "HTTP 500", "timeout"
}

func (r *routeRec) fail(kind string) {
	r.errors.Add(1)
	r.mu.Lock()
	if r.kinds == nil {
		r.kinds = map[string]int64{}
	}
	r.kinds[kind]++
	r.mu.Unlock()
}

// recorder holds the outcomes of one run at one rate.
type recorder struct {
	ctx      context.Context // ends the run's requests at the hard stop
	start    time.Time       // the schedule's zero: due times count from here
	hardStop time.Time       // no request outlives it; zero for streams

	routes    [nRoutes]routeRec
	inflight  sync.WaitGroup
	connsUsed atomic.Int64 // connections that carried at least one request
	lastDone  atomic.Int64 // ns after start of the last answer
	events    atomic.Int64 // server-sent events received

	ackMu sync.Mutex
	acks  []int64
}

func newRecorder(ctx context.Context, start time.Time) *recorder {
	return &recorder{ctx: ctx, start: start}
}

// answered records an HTTP answer, read to its end, to a request due at due.
func (rec *recorder) answered(r route, due time.Duration, status int, retryAfter bool) {
	rr := &rec.routes[r]
	rr.requests.Add(1)
	rr.lat.record(rec.since() - due)
	switch {
	case status >= 200 && status < 300:
		rr.ok.Add(1)
	case status == 503 && retryAfter:
		rr.shed.Add(1)
	default:
		rr.fail(statusKind(status))
	}
}

// failed records a request due at due that got no whole answer.
func (rec *recorder) failed(r route, due time.Duration, kind string) {
	rr := &rec.routes[r]
	rr.requests.Add(1)
	rr.lat.record(rec.since() - due)
	rr.fail(kind)
}

func (rec *recorder) since() time.Duration {
	d := time.Since(rec.start)
	for {
		l := rec.lastDone.Load()
		if int64(d) <= l || rec.lastDone.CompareAndSwap(l, int64(d)) {
			return d
		}
	}
}

func (rec *recorder) ack(id int64) {
	rec.ackMu.Lock()
	rec.acks = append(rec.acks, id)
	rec.ackMu.Unlock()
}

func statusKind(status int) string {
	if status == 503 {
		return "HTTP 503 without Retry-After"
	}
	return "HTTP " + strconv.Itoa(status)
}
