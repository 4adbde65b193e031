package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sitrep/models"
	"sitrep/server/notify"
	"sitrep/server/statuspage"
)

// hook is a webhook receiver whose first request never gets an answer (it
// hangs until the test ends); later ones get 200.
type hook struct {
	mu      sync.Mutex
	got     []http.Header
	bodies  [][]byte
	arrived chan struct{} // one value per request
	release chan struct{}
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.got = append(h.got, r.Header.Clone())
	h.bodies = append(h.bodies, body)
	first := len(h.got) == 1
	h.mu.Unlock()
	h.arrived <- struct{}{}
	if first {
		<-h.release
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// TestSIGKILLDuringDelivery: the real binary is killed with SIGKILL while
// a webhook delivery is in flight (after the update was answered 201, before
// the receiver answered). Started again, the server delivers it once more,
// with the same webhook-id and a valid signature: at least once, never
// zero times.
func TestSIGKILLDuringDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the binary: %v", err)
	}
	dir := t.TempDir()
	bin, db := filepath.Join(dir, "sitrep"), filepath.Join(dir, "delivery.db")
	if out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	receiver := &hook{arrived: make(chan struct{}, 16), release: make(chan struct{})}
	srv := httptest.NewServer(receiver)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(receiver.release) }) // runs before srv.Close

	// The site: a staff member with a token, a service, an open incident,
	// and then a confirmed webhook subscription to every service.
	ctx := context.Background()
	store, err := models.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	staff, err := store.CreateUser(ctx, models.NewUser{Name: "durability.staff", Email: "staff@example.com", Password: "a long staff password", Role: models.RoleStaff, AllowReserved: true})
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := store.CreateToken(ctx, staff.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := store.CreateService(ctx, nil, models.NewService{Name: "Mail"})
	if err != nil {
		t.Fatal(err)
	}
	inc, err := store.DeclareIncident(ctx, staff, models.NewIncident{Kind: models.KindIncident, Title: "Mail delivery delayed", Impact: "major",
		Status: models.StatusInvestigating, Body: "Looking.", Services: []models.ServiceChange{{ServiceID: svc.ID, Status: models.PartialOutage}}})
	if err != nil {
		t.Fatal(err)
	}
	var confirm string
	sub, err := store.CreateSubscription(ctx, models.NewSubscription{Email: "ops@example.com", WebhookURL: srv.URL + "/hook"},
		func(_ *models.Subscription, tok string) models.Mail {
			confirm = tok
			return models.Mail{Subject: "Confirm"}
		})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.ConfirmSubscription(ctx, confirm); err != nil {
		t.Fatal(err)
	}
	store.Close()

	start := func() *durabilityServer {
		return startDurabilityServerArgs(t, bin, db, "-webhook-allow-private", "-base-url", "https://status.example.com")
	}
	first := start()
	body := `{"status":"identified","body":"A queue backlog; nothing is lost."}`
	r, err := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/incidents/%d/updates", first.base, inc.ID), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+token)
	r.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("update: %d\n%s", resp.StatusCode, first.log.tail())
	}
	select {
	case <-receiver.arrived:
	case <-time.After(30 * time.Second):
		t.Fatalf("no delivery within 30 s of the update\nserver log:\n%s", first.log.tail())
	}
	// The delivery is in flight: the receiver holds it. Kill now.
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-first.exited
	killedAt := time.Now()

	second := start()
	select {
	case <-receiver.arrived:
	case <-time.After(90 * time.Second):
		t.Fatalf("the delivery interrupted by SIGKILL was not made again within 90 s of the restart\nserver log:\n%s", second.log.tail())
	}
	again := time.Since(killedAt)
	second.stop(t)

	receiver.mu.Lock()
	headers, bodies := receiver.got, receiver.bodies
	receiver.mu.Unlock()
	if len(headers) != 2 {
		t.Fatalf("%d requests, want the interrupted one and its repeat", len(headers))
	}
	if id := headers[0].Get("webhook-id"); id == "" || id != headers[1].Get("webhook-id") {
		t.Errorf("webhook-id %q, then %q: a repeat must carry the same id", id, headers[1].Get("webhook-id"))
	}
	if err := notify.Verify(sub.Secret, headers[1], bodies[1], time.Now(), 5*time.Minute); err != nil {
		t.Errorf("the repeat's signature: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(bodies[1]))
	dec.DisallowUnknownFields()
	var p statuspage.WebhookPayload
	if err := dec.Decode(&p); err != nil || p.Incident == nil || p.Incident.Status != "identified" {
		t.Errorf("the repeat's payload: %+v %v", p.Incident, err)
	}
	t.Logf("delivered again %s after the SIGKILL (the interrupted job's lease runs out first)", again.Round(time.Second))

	store, err = models.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	log, err := store.Deliveries(ctx, sub.ID, models.Page{})
	if err != nil || len(log.Items) == 0 || log.Items[0].Status != http.StatusNoContent || log.Items[0].Attempt != 2 {
		t.Errorf("delivery log after the restart: %+v %v", log.Items, err)
	}
}
