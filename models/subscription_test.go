package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
)

// confirmWith returns a confirmMail function that keeps the token it is
// given.
func confirmWith(token *string) func(*Subscription, string) Mail {
	return func(_ *Subscription, t string) Mail {
		*token = t
		return Mail{Subject: "Confirm", Text: "Confirm: /subscriptions/confirm?token=" + t}
	}
}

// activeSubscription subscribes in and confirms it.
func activeSubscription(t *testing.T, s *Store, in NewSubscription) *Subscription {
	t.Helper()
	var token string
	sub, err := s.CreateSubscription(context.Background(), in, confirmWith(&token))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConfirmSubscription(context.Background(), token); err != nil {
		t.Fatal(err)
	}
	return sub
}

func jobsOf(t *testing.T, s *Store, kind string) []Job {
	t.Helper()
	var out []Job
	if err := s.db.Where("kind = ?", kind).Order("id").Find(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSubscribeValidates(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	none := func(*Subscription, string) Mail { return Mail{} }
	missing := int64(999)
	for _, c := range []struct {
		in          NewSubscription
		field, says string
	}{
		{NewSubscription{Email: "not an address"}, "email", "such as name@example.com"},
		{NewSubscription{Email: "a@example.com", WebhookURL: "ftp://example.com/x"}, "webhook_url", "starts with https://"},
		{NewSubscription{Email: "a@example.com", WebhookURL: "https://"}, "webhook_url", "Enter a webhook URL"},
		{NewSubscription{Email: "a@example.com", WebhookURL: "https://example.com/a b"}, "webhook_url", "no spaces"},
		{NewSubscription{Email: "a@example.com", ServiceIDs: []int64{f.mail.ID, 77}}, "services", "There is no service 77"},
		{NewSubscription{Email: "a@example.com", IncidentID: &missing}, "incident_id", "There is no incident 999"},
		{NewSubscription{Email: "a@example.com", IncidentID: &missing, ServiceIDs: []int64{f.mail.ID}}, "services", "not both"},
	} {
		_, err := f.s.CreateSubscription(ctx, c.in, none)
		var ve *ValidationError
		if !errors.As(err, &ve) || !strings.Contains(ve.Fields[c.field], c.says) {
			t.Errorf("%+v: %v, want %s: ...%s...", c.in, err, c.field, c.says)
		}
	}
	var n int64
	f.s.db.Model(&Subscription{}).Count(&n)
	if n != 0 {
		t.Errorf("%d subscriptions stored from bad input", n)
	}
}

// TestSubscribeConfirmUnsubscribe: a subscription waits for its
// confirmation (its mail queued with it), the token works once, and the
// unsubscribe token derived from its secret ends it.
func TestSubscribeConfirmUnsubscribe(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	var token string
	sub, err := f.s.CreateSubscription(ctx, NewSubscription{Email: "pat@example.com", WebhookURL: "https://hooks.example.com/in",
		ServiceIDs: []int64{f.mail.ID}, ClientIP: "192.0.2.1"}, confirmWith(&token))
	if err != nil {
		t.Fatal(err)
	}
	if sub.Kind != SubscriptionWebhook || sub.State != SubscriptionPending || len(sub.Secret) < 40 || sub.Secret[:6] != "whsec_" || sub.AllServices {
		t.Fatalf("new subscription: %+v", sub)
	}
	var stored Subscription
	f.s.db.First(&stored, sub.ID)
	if stored.ConfirmHash == nil || *stored.ConfirmHash == token || *stored.ConfirmHash != hashSecret(token) {
		t.Errorf("confirmation token stored as %v, want only its SHA-256", stored.ConfirmHash)
	}
	if stored.UnsubscribeHash != hashSecret(sub.UnsubscribeToken()) {
		t.Error("unsubscribe hash does not match the derived token")
	}
	var mails []OutboxMail
	f.s.db.Find(&mails)
	if len(mails) != 1 || mails[0].Kind != MailConfirm || mails[0].ToAddr != "pat@example.com" || mails[0].State != MailQueued || len(jobsOf(t, f.s, JobMail)) != 1 {
		t.Fatalf("confirmation mail: %+v", mails)
	}
	if _, err := f.s.PendingSubscription(ctx, token); err != nil {
		t.Fatalf("pending: %v", err)
	}
	if _, err := f.s.ConfirmSubscription(ctx, "wrong"); !errors.Is(err, ErrNotFound) {
		t.Errorf("wrong token: %v", err)
	}
	got, err := f.s.ConfirmSubscription(ctx, token)
	if err != nil || got.State != SubscriptionActive || got.ConfirmedAt == nil {
		t.Fatalf("confirm: %+v %v", got, err)
	}
	if _, err := f.s.ConfirmSubscription(ctx, token); !errors.Is(err, ErrNotFound) {
		t.Errorf("token used twice: %v", err)
	}
	if what, err := f.s.UnsubscribeTarget(ctx, sub.UnsubscribeToken()); err != nil || what != UnsubscribedSubscription {
		t.Errorf("target: %q %v", what, err)
	}
	if what, err := f.s.Unsubscribe(ctx, sub.UnsubscribeToken()); err != nil || what != UnsubscribedSubscription {
		t.Fatalf("unsubscribe: %q %v", what, err)
	}
	if _, err := f.s.SubscriptionByID(ctx, sub.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("still there after unsubscribing: %v", err)
	}
	if _, err := f.s.Unsubscribe(ctx, sub.UnsubscribeToken()); !errors.Is(err, ErrNotFound) {
		t.Errorf("unsubscribe twice: %v", err)
	}
}

// TestSubscribeExpires: an unconfirmed subscription cannot be confirmed
// after the window and is pruned.
func TestSubscribeExpires(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	var token string
	if _, err := f.s.CreateSubscription(ctx, NewSubscription{Email: "late@example.com"}, confirmWith(&token)); err != nil {
		t.Fatal(err)
	}
	advance(f.s, SubscriptionConfirmWindow+time.Minute)
	if _, err := f.s.ConfirmSubscription(ctx, token); !errors.Is(err, ErrNotFound) {
		t.Errorf("confirmed after the window: %v", err)
	}
	if n, err := f.s.PruneSubscriptions(ctx); err != nil || n != 1 {
		t.Errorf("prune: %d %v", n, err)
	}
}

// TestSubscribeLimits: confirmation mails are counted per address and per
// client from the rows, and refused past the limit with when to retry.
func TestSubscribeLimits(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	none := func(*Subscription, string) Mail { return Mail{} }
	for i := range SubscribePerAddress {
		if _, err := f.s.CreateSubscription(ctx, NewSubscription{Email: "many@example.com", ClientIP: fmt.Sprintf("192.0.2.%d", i)}, none); err != nil {
			t.Fatal(err)
		}
		advance(f.s, time.Minute)
	}
	_, err := f.s.CreateSubscription(ctx, NewSubscription{Email: "MANY@example.com", ClientIP: "198.51.100.1"}, none)
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter <= 0 || rl.RetryAfter > SubscribeWindow {
		t.Fatalf("sixth mail to one address: %v", err)
	}
	for i := range SubscribePerClient {
		if _, err := f.s.CreateSubscription(ctx, NewSubscription{Email: fmt.Sprintf("p%d@example.com", i), ClientIP: "203.0.113.9"}, none); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
	}
	if _, err := f.s.CreateSubscription(ctx, NewSubscription{Email: "one.more@example.com", ClientIP: "203.0.113.9"}, none); !errors.As(err, &rl) {
		t.Fatalf("past the client's limit: %v", err)
	}
	advance(f.s, SubscribeWindow)
	if _, err := f.s.CreateSubscription(ctx, NewSubscription{Email: "many@example.com", ClientIP: "203.0.113.9"}, none); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// TestAnnounceWritesOneJob: an official update writes one fan-out job in
// its transaction, however many subscribe; the events are named for the
// lifecycle.
func TestAnnounceWritesOneJob(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	for i := range 30 {
		activeSubscription(t, f.s, NewSubscription{Email: fmt.Sprintf("s%d@example.com", i)})
	}
	inc := f.declare(t, ServiceChange{ServiceID: f.mail.ID, Status: MajorOutage})
	if _, err := f.s.PostUpdate(ctx, f.staff, inc.ID, NewUpdate{Status: StatusResolved, Body: "Fixed."}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SetPostmortem(ctx, f.staff, inc.ID, "A disk filled up."); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SetPostmortem(ctx, f.staff, inc.ID, "A disk filled up, twice."); err != nil {
		t.Fatal(err)
	}
	from, until := f.s.now().Add(time.Hour), f.s.now().Add(2*time.Hour)
	m, err := f.s.DeclareIncident(ctx, f.staff, NewIncident{Kind: KindMaintenance, Title: "Database upgrade", Body: "Planned.",
		Services: []ServiceChange{{ServiceID: f.dash.ID, Status: UnderMaintenance}}, ScheduledFor: &from, ScheduledUntil: &until})
	if err != nil {
		t.Fatal(err)
	}
	advance(f.s, 90*time.Minute)
	f.s.AdvanceMaintenance(ctx)
	advance(f.s, time.Hour)
	f.s.AdvanceMaintenance(ctx)
	var events []string
	for _, j := range jobsOf(t, f.s, JobFanout) {
		var fj FanoutJob
		json.Unmarshal([]byte(j.Payload), &fj)
		events = append(events, fj.Event)
		if fj.IncidentID != inc.ID && fj.IncidentID != m.ID {
			t.Errorf("fan-out of incident %d", fj.IncidentID)
		}
	}
	want := fmt.Sprint([]string{AnnounceIncidentCreated, AnnounceIncidentResolved, AnnounceIncidentPostmortem,
		AnnounceMaintenanceScheduled, AnnounceMaintenanceStarted, AnnounceMaintenanceCompleted})
	if fmt.Sprint(events) != want {
		t.Errorf("announced %v, want %s", events, want)
	}
	if n := len(jobsOf(t, f.s, JobDeliver)); n != 0 {
		t.Errorf("the requests wrote %d deliveries themselves", n)
	}
}

// TestFanOut pages through the matching active subscribers in batches: all
// services, a service the incident touches, that incident; not pending
// ones, nor those of other services or incidents, nor those confirmed
// after the change; service changes go to webhooks only.
func TestFanOut(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	inc := f.declare(t, ServiceChange{ServiceID: f.mail.ID, Status: MajorOutage})
	other := f.declare(t, ServiceChange{ServiceID: f.dash.ID, Status: MajorOutage})
	want := map[int64]bool{}
	for i := range 7 {
		want[activeSubscription(t, f.s, NewSubscription{Email: fmt.Sprintf("all%d@example.com", i)}).ID] = true
	}
	want[activeSubscription(t, f.s, NewSubscription{Email: "mail@example.com", ServiceIDs: []int64{f.mail.ID, f.dash.ID}}).ID] = true
	want[activeSubscription(t, f.s, NewSubscription{Email: "inc@example.com", IncidentID: &inc.ID}).ID] = true
	hook := activeSubscription(t, f.s, NewSubscription{Email: "hook@example.com", WebhookURL: "https://hooks.example.com/", ServiceIDs: []int64{f.mail.ID}})
	want[hook.ID] = true
	activeSubscription(t, f.s, NewSubscription{Email: "dash@example.com", ServiceIDs: []int64{f.dash.ID}})
	activeSubscription(t, f.s, NewSubscription{Email: "other@example.com", IncidentID: &other.ID})
	if _, err := f.s.CreateSubscription(ctx, NewSubscription{Email: "pending@example.com"}, func(*Subscription, string) Mail { return Mail{} }); err != nil {
		t.Fatal(err)
	}
	f.s.db.Where("kind = ?", JobDeliver).Delete(&Job{})

	fanOut := func(n *Notice) map[int64]bool {
		got := map[int64]bool{}
		after, batches := int64(0), 0
		for {
			next := int64(-1)
			err := f.s.write(ctx, func(gtx *gorm.DB) error {
				_, err := (&Tx{s: f.s, tx: gtx}).FanOut(n, after, 4, func(last int64) error { next = last; return nil })
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			batches++
			if next < 0 {
				break
			}
			after = next
		}
		for _, j := range jobsOf(t, f.s, JobDeliver) {
			var d DeliverJob
			json.Unmarshal([]byte(j.Payload), &d)
			if d.NoticeID != n.ID || got[d.SubscriptionID] {
				t.Errorf("delivery %+v", d)
			}
			got[d.SubscriptionID] = true
		}
		f.s.db.Where("kind = ?", JobDeliver).Delete(&Job{})
		if batches != len(got)/4+1 {
			t.Errorf("%d batches for %d subscribers", batches, len(got))
		}
		return got
	}
	incNotice := &Notice{Event: AnnounceIncidentUpdated, IncidentID: &inc.ID, Payload: "{}"}
	svcNotice := &Notice{Event: AnnounceComponentUpdated, IncidentID: &inc.ID, ServiceID: &f.mail.ID, Payload: "{}"}
	if err := f.s.write(ctx, func(gtx *gorm.DB) error { return (&Tx{s: f.s, tx: gtx}).CreateNotices([]*Notice{incNotice, svcNotice}) }); err != nil {
		t.Fatal(err)
	}
	// Subscribed after the change: not told of it.
	advance(f.s, time.Minute)
	activeSubscription(t, f.s, NewSubscription{Email: "late@example.com"})
	if got := fanOut(incNotice); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("incident notice went to %v, want %v", got, want)
	}
	if got := fanOut(svcNotice); len(got) != 1 || !got[hook.ID] {
		t.Errorf("service notice went to %v, want the webhook %d only", got, hook.ID)
	}
}

// TestRecordDelivery: failures count up and a success resets them;
// disabling sends its mail once; a done job is gone.
func TestRecordDelivery(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	sub := activeSubscription(t, f.s, NewSubscription{Email: "hook@example.com", WebhookURL: "https://hooks.example.com/"})
	if err := f.s.Enqueue(ctx, JobDeliver, DeliverJob{SubscriptionID: sub.ID}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	job := jobsOf(t, f.s, JobDeliver)[0]
	fail := Delivery{SubscriptionID: sub.ID, Event: AnnounceIncidentUpdated, Attempt: 1, Status: 500, Error: "500 Internal Server Error"}
	for range 2 {
		if err := f.s.RecordDelivery(ctx, job.ID, fail, DeliveryOutcome{Failed: true}); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := f.s.SubscriptionByID(ctx, sub.ID)
	if got.Failures != 2 || len(jobsOf(t, f.s, JobDeliver)) != 1 {
		t.Fatalf("after two failures: %d failures", got.Failures)
	}
	notice := &Mail{Subject: "Your webhook was turned off", Text: "..."}
	if err := f.s.RecordDelivery(ctx, job.ID, fail, DeliveryOutcome{Failed: true, Done: true, Disable: true, Notice: notice}); err != nil {
		t.Fatal(err)
	}
	got, _ = f.s.SubscriptionByID(ctx, sub.ID)
	log, _ := f.s.Deliveries(ctx, sub.ID, Page{})
	var mails []OutboxMail
	f.s.db.Where("kind = ?", MailDisabled).Find(&mails)
	if got.State != SubscriptionDisabled || got.Failures != 3 || len(log.Items) != 3 || len(mails) != 1 || mails[0].ToAddr != "hook@example.com" ||
		len(jobsOf(t, f.s, JobDeliver)) != 0 {
		t.Errorf("disabled: %+v, %d log rows, mails %+v", got, len(log.Items), mails)
	}
}

// TestFollowMails: a person's mail setting decides which notifications of
// followed threads also become mail jobs.
func TestFollowMails(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	inc := f.declare(t, ServiceChange{ServiceID: f.mail.ID, Status: MajorOutage})
	levels := map[string]*User{}
	for _, level := range MailLevels {
		u := oldUser(t, f.s, "follower-"+level)
		if _, err := f.s.SetFollowing(ctx, u, inc.ThreadID, true, FollowAll); err != nil {
			t.Fatal(err)
		}
		if err := f.s.SetMailLevel(ctx, u.ID, level); err != nil {
			t.Fatal(err)
		}
		levels[level] = u
	}
	if err := f.s.SetMailLevel(ctx, levels[MailAll].ID, "loud"); err == nil {
		t.Error("an unknown level was taken")
	}
	runNotifications(t, f.s)
	advance(f.s, time.Minute)
	reply, _, err := f.s.CreateReply(ctx, levels[MailNever], inc.ThreadID, NewPost{Body: "Same here."})
	if err != nil {
		t.Fatal(err)
	}
	upd, err := f.s.PostUpdate(ctx, f.staff, inc.ID, NewUpdate{Status: StatusIdentified, Body: "Found it."})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobsOf(t, f.s, JobNotify) {
		var nj NotifyJob
		json.Unmarshal([]byte(j.Payload), &nj)
		if err := f.s.DoJob(ctx, j.ID, func(tx *Tx) error { return tx.WriteNotifications(nj) }); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, j := range jobsOf(t, f.s, JobFollowMail) {
		var fj FollowMailJob
		json.Unmarshal([]byte(j.Payload), &fj)
		who := ""
		for level, u := range levels {
			if u.ID == fj.UserID {
				who = level
			}
		}
		got = append(got, fmt.Sprintf("%s:%d:%s", who, fj.PostID, fj.Kind))
	}
	want := fmt.Sprint([]string{fmt.Sprintf("all:%d:reply", reply.ID), fmt.Sprintf("all:%d:official", upd.PostID), fmt.Sprintf("official:%d:official", upd.PostID)})
	if fmt.Sprint(got) != want {
		t.Errorf("mail jobs %v, want %s", got, want)
	}
	// The job's read: the unsubscribe key is made once.
	fm, err := f.s.FollowMailOf(ctx, FollowMailJob{UserID: levels[MailOfficial].ID, PostID: upd.PostID, Kind: NotifyOfficial})
	if err != nil || fm == nil || fm.Incident == nil || fm.Token == "" {
		t.Fatalf("follow mail: %+v %v", fm, err)
	}
	again, _ := f.s.FollowMailOf(ctx, FollowMailJob{UserID: levels[MailOfficial].ID, PostID: upd.PostID, Kind: NotifyOfficial})
	if again.Token != fm.Token {
		t.Error("the unsubscribe token changed between mails")
	}
	if skip, _ := f.s.FollowMailOf(ctx, FollowMailJob{UserID: levels[MailOfficial].ID, PostID: reply.ID, Kind: NotifyReply}); skip != nil {
		t.Error("a reply mailed to a person who wants official updates only")
	}
	if what, err := f.s.Unsubscribe(ctx, fm.Token); err != nil || what != UnsubscribedAccountMail {
		t.Fatalf("unsubscribe: %q %v", what, err)
	}
	u, _ := f.s.UserByID(ctx, levels[MailOfficial].ID)
	if u.MailLevel != MailNever {
		t.Errorf("mail level after unsubscribing: %s", u.MailLevel)
	}
}

// TestSignupByMail: a new address gets a pending sign-up and a link; a
// registered one gets a mail to its owner and no pending row; both count
// against the address's limit; the link makes the account once.
func TestSignupByMail(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	owner := mustUser(t, s, "owner", RoleCustomer)
	var token, named string
	mails := SignupMails{
		Confirm: func(tok string) Mail { token = tok; return Mail{Subject: "Confirm"} },
		Exists:  func(name string) Mail { named = name; return Mail{Subject: "Exists"} },
	}
	in := NewUser{Name: "newbie", Email: "newbie@example.com", Password: "long enough password"}
	if err := s.StartSignup(ctx, in, "192.0.2.1", mails); err != nil || token == "" {
		t.Fatalf("new address: %v", err)
	}
	if err := s.StartSignup(ctx, NewUser{Name: "someone", Email: owner.Email, Password: "long enough password"}, "192.0.2.1", mails); err != nil || named != "owner" {
		t.Fatalf("registered address: %v, named %q", err, named)
	}
	var pending int64
	s.db.Model(&PendingSignup{}).Count(&pending)
	var out []OutboxMail
	s.db.Order("id").Find(&out)
	if pending != 1 || len(out) != 2 || out[0].Kind != MailSignup || out[1].Kind != MailSignupExists || out[1].ToAddr != owner.Email {
		t.Fatalf("%d pending, outbox %+v", pending, out)
	}
	var ve *ValidationError
	if err := s.StartSignup(ctx, NewUser{Name: "owner", Email: "x@example.com", Password: "long enough password"}, "", mails); !errors.As(err, &ve) || ve.Fields["name"] == "" {
		t.Errorf("taken name: %v", err)
	}
	for range SignupMailsPerAddress - 1 {
		if err := s.StartSignup(ctx, NewUser{Name: "someone", Email: owner.Email, Password: "long enough password"}, "", mails); err != nil {
			if rl := new(RateLimitError); errors.As(err, &rl) {
				break
			}
			t.Fatal(err)
		}
	}
	var rl *RateLimitError
	if err := s.StartSignup(ctx, NewUser{Name: "someone", Email: owner.Email, Password: "long enough password"}, "", mails); !errors.As(err, &rl) {
		t.Errorf("past the address's limit: %v", err)
	}
	if _, err := s.PendingSignupByToken(ctx, token); err != nil {
		t.Fatal(err)
	}
	u, err := s.CompleteSignup(ctx, token)
	if err != nil || u.Name != "newbie" || u.Role != RoleCustomer {
		t.Fatalf("complete: %+v %v", u, err)
	}
	if _, err := s.Authenticate(ctx, "newbie", "long enough password"); err != nil {
		t.Errorf("log in with the sign-up's password: %v", err)
	}
	if _, err := s.CompleteSignup(ctx, token); !errors.Is(err, ErrNotFound) {
		t.Errorf("link used twice: %v", err)
	}
}

// TestRecordMailOnce: a mail recorded again under its message id (a retry
// after a crash) updates its row rather than adding one.
func TestRecordMailOnce(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	for _, state := range []string{MailFailed, MailSent} {
		if err := s.Enqueue(ctx, JobFollowMail, FollowMailJob{}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		job := jobsOf(t, s, JobFollowMail)[0]
		if err := s.RecordMail(ctx, job.ID, Mail{Kind: MailFollow, To: "a@example.com", Subject: "S", Text: "text",
			MessageID: "post.1.1@example.com", State: state, Reason: state}); err != nil {
			t.Fatal(err)
		}
	}
	var rows []OutboxMail
	s.db.Find(&rows)
	if len(rows) != 1 || rows[0].State != MailSent || rows[0].TextBody != "" {
		t.Errorf("outbox: %+v", rows)
	}
}
