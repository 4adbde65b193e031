package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	warmAgent = userAgent + " (warm-up)" // so that logs can tell
	// warmPath is what each connection fetches once before the clock
	// starts: the Statuspage summary, cached and cheap on the server.
	warmPath = "/api/v2/summary.json"
	// readBuffer holds a whole cached page, so that an answer usually
	// takes one read.
	readBuffer = 32 << 10
)

// pool is N workers, each owning one keep-alive HTTP/1.1 connection and
// taking jobs from one channel. A job waits in the channel only when every
// worker is busy; its latency still counts from its due time, so the wait
// is measured, not hidden.
type pool struct {
	jobs    chan job
	workers []*worker
	wg      sync.WaitGroup
	addr    string      // host:port dialled, pinned when the target is local
	host    string      // the Host header
	tlsConf *tls.Config // nil for http
	timeout time.Duration
	dialer  net.Dialer

	dialed   atomic.Int64 // TCP connections opened, over the whole run
	open     atomic.Int64
	peakOpen atomic.Int64

	mu      sync.Mutex
	live    map[*countedConn]struct{}
	aborted atomic.Bool
}

// job is one scheduled request.
type job struct {
	rec   *recorder
	due   time.Duration // after rec.start
	r     route
	req   []byte    // a prebuilt GET; nil for replies
	reply *replyJob // replies only
}

type worker struct {
	p       *pool
	c       net.Conn // nil until dialled, and after the server closed it
	br      *bufio.Reader
	served  bool      // c has carried a whole answer
	lastRec *recorder // to count each connection once per run
	wbuf    []byte    // replies, reused
	buf     bytes.Buffer
}

// newPool opens n connections to addr before any request is due, each
// with one request of its own: browsers hold theirs open, having loaded
// a page, and dialling inside the schedule would measure the tool's
// handshake storm rather than the server's pages. The request matters
// too: a server drops a connection that sends nothing for its header
// timeout, while one that has been answered may idle much longer.
func newPool(ctx context.Context, n int, addr, host, prefix string, tlsConf *tls.Config, timeout time.Duration) (*pool, error) {
	p := &pool{
		jobs: make(chan job), addr: addr, host: host, tlsConf: tlsConf, timeout: timeout,
		dialer: net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second},
		live:   map[*countedConn]struct{}{},
	}
	p.workers = make([]*worker, n)
	for i := range p.workers {
		p.workers[i] = &worker{p: p}
	}
	warm := getRequest(host, prefix+warmPath, "application/json", warmAgent)
	// In parallel, but not all at once: a thousand SYNs in one burst
	// overflow small listen backlogs.
	sem := make(chan struct{}, 32)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for _, w := range p.workers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			// Any HTTP answer will do.
			if _, err := w.roundTrip(warm, nil, time.Now().Add(timeout)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		p.closeConns()
		return nil, fmt.Errorf("opening %d connections: %w", n, err)
	}
	if ctx.Err() != nil {
		p.closeConns()
		return nil, ctx.Err()
	}
	for _, w := range p.workers {
		p.wg.Add(1)
		go w.loop()
	}
	return p, nil
}

// dial opens one counted connection to the pinned address.
func (p *pool) dial(deadline time.Time) (net.Conn, error) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	c, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	p.dialed.Add(1)
	o := p.open.Add(1)
	for {
		m := p.peakOpen.Load()
		if o <= m || p.peakOpen.CompareAndSwap(m, o) {
			break
		}
	}
	cc := &countedConn{Conn: c, p: p}
	p.mu.Lock()
	p.live[cc] = struct{}{}
	p.mu.Unlock()
	if p.tlsConf == nil {
		return cc, nil
	}
	tc := tls.Client(cc, p.tlsConf)
	if err := tc.HandshakeContext(ctx); err != nil {
		tc.Close()
		return nil, err
	}
	return tc, nil
}

type countedConn struct {
	net.Conn
	p      *pool
	closed atomic.Bool
}

