package web

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sitrep/models"
)

// benchStreams is how many people keep the incident page open.
const benchStreams = 2000

// BenchmarkStreamFanOut: 2,000 streams on one incident; each iteration is
// an official update, and the clock runs from its 201 until every stream
// has the incident event. It reports the p99 of that delay and the memory
// one idle stream costs (heap and stacks of this process, which holds the
// server and a minimal client reading each stream: an upper bound for the
// server alone).
func BenchmarkStreamFanOut(b *testing.B) {
	e := newTestEnvConfig(b, func(c *Config) { c.MaxStreams = benchStreams + 100 })
	e.startBackground()
	srv := e.server()
	sam := e.user("sam", models.RoleStaff)
	svc := e.service(models.NewService{Name: "Mail"})
	inc := e.incident(sam, models.NewIncident{Kind: models.KindIncident, Title: "Mail is slow", Impact: "minor",
		Status: models.StatusInvestigating, Body: "Looking.", Services: []models.ServiceChange{{ServiceID: svc.ID, Status: models.DegradedPerformance}}})
	token := e.token(sam)
	addr := strings.TrimPrefix(srv.URL, "http://")

	before := memInUse()
	var mu sync.Mutex
	var arrived []time.Time
	ready := make(chan struct{}, benchStreams)
	conns := make([]net.Conn, 0, benchStreams)
	for range benchStreams {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "GET /api/v1/stream?thread=%d HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", inc.ThreadID, addr)
		go func() {
			r := bufio.NewReaderSize(c, 1024)
			signalled := false
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if !signalled && strings.HasPrefix(line, "retry:") {
					signalled = true
					ready <- struct{}{}
				}
				if strings.HasPrefix(line, "event: incident") {
					mu.Lock()
					arrived = append(arrived, time.Now())
					mu.Unlock()
				}
			}
		}()
	}
	b.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range benchStreams {
		<-ready
	}
	perStream := float64(memInUse()-before) / benchStreams
	time.Sleep(500 * time.Millisecond) // the declaration's events, if still on their way

	var delays []time.Duration
	for i := 0; b.Loop(); i++ {
		mu.Lock()
		arrived = arrived[:0]
		mu.Unlock()
		w := e.do(req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/incidents/%d/updates", inc.ID), bearer: token,
			json: fmt.Sprintf(`{"status":"identified","body":"Update %d: still on it."}`, i)})
		if w.Code != http.StatusCreated {
			b.Fatalf("update: %d %s", w.Code, w.Body)
		}
		sent := time.Now()
		for {
			mu.Lock()
			n := len(arrived)
			if n >= benchStreams {
				for _, at := range arrived {
					delays = append(delays, at.Sub(sent))
				}
				mu.Unlock()
				break
			}
			mu.Unlock()
			if time.Since(sent) > 30*time.Second {
				b.Fatalf("after 30 s only %d of %d streams had the update", n, benchStreams)
			}
			time.Sleep(time.Millisecond)
		}
	}
	slices.Sort(delays)
	b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(delays[len(delays)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(perStream/1024, "KiB/stream")
	b.ReportMetric(float64(e.app.live.Streams()), "streams")
}

// memInUse is the heap and the goroutine stacks in use, after a collection.
func memInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}
