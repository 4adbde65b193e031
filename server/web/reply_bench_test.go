package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"sitrep/models"
)

// BenchmarkRepliesConcurrent posts replies through the JSON API with 32
// writers at once (16 per core), each a staff account with its own token,
// into one incident-day thread, on a database at synchronous=FULL (as in
// production): every 201 comes after its reply is on disk. It reports
// replies a second (the target is at least 1,000).
func BenchmarkRepliesConcurrent(b *testing.B) {
	e := newTestEnv(b)
	const writers = 32
	owner := e.user("owner", models.RoleStaff)
	th := e.thread(owner, "Mail is down for everyone", replyMarkdown(0))
	var tokens []string
	for i := 0; i < writers; i++ {
		tokens = append(tokens, e.token(e.user(fmt.Sprintf("writer%02d", i), models.RoleStaff)))
	}
	body, err := json.Marshal(map[string]string{"body": replyMarkdown(1)})
	if err != nil {
		b.Fatal(err)
	}
	path := fmt.Sprintf("/api/v1/threads/%d/posts", th.ID)
	var next atomic.Int64
	b.SetParallelism(writers / 2)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		token := tokens[int(next.Add(1)-1)%writers]
		for pb.Next() {
			if w := e.do(req{method: http.MethodPost, path: path, json: string(body), bearer: token}); w.Code != http.StatusCreated {
				b.Errorf("status %d: %s", w.Code, w.Body.String())
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "replies/s")
}
