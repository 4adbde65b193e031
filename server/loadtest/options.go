package loadtest

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults, used for every Options field left at its zero value.
const (
	DefaultRate         = 10000 // reads per second, all connections together
	DefaultConnections  = 1000
	DefaultDuration     = 30 * time.Second
	DefaultMaxRequests  = 1_000_000 // per run (per step when finding the maximum)
	DefaultTimeout      = 10 * time.Second
	DefaultReplyRate    = 100 // replies per second, when tokens are given
	DefaultMaxP99       = 250 * time.Millisecond
	DefaultStepDuration = 5 * time.Second
	DefaultStepPause    = time.Second
	DefaultStartRate    = 100
	DefaultRateCeiling  = 100000
)

// DefaultMix is the share of reads, per 100, on the day of an outage:
// mostly the dashboard, then the incident and the Statuspage API that
// other sites embed, then customers' own complaint threads.
var DefaultMix = Mix{Dashboard: 60, Incident: 15, Thread: 10, Summary: 15}

// Mix weighs the four reads against each other; only the ratios matter.
type Mix struct {
	Dashboard int // GET /
	Incident  int // GET /incidents/ID, the open incident
	Thread    int // GET /threads/ID, the threads linked to it, in turn
	Summary   int // GET /api/v2/summary.json
}

func (m Mix) total() int { return m.Dashboard + m.Incident + m.Thread + m.Summary }

// String gives the mix in the form ParseMix reads.
func (m Mix) String() string {
	return fmt.Sprintf("dashboard=%d,incident=%d,thread=%d,summary=%d", m.Dashboard, m.Incident, m.Thread, m.Summary)
}

// ParseMix reads a mix written "dashboard=60,incident=15,thread=10,summary=15";
// reads left out weigh 0.
func ParseMix(s string) (Mix, error) {
	var m Mix
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if !ok || err != nil || n < 0 {
			return Mix{}, fmt.Errorf("mix: %q is not read=weight with a weight of 0 or more", part)
		}
		switch strings.TrimSpace(k) {
		case "dashboard":
			m.Dashboard = n
		case "incident":
			m.Incident = n
		case "thread":
			m.Thread = n
		case "summary":
			m.Summary = n
		default:
			return Mix{}, fmt.Errorf("mix: unknown read %q (dashboard, incident, thread, summary)", k)
		}
	}
	if m.total() == 0 {
		return Mix{}, errors.New("mix: all weights are 0")
	}
	return m, nil
}

// Options says what to send where. Zero fields take the defaults above.
type Options struct {
	// Target is the server's base URL, e.g. http://127.0.0.1:8080. It
	// must be on this machine unless AllowRemote is set.
	Target      string
	AllowRemote bool

	// Rate is the reads per second over all connections (default 10,000;
	// negative for none), sent on a fixed schedule whether or not earlier
	// ones were answered.
	Rate float64
	// Connections is how many keep-alive HTTP/1.1 connections carry the
	// requests (default 1,000), all opened before the clock starts.
	Connections int
	// Duration is how long requests are scheduled for (default 30 s).
	Duration time.Duration
	// MaxRequests caps the requests of one run whatever Rate × Duration
	// comes to (default 1,000,000).
	MaxRequests int64
	// Timeout bounds one request from when it is sent (default 10 s).
	Timeout time.Duration
	// Mix weighs the reads (default DefaultMix).
	Mix Mix

	// ReplyRate is the replies per second posted on top of the reads
	// (default 100; negative for none). Replies need Tokens.
	ReplyRate float64
	// Tokens are API tokens of customer accounts, used in turn so that no
	// account's posting limit is what gets measured.
	Tokens []string

	// Streams is how many live-update streams (GET /api/v1/stream) stay
	// open during the run (default 0). They are not counted in the rate.
	Streams int

	// FindMax, instead of one run at Rate, runs short steps at rising
	// rates and reports the highest served with no error and a p99
	// latency under MaxP99 (default 250 ms). Steps last StepDuration
	// (default 5 s) with StepPause (default 1 s) between them, start at
	// StartRate (default 100/s), double up to RateCeiling (default
	// 100,000/s), then bisect. ReplyRate stays as set at every step.
	FindMax      bool
	MaxP99       time.Duration
	StepDuration time.Duration
	StepPause    time.Duration
	StartRate    float64
	RateCeiling  float64
}

// WithDefaults returns o with every zero field set to its default.
func (o Options) WithDefaults() Options {
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.Connections == 0 {
		o.Connections = DefaultConnections
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.MaxRequests == 0 {
		o.MaxRequests = DefaultMaxRequests
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Mix == (Mix{}) {
		o.Mix = DefaultMix
	}
	if o.ReplyRate == 0 {
		o.ReplyRate = DefaultReplyRate
	}
	if o.MaxP99 == 0 {
		o.MaxP99 = DefaultMaxP99
	}
	if o.StepDuration == 0 {
		o.StepDuration = DefaultStepDuration
	}
	if o.StepPause == 0 {
		o.StepPause = DefaultStepPause
	}
	if o.StartRate == 0 {
		o.StartRate = DefaultStartRate
	}
	if o.RateCeiling == 0 {
		o.RateCeiling = DefaultRateCeiling
	}
	return o
}

// check refuses options that cannot be run; o has its defaults.
func (o Options) check() (*url.URL, error) {
	u, err := url.Parse(o.Target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("target %q is not an http:// or https:// URL", o.Target)
	}
	switch {
	case o.Rate < 0 && o.ReplyRate < 0 && o.Streams == 0:
		return nil, errors.New("nothing to send: no reads, no replies, no streams")
	case o.Connections < 0:
		return nil, errors.New("connections must be positive")
	case o.Duration < 0 || o.Timeout < 0 || o.StepDuration < 0 || o.StepPause < 0:
		return nil, errors.New("durations must be positive")
	case o.MaxRequests < 0:
		return nil, errors.New("the request cap must be positive")
	case o.Mix.Dashboard < 0 || o.Mix.Incident < 0 || o.Mix.Thread < 0 || o.Mix.Summary < 0:
		return nil, errors.New("mix weights must be 0 or more")
	case o.Streams < 0:
		return nil, errors.New("streams must be 0 or more")
	case o.FindMax && (o.StartRate < 0 || o.RateCeiling < o.StartRate):
		return nil, errors.New("the rate ceiling must be at least the start rate")
	}
	return u, nil
}
