package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// streams are long-lived GET /api/v1/stream connections, as open browser
// tabs keep them. They cost the server connections and fan-out, not
// requests per second, so they are counted apart: each connection attempt
// is a "stream" request timed from when it was due to its answer's
// headers, and every server-sent event received is counted.
type streams struct {
	rec    *recorder
	tr     *http.Transport
	cancel context.CancelFunc
	wg     sync.WaitGroup
	drops  atomic.Int64 // streams that ended while the run went on
}

// streamRetry is how long a dropped stream waits before reconnecting when
// the server named no retry: time, about what browsers wait.
const streamRetry = time.Second

func startStreams(rec *recorder, n int, window time.Duration, base string, threads []int64, dial func(context.Context, string, string) (net.Conn, error), tlsConf *tls.Config) *streams {
	ctx, cancel := context.WithCancel(rec.ctx)
	s := &streams{
		rec:    rec,
		cancel: cancel,
		tr: &http.Transport{
			Proxy: nil, DialContext: dial, TLSClientConfig: tlsConf,
			TLSNextProto:       map[string]func(string, *tls.Conn) http.RoundTripper{},
			DisableCompression: true,
		},
	}
	// Spread the first connections over the window, as tabs do not all
	// open in the same millisecond.
	stagger := window / time.Duration(n)
	for i := range n {
		url := base + "/api/v1/stream?thread=" + strconv.FormatInt(threads[i%len(threads)], 10)
		s.wg.Add(1)
		go s.run(ctx, url, time.Duration(i)*stagger)
	}
	return s
}

func (s *streams) stop() {
	s.cancel()
	s.wg.Wait()
	s.tr.CloseIdleConnections()
}

// run keeps one stream open, reconnecting after failures, until ctx ends.
func (s *streams) run(ctx context.Context, url string, due time.Duration) {
	defer s.wg.Done()
	rec := s.rec
	br := bufio.NewReaderSize(nil, 4096)
	retry := streamRetry
	for {
		if wait := due - time.Since(rec.start); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Header = http.Header{"Accept": {"text/event-stream"}, "Cache-Control": {"no-cache"}, "User-Agent": {userAgent}}
		resp, err := s.tr.RoundTrip(req)
		if ctx.Err() != nil {
			if err == nil {
				resp.Body.Close()
			}
			return
		}
		if err != nil {
			rec.failed(rStream, due, kindOf(err, rec))
			due = time.Since(rec.start) + retry
			continue
		}
		rec.answered(rStream, due, resp.StatusCode, resp.Header.Get("Retry-After") != "")
		if resp.StatusCode != http.StatusOK {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			due = time.Since(rec.start) + retry
			continue
		}
		br.Reset(resp.Body)
		retry = s.read(br, retry)
		resp.Body.Close()
		if ctx.Err() != nil {
			return
		}
		s.drops.Add(1)
		due = time.Since(rec.start) + retry
	}
}

// read counts events until the stream ends and returns the retry delay
// the server asked for, if any. An event is the lines up to a blank line,
// dispatched only if one of them was a data: line.
func (s *streams) read(br *bufio.Reader, retry time.Duration) time.Duration {
	hasData, midLine := false, false
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer: its start says what it is,
			// the rest is skipped.
			if !midLine && bytes.HasPrefix(line, []byte("data:")) {
				hasData = true
			}
			midLine = true
			continue
		}
		if err != nil {
			return retry
		}
		if midLine {
			midLine = false
			continue
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if hasData {
				s.rec.events.Add(1)
			}
			hasData = false
		case bytes.HasPrefix(line, []byte("data:")) || bytes.Equal(line, []byte("data")):
			hasData = true
		case bytes.HasPrefix(line, []byte("retry:")):
			if ms, err := strconv.Atoi(string(bytes.TrimSpace(line[len("retry:"):]))); err == nil && ms >= 0 {
				retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
}
