package loadtest

import (
	"testing"
	"time"
)

func TestMixCycle(t *testing.T) {
	c := mixCycle(DefaultMix)
	if len(c) != 20 {
		t.Fatalf("period %d, want 20 (60/15/10/15 over 5)", len(c))
	}
	var n [4]int
	for _, r := range c {
		n[r]++
	}
	if n != [4]int{12, 3, 2, 3} {
		t.Errorf("counts %v", n)
	}
	// Interleaved: no read but the dashboard runs twice in a row.
	for i := 1; i < len(c); i++ {
		if c[i] == c[i-1] && c[i] != rDashboard {
			t.Errorf("%v twice in a row in %v", c[i], c)
		}
	}
	if mixCycle(Mix{}) != nil {
		t.Errorf("empty mix has a cycle")
	}
}

func TestParseMix(t *testing.T) {
	m, err := ParseMix(DefaultMix.String())
	if err != nil || m != DefaultMix {
		t.Errorf("round trip: %v, %v", m, err)
	}
	m, err = ParseMix("dashboard=3, summary=1")
	if err != nil || m != (Mix{Dashboard: 3, Summary: 1}) {
		t.Errorf("partial mix: %v, %v", m, err)
	}
	for _, bad := range []string{"", "dashboard", "dashboard=x", "home=1", "dashboard=-1", "dashboard=0"} {
		if _, err := ParseMix(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	o := Options{}.WithDefaults()
	if o.Rate != 10000 || o.Connections != 1000 || o.Duration != 30*time.Second || o.ReplyRate != 100 ||
		o.Mix != DefaultMix || o.MaxP99 != 250*time.Millisecond || o.Streams != 0 || o.MaxRequests <= 0 {
		t.Errorf("defaults %+v", o)
	}
	o = Options{Rate: 5, ReplyRate: -1, Mix: Mix{Thread: 1}}.WithDefaults()
	if o.Rate != 5 || o.ReplyRate != -1 || o.Mix != (Mix{Thread: 1}) {
		t.Errorf("set fields overwritten: %+v", o)
	}
}

func TestCheckRefusesNonsense(t *testing.T) {
	good := Options{Target: "http://127.0.0.1:8080"}
	if _, err := good.WithDefaults().check(); err != nil {
		t.Fatalf("good options refused: %v", err)
	}
	for name, o := range map[string]Options{
		"no target":        {},
		"not http":         {Target: "ftp://127.0.0.1/"},
		"no scheme":        {Target: "127.0.0.1:8080"},
		"nothing to send":  {Target: good.Target, Rate: -1, ReplyRate: -1},
		"connections":      {Target: good.Target, Connections: -1},
		"duration":         {Target: good.Target, Duration: -time.Second},
		"cap":              {Target: good.Target, MaxRequests: -1},
		"weights":          {Target: good.Target, Mix: Mix{Dashboard: 1, Thread: -1}},
		"streams":          {Target: good.Target, Streams: -1},
		"ceiling under it": {Target: good.Target, FindMax: true, StartRate: 500, RateCeiling: 100},
	} {
		if _, err := o.WithDefaults().check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
