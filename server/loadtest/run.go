package loadtest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var errNothingToRead = errors.New("nothing to read: the mix weighs only reads the target has no page for")

// Run loads the target as o says, writing progress (what was found, each
// step when finding the maximum) to progress, which may be nil, and
// returns the report. Once its connections are open, it stops by itself
// after o.Duration (each step after o.StepDuration) plus at most
// o.Timeout; when ctx ends it stops at once and returns what it measured
// so far with ctx's error.
func Run(ctx context.Context, o Options, progress io.Writer) (*Report, error) {
	if progress == nil {
		progress = io.Discard
	}
	o = o.WithDefaults()
	u, err := o.check()
	if err != nil {
		return nil, err
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	var notes []string
	dialAddr := net.JoinHostPort(host, port)
	local := true
	if ip, err := localIP(ctx, host); err == nil {
		dialAddr = net.JoinHostPort(ip.String(), port)
	} else if !o.AllowRemote {
		return nil, err
	} else {
		local = false
		notes = append(notes, "target is not on this machine (allowed)")
	}
	prefix := strings.TrimRight(u.Path, "/")
	base := u.Scheme + "://" + u.Host + prefix
	tlsConf := &tls.Config{ServerName: host}

	dialer := &net.Dialer{Timeout: o.Timeout}
	pinned := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, "tcp", dialAddr)
	}
	side := &http.Transport{Proxy: nil, DialContext: pinned, TLSClientConfig: tlsConf, ForceAttemptHTTP2: false}
	defer side.CloseIdleConnections()
	t, found, err := discover(ctx, &http.Client{Transport: side, Timeout: o.Timeout}, base)
	if err != nil {
		return nil, err
	}
	notes = append(notes, found...)
	pl, more, err := newPlan(o, u.Host, prefix, t)
	if err != nil {
		return nil, err
	}
	notes = append(notes, more...)
	if o.Streams > 0 && len(t.replyThreads()) == 0 {
		notes = append(notes, "no thread to stream: opening no streams")
	}
	for _, n := range notes {
		fmt.Fprintln(progress, "note:", n)
	}

	rep := &Report{
		Target: base, FindMax: o.FindMax, Connections: o.Connections, Streams: o.Streams,
		Incident: t.incident, IncidentOpen: t.incidentOpen, IncidentThread: t.incidentThread, LinkedThreads: t.linked,
	}

	// The server's process, watched from before the connections open.
	var watch *procWatcher
	if !local {
		rep.ServerNote = "server process not found (the target is remote)"
	} else {
		pn, _ := strconv.Atoi(port)
		pid, err := findListener(pn)
		if err == nil {
			watch, err = watchProc(pid)
		}
		if err != nil {
			rep.ServerNote = "server process not found (" + err.Error() + ")"
		}
	}
	cpu0 := selfCPU()
	began := time.Now()

	fmt.Fprintf(progress, "opening %d connections to %s\n", o.Connections, dialAddr)
	poolTLS := tlsConf
	if u.Scheme == "http" {
		poolTLS = nil
	}
	p, err := newPool(ctx, o.Connections, dialAddr, u.Host, prefix, poolTLS, o.Timeout)
	if err != nil {
		if watch != nil {
			watch.stop()
		}
		return nil, err
	}

	stopAbort := context.AfterFunc(ctx, p.abort)
	defer stopAbort()

	// Streams live for the whole run, on connections of their own.
	streamRec := newRecorder(ctx, time.Now())
	var st *streams
	if ts := t.replyThreads(); o.Streams > 0 && len(ts) > 0 {
		d := o.Duration
		if o.FindMax {
			d = o.StepDuration
		}
		st = startStreams(streamRec, o.Streams, min(time.Second, d/10), base, ts, pinned, tlsConf)
	}

	var rec *recorder
	var sched stepInfo
	if o.FindMax {
		rec, sched = findMax(ctx, p, pl, o, rep, progress)
	} else {
		reads := max(o.Rate, 0)
		fmt.Fprintf(progress, "sending %s reads/s and %s replies/s for %s\n", rate(reads), rate(replyRate(o, pl)), o.Duration)
		rec, sched = p.runStep(ctx, pl, reads, replyRate(o, pl), o.Duration, o.MaxRequests)
	}
	if st != nil {
		st.stop()
	}
	p.close()
	rep.fill(rec, sched)
	if !o.FindMax {
		rep.Acknowledged = rec.acks
	}
	rep.Acknowledged = sortedIDs(rep.Acknowledged)
	rep.Notes = notes
	rep.ConnsOpened, rep.PeakOpen = p.dialed.Load(), p.peakOpen.Load()
	if o.Streams > 0 {
		s := streamRec.routes[rStream].stats(rStream)
		rep.Routes = append(rep.Routes, s)
		rep.StreamEvents = streamRec.events.Load()
		if st != nil {
			rep.StreamDrops = st.drops.Load()
		}
	}
	rep.LoadCPU = selfCPU() - cpu0
	rep.Wall = time.Since(began)
	if watch != nil {
		rep.Server = watch.stop()
	}
	return rep, ctx.Err()
}

func replyRate(o Options, pl *plan) float64 {
	if o.ReplyRate < 0 || !pl.canReply() {
		return 0
	}
	return o.ReplyRate
}

// stepInfo is what a run scheduled, beside what its recorder holds.
type stepInfo struct {
	rate, replyRate float64
	duration        time.Duration
	scheduled, sent int64
	elapsed         time.Duration // from the first due time to the last answer
}

