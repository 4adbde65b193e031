package loadtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
)

// plan is what a run sends, fixed before the clock starts: which read
// comes k-th, the request templates, and where replies go.
type plan struct {
	cycle []route                // one period of the read mix, interleaved
	reads [rSummary + 1][][]byte // prebuilt GETs per read route
	next  [rSummary + 1]int      // which of a route's GETs is next

	replyTargets []string
	tokens       []string
	runID        string // makes reply bodies and keys unique across runs
	replies      int64  // replies built so far, over every step
}

// mixCycle interleaves the routes by smooth weighted round robin, so any
// stretch of the schedule, not only the whole run, holds the mix: 60/15/
// 10/15 becomes a period of 20 with no run of one route longer than needed.
func mixCycle(m Mix) []route {
	w := [4]int{m.Dashboard, m.Incident, m.Thread, m.Summary}
	g := 0
	for _, x := range w {
		g = gcd(g, x)
	}
	if g == 0 {
		return nil
	}
	total := 0
	for i := range w {
		w[i] /= g
		total += w[i]
	}
	out := make([]route, 0, total)
	var cur [4]int
	for range total {
		best := -1
		for i := range w {
			if w[i] == 0 {
				continue
			}
			cur[i] += w[i]
			if best < 0 || cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= total
		out = append(out, route(best))
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// newPlan fits the mix to what the target has: no incident means no
// incident or thread reads, no linked thread no thread reads.
func newPlan(o Options, host, prefix string, t targets) (*plan, []string, error) {
	var notes []string
	m := o.Mix
	if t.incident == 0 {
		m.Incident, m.Thread = 0, 0
	}
	if len(t.linked) == 0 {
		m.Thread = 0
	}
	p := &plan{cycle: mixCycle(m), tokens: o.Tokens}
	if len(p.cycle) == 0 && (o.Rate > 0 || o.FindMax) {
		return nil, nil, errNothingToRead
	}
	get := func(path, accept string) []byte { return getRequest(host, prefix+path, accept, userAgent) }
	p.reads[rDashboard] = [][]byte{get("/", "text/html")}
	p.reads[rSummary] = [][]byte{get("/api/v2/summary.json", "application/json")}
	if t.incident != 0 {
		p.reads[rIncident] = [][]byte{get("/incidents/"+strconv.FormatInt(t.incident, 10), "text/html")}
	}
	for _, id := range t.linked {
		p.reads[rThread] = append(p.reads[rThread], get("/threads/"+strconv.FormatInt(id, 10), "text/html"))
	}
	for _, id := range t.replyThreads() {
		p.replyTargets = append(p.replyTargets, prefix+"/api/v1/threads/"+strconv.FormatInt(id, 10)+"/posts")
	}
	if o.ReplyRate > 0 {
		switch {
		case len(o.Tokens) == 0:
			notes = append(notes, "no API tokens given: posting no replies")
		case len(p.replyTargets) == 0:
			notes = append(notes, "no thread to reply to: posting no replies")
		}
	}
	var b [6]byte
	rand.Read(b[:])
	p.runID = hex.EncodeToString(b[:])
	return p, notes, nil
}

func (p *plan) canReply() bool { return len(p.tokens) > 0 && len(p.replyTargets) > 0 }

// read is the k-th read's route and request.
func (p *plan) read(k int64) (route, []byte) {
	r := p.cycle[k%int64(len(p.cycle))]
	ts := p.reads[r]
	i := p.next[r]
	p.next[r] = (i + 1) % len(ts)
	return r, ts[i]
}

// reply builds the next reply: tokens and threads in turn, a body and an
// Idempotency-Key that no other reply has.
func (p *plan) reply() *replyJob {
	n := p.replies
	p.replies++
	id := p.runID + "-" + strconv.FormatInt(n, 10)
	body, _ := json.Marshal(map[string]string{"body": "Still down for us too. (load test " + id + ")"})
	return &replyJob{
		target: p.replyTargets[n%int64(len(p.replyTargets))],
		token:  p.tokens[n%int64(len(p.tokens))],
		key:    "loadtest-" + id,
		body:   body,
	}
}

// dueAt is the n-th due time of a schedule at rate per second, computed
// from n rather than added up, so rounding never drifts.
func dueAt(n int64, rate float64) time.Duration {
	return time.Duration(float64(n) * float64(time.Second) / rate)
}
