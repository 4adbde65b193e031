package live

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Heartbeat is how often an idle stream sends a comment line, so that
// proxies that close quiet connections keep it open.
const Heartbeat = 20 * time.Second

// RetryMillis is what a browser is told to wait before it reconnects, so
// that a lost server is not hammered.
const RetryMillis = 10000

// Stream serves one Server-Sent Events stream on topic until the client
// goes, the context ends or the broker drops it. A client that reconnects
// with Last-Event-ID (lastID) first gets what it missed. It refuses with
// ErrFull before writing anything when the broker holds all the streams it
// may.
func Stream(ctx context.Context, w http.ResponseWriter, b *Broker, t Topic, lastID int64, heartbeat time.Duration) error {
	sub, err := b.Subscribe(t)
	if err != nil {
		return err
	}
	defer b.Unsubscribe(sub)
	var replay []Message
	if lastID > 0 {
		if replay, err = b.Replay(ctx, t, lastID); err != nil {
			return err
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx would hold the events back
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	// Each write gets its own deadline: the server's write timeout is for
	// pages, and a stream lives for hours.
	flush := func() error {
		if err := rc.SetWriteDeadline(time.Now().Add(heartbeat + 10*time.Second)); err != nil && err != http.ErrNotSupported {
			return err
		}
		return rc.Flush()
	}
	fmt.Fprintf(w, "retry: %d\n\n", RetryMillis)
	sent := lastID
	send := func(m Message) {
		if m.ID > sent { // else replayed already
			sent = m.ID
			fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", m.ID, m.Event, m.Data)
		}
	}
	for _, m := range replay {
		send(m)
	}
	if err := flush(); err != nil {
		return nil
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-sub.C:
			if !ok {
				return nil // dropped: the client reconnects and catches up
			}
			send(m)
			// A burst goes out in one write.
			for more := true; more; {
				select {
				case m, ok := <-sub.C:
					if !ok {
						flush()
						return nil
					}
					send(m)
				default:
					more = false
				}
			}
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		}
		if err := flush(); err != nil {
			return nil
		}
	}
}