// runStep sends one open-loop run: reads at rate and replies at replyRate,
// each on its own fixed schedule (the n-th due n/rate seconds after the
// start), merged in due order, for dur or until maxReq requests. A request
// is handed to the next free connection when due; when none is free the
// schedule waits and the requests due meanwhile go out as soon as
// connections free up, each timed from its own due time. Requests still
// unsent dur+timeout after the start are counted as errors.
func (p *pool) runStep(ctx context.Context, pl *plan, rate, replyRate float64, dur time.Duration, maxReq int64) (*recorder, stepInfo) {
	start := time.Now()
	sctx, cancel := context.WithDeadline(ctx, start.Add(dur+p.timeout))
	defer cancel()
	rec := newRecorder(sctx, start)
	rec.hardStop = start.Add(dur + p.timeout)
	info := stepInfo{rate: rate, replyRate: replyRate, duration: dur}
	if len(pl.cycle) == 0 {
		rate = 0
	}

	var k, j int64 // reads and replies scheduled so far
	// next is the earliest request not yet handed out.
	next := func(end time.Duration) (due time.Duration, isReply, ok bool) {
		rd, pd := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
		if rate > 0 {
			rd = dueAt(k, rate)
		}
		if replyRate > 0 {
			pd = dueAt(j, replyRate)
		}
		due, isReply = min(rd, pd), pd < rd
		return due, isReply, due < end && k+j < maxReq
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	cut := false
	for !cut {
		due, isReply, ok := next(dur)
		if !ok {
			break
		}
		if wait := due - time.Since(start); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-sctx.Done():
				cut = true
				continue
			}
		}
		jb := job{rec: rec, due: due}
		if isReply {
			jb.r, jb.reply = rReply, pl.reply()
		} else {
			jb.r, jb.req = pl.read(k)
		}
		rec.inflight.Add(1)
		select {
		case p.jobs <- jb:
			info.sent++
		case <-sctx.Done():
			rec.inflight.Done()
			cut = true
			continue // counted below with the rest
		}
		if isReply {
			j++
		} else {
			k++
		}
	}
	// Whatever was due but never went out: every connection stayed busy
	// to the end, and each of those visitors got nothing. (When the run is
	// cancelled, what was not yet due is not counted.)
	end := min(dur, time.Since(start))
	for {
		due, isReply, ok := next(end)
		if !ok {
			break
		}
		kind := "not sent: every connection busy to the end"
		if ctx.Err() != nil {
			kind = "not sent: run cancelled"
		}
		if isReply {
			rec.failed(rReply, due, kind)
			j++
		} else {
			rec.failed(pl.cycle[k%int64(len(pl.cycle))], due, kind)
			k++
		}
	}
	// Streams, if any, are open for the whole duration even when there is
	// nothing else to send.
	if wait := dur - time.Since(start); wait > 0 {
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-sctx.Done():
		}
	}
	rec.inflight.Wait()
	info.scheduled = k + j
	info.elapsed = time.Duration(rec.lastDone.Load())
	return rec, info
}

// findMax looks for the highest read rate served with no error, no shed
// request and a p99 under o.MaxP99: it doubles from o.StartRate until a
// step fails or the ceiling is reached, then bisects between the last
// rate that passed and the first that failed, to within 5%. Each step is
// an open-loop run of its own, timed from due times like any other.
func findMax(ctx context.Context, p *pool, pl *plan, o Options, rep *Report, progress io.Writer) (*recorder, stepInfo) {
	var best, last *recorder
	var bestInfo, lastInfo stepInfo
	lo, hi := 0.0, 0.0 // highest passed, lowest failed (0: none yet)
	r := o.StartRate
	rr := replyRate(o, pl)
steps:
	for n := 0; n < 30 && ctx.Err() == nil; n++ {
		if n > 0 {
			select {
			case <-time.After(o.StepPause): // let the server drain queues and caches settle
			case <-ctx.Done():
			}
		}
		rec, info := p.runStep(ctx, pl, r, rr, o.StepDuration, o.MaxRequests)
		s := stepOf(rec, info)
		s.Passed = s.Errors == 0 && s.Shed == 0 && s.Requests > 0 && s.P99 <= o.MaxP99 && ctx.Err() == nil
		rep.Steps = append(rep.Steps, s)
		rep.Acknowledged = append(rep.Acknowledged, rec.acks...)
		fmt.Fprintf(progress, "step %2d: %8s/s  %7d requests  %6d shed  %6d errors  p99 %8s  %s\n",
			n+1, rate(r), s.Requests, s.Shed, s.Errors, fmtDur(s.P99), passWord(s.Passed))
		last, lastInfo = rec, info
		if s.Passed {
			lo, best, bestInfo = r, rec, info
		} else {
			hi = r
		}
		switch {
		case hi == 0 && r >= o.RateCeiling:
			break steps // even the ceiling passed
		case hi == 0:
			r = min(2*r, o.RateCeiling)
		case hi-lo <= max(lo*0.05, 1):
			break steps
		default:
			r = math.Round((lo + hi) / 2)
		}
	}
	rep.MaxRate = lo
	if best != nil {
		return best, bestInfo
	}
	return last, lastInfo
}

func passWord(ok bool) string {
	if ok {
		return "ok"
	}
	return "failed"
}

// selfCPU is the user and system time this process has used: the load
// tool's own cost, to set beside the server's.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sortedIDs returns ids sorted, for a stable report.
func sortedIDs(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}