func (c *countedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.p.open.Add(-1)
		c.p.mu.Lock()
		delete(c.p.live, c)
		c.p.mu.Unlock()
	}
	return c.Conn.Close()
}

// abort cuts every request in flight, when the caller cancels the run.
func (p *pool) abort() {
	p.aborted.Store(true)
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.live {
		c.SetDeadline(time.Unix(1, 0))
	}
}

// close stops the workers and closes every connection.
func (p *pool) close() {
	close(p.jobs)
	p.wg.Wait()
	p.closeConns()
}

func (p *pool) closeConns() {
	for _, w := range p.workers {
		w.drop()
	}
}

func (w *worker) loop() {
	defer w.p.wg.Done()
	for j := range w.p.jobs {
		w.do(j)
		j.rec.inflight.Done()
	}
}

func (w *worker) drop() {
	if w.c != nil {
		w.c.Close()
		w.c, w.served = nil, false
	}
}

// do sends one request and records how long after its due time the last
// byte of the answer arrived.
func (w *worker) do(j job) {
	rec := j.rec
	if rec != w.lastRec {
		w.lastRec = rec
		rec.connsUsed.Add(1)
	}
	if rec.ctx.Err() != nil {
		rec.failed(j.r, j.due, kindCut)
		return
	}
	deadline := time.Now().Add(w.p.timeout)
	if deadline.After(rec.hardStop) {
		deadline = rec.hardStop
	}
	req, body := j.req, (*bytes.Buffer)(nil)
	if j.reply != nil {
		w.wbuf = appendReply(w.wbuf[:0], w.p.host, j.reply)
		req, body = w.wbuf, &w.buf
	}
	a, err := w.roundTrip(req, body, deadline)
	if err != nil {
		rec.failed(j.r, j.due, kindOf(err, rec))
		return
	}
	if j.reply != nil && a.status == 201 {
		var p struct {
			ID int64 `json:"id"`
		}
		if json.Unmarshal(w.buf.Bytes(), &p) != nil || p.ID == 0 {
			// Acknowledged, but nothing to check it by afterwards.
			rec.failed(j.r, j.due, "201 without a post id")
			return
		}
		rec.ack(p.ID)
	}
	rec.answered(j.r, j.due, a.status, a.retryAfter)
}

// roundTrip writes req and reads its answer on w's connection, dialling
// one when there is none. A request that fails on a kept-alive connection
// before any byte of the answer came is sent once more on a new one: the
// server closed the idle connection and never saw it (replies carry an
// Idempotency-Key, so even a reply that did arrive is not posted twice).
func (w *worker) roundTrip(req []byte, body *bytes.Buffer, deadline time.Time) (answer, error) {
	for attempt := 0; ; attempt++ {
		if w.c == nil {
			c, err := w.p.dial(deadline)
			if err != nil {
				return answer{}, err
			}
			w.c = c
			if w.br == nil {
				w.br = bufio.NewReaderSize(c, readBuffer)
			} else {
				w.br.Reset(c)
			}
		}
		reused := w.served
		if w.p.aborted.Load() {
			deadline = time.Unix(1, 0)
		}
		w.c.SetDeadline(deadline)
		_, err := w.c.Write(req)
		started := false
		var a answer
		if err == nil {
			if body != nil {
				body.Reset()
			}
			a, started, err = readAnswer(w.br, body)
		}
		if err != nil {
			w.drop()
			if reused && attempt == 0 && !started && !errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			return a, err
		}
		w.served = true
		if a.close {
			w.drop()
		}
		return a, nil
	}
}

const kindCut = "cut off at the end of the run"

// kindOf names a failed request's error briefly, so that a thousand
// timeouts make one line of the report, not a thousand.
func kindOf(err error, rec *recorder) string {
	switch {
	case rec.ctx.Err() != nil:
		return kindCut
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		if !rec.hardStop.IsZero() && !time.Now().Before(rec.hardStop) {
			return kindCut
		}
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed early"
	case errors.Is(err, errBadAnswer):
		return "malformed HTTP answer"
	}
	return "transport error"
}
