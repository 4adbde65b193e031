package models

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Notification kinds (the API's fixed names).
const (
	NotifyReply       = "reply"        // a new post in a thread one follows
	NotifyOfficial    = "official"     // an official update on an incident one follows
	NotifyLinked      = "linked"       // a thread one follows was linked to an incident
	NotifyResolved    = "resolved"     // an incident one follows was resolved
	NotifyMention     = "mention"      // @name in a post
	NotifyMerged      = "merged"       // a thread one follows was merged into another
	NotifyFlagHandled = "flag_handled" // a flag one raised was handled
	NotifySanction    = "sanction"     // one was warned, silenced or suspended
)

// NotificationRetention is how long notifications are kept.
const NotificationRetention = 90 * 24 * time.Hour

// NotificationsPerPage is the size of a page of notifications.
const NotificationsPerPage = 30

// Notification tells one person that something happened. Replies to one
// thread are grouped while unread: forty replies are one notification with
// Count 40, pointing at the first of them.
type Notification struct {
	ID         int64
	UserID     int64
	Kind       string
	ThreadID   *int64
	Thread     *Thread `gorm:"foreignKey:ThreadID"`
	PostID     *int64
	IncidentID *int64
	Incident   *Incident `gorm:"foreignKey:IncidentID"`
	ActorID    *int64
	Actor      *User `gorm:"foreignKey:ActorID"`
	Count      int
	// Detail is what the kind needs besides the thread and the incident: an
	// update's status, a merged thread's old title, a flag's outcome, a
	// sanction and its reason.
	Detail string
	// EventID is the notification event that last wrote the row; a stream
	// that reconnects asks for the rows written after the event it saw.
	EventID   int64
	ReadAt    *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Text is the notification in words.
func (n *Notification) Text() string {
	title, incident, actor := "a thread", "an incident", "Someone"
	if n.Thread != nil {
		title = "“" + n.Thread.Title + "”"
	}
	if n.Incident != nil {
		incident = "“" + n.Incident.Title + "”"
	}
	if n.Actor != nil {
		actor = n.Actor.Name
	}
	switch n.Kind {
	case NotifyReply:
		if n.Count > 1 {
			return fmt.Sprintf("%d new replies in %s", n.Count, title)
		}
		return actor + " replied in " + title
	case NotifyOfficial:
		return "Official update on " + incident + ": " + n.Detail
	case NotifyLinked:
		return title + " is now tracked in the incident " + incident
	case NotifyResolved:
		return incident + " is resolved"
	case NotifyMention:
		return actor + " mentioned you in " + title
	case NotifyMerged:
		return "“" + n.Detail + "” was merged into " + title
	case NotifyFlagHandled:
		return "Your flag on a post in " + title + " was handled: " + n.Detail
	case NotifySanction:
		return n.Detail
	}
	return n.Kind
}

// URL is where the notification leads.
func (n *Notification) URL() string {
	switch {
	case n.Kind == NotifySanction:
		return "/account"
	case n.PostID != nil:
		return "/posts/" + strconv.FormatInt(*n.PostID, 10)
	case n.IncidentID != nil && n.Kind != NotifyLinked:
		return "/incidents/" + strconv.FormatInt(*n.IncidentID, 10)
	case n.ThreadID != nil:
		return "/threads/" + strconv.FormatInt(*n.ThreadID, 10)
	}
	return "/notifications"
}

// JobNotify is the job that writes the notifications a change causes.
const JobNotify = "notify"

// NotifyJob is what a change tells the notifier: the kind, what it is about
// and who did it. The recipients are the followers of the thread (reply,
// linked, merged), of the incident's thread and the threads linked to it
// (official, resolved), the people a post mentions, or UserIDs for the
// kinds that go to given people (flag_handled, sanction).
type NotifyJob struct {
	Kind       string  `json:"kind"`
	ThreadID   int64   `json:"thread_id,omitempty"`
	PostID     int64   `json:"post_id,omitempty"`
	IncidentID int64   `json:"incident_id,omitempty"`
	ActorID    int64   `json:"actor_id,omitempty"`
	UserIDs    []int64 `json:"user_ids,omitempty"`
	Detail     string  `json:"detail,omitempty"`
	// FromThreadID is the thread whose followers are told when it is not
	// ThreadID: a merged thread's, whose notification leads to the thread
	// it was merged into.
	FromThreadID int64 `json:"from_thread_id,omitempty"`
}

// notify writes a notify job in tx; the notifications are written in bulk
// by the job (WriteNotifications), so a reply to a thread followed by ten
// thousand people costs its request one row.
func (s *Store) notify(tx *gorm.DB, j NotifyJob) error {
	return s.enqueue(tx, JobNotify, j, time.Time{})
}

// mentionRE finds @name mentions (names as validateName allows them).
var mentionRE = regexp.MustCompile(`(?:^|[^\w@/.])@([A-Za-z0-9][A-Za-z0-9_.-]{2,29})`)

// maxMentions bounds the people one post can notify by name.
const maxMentions = 10

// mentionedNames lists the distinct names mentioned in Markdown source,
// outside code, at most maxMentions.
func mentionedNames(src string) []string {
	var names []string
	seen := map[string]bool{}
	inFence := false
	for _, line := range strings.Split(src, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		// Inline code is not a mention either.
		parts := strings.Split(line, "`")
		for i := 0; i < len(parts); i += 2 {
			for _, m := range mentionRE.FindAllStringSubmatch(parts[i], -1) {
				name := strings.TrimRight(m[1], ".-")
				if key := strings.ToLower(name); !seen[key] && len(names) < maxMentions {
					seen[key] = true
					names = append(names, name)
				}
			}
		}
	}
	return names
}

// WriteNotifications writes, in the job's transaction, the notifications
// that j asks for, in bulk (one statement per kind whatever the number of
// recipients), and the notification event that streams read them by.
//
// Those whose mail setting asks for it are also mailed: one mail job each,
// written with one more statement (followMails).
func (t *Tx) WriteNotifications(j NotifyJob) error {
	eventID, err := t.s.emit(t.tx, Event{Kind: EventNotification})
	if err != nil {
		return err
	}
	if err := t.writeNotifications(j, eventID); err != nil {
		return err
	}
	switch j.Kind {
	case NotifyReply, NotifyOfficial, NotifyResolved:
		return t.followMails(eventID, j.PostID)
	}
	return nil
}

// notificationRow selects the row of a notification to who, the other
// values its parameters in the order of writeNotifications' values.
func (t *Tx) notificationRow(who string) string {
	id, at := t.s.param("BIGINT"), t.s.param("TIMESTAMPTZ")
	return "SELECT DISTINCT " + who + ", ?, " + id + ", " + id + ", " + id + ", " + id + ", 1, ?, " + id + ", " + at + ", " + at + " "
}

func (t *Tx) writeNotifications(j NotifyJob, eventID int64) error {
	s, tx := t.s, t.tx
	now := s.now()
	// cols are the columns every insert fills, in this order.
	const cols = `INSERT INTO notifications (user_id, kind, thread_id, post_id, incident_id, actor_id, count, detail, event_id, created_at, updated_at) `
	values := func(kind string) []any {
		return []any{kind, nullID(j.ThreadID), nullID(j.PostID), nullID(j.IncidentID), nullID(j.ActorID), j.Detail, eventID, now, now}
	}
	selectValues := t.notificationRow("f.user_id")
	switch j.Kind {
	case NotifyReply:
		var p Post
		if err := tx.Select("id", "source", "hidden_at", "created_at").First(&p, j.PostID).Error; err != nil || p.HiddenAt != nil {
			return ignoreNotFound(err) // gone or hidden before anyone was told
		}
		mentioned, err := t.mentions(j, p.Source, values)
		if err != nil {
			return err
		}
		// One unread reply notification per person and thread: a new
		// reply counts up the one there is.
		return tx.Exec(cols+selectValues+`FROM follows f
			WHERE f.thread_id = ? AND f.level = ? AND f.user_id <> ? AND f.user_id NOT IN ?
				AND f.created_at <= ? AND f.last_read_post_id < ?
			ON CONFLICT (user_id, thread_id) WHERE kind = 'reply' AND read_at IS NULL
			DO UPDATE SET count = notifications.count + 1, actor_id = excluded.actor_id,
				event_id = excluded.event_id, updated_at = excluded.updated_at`,
			append(values(NotifyReply), j.ThreadID, FollowAll, j.ActorID, append(mentioned, 0), p.CreatedAt, p.ID)...).Error
	case NotifyOfficial, NotifyResolved:
		// Followers of the incident's thread and of the threads linked to
		// it, except those who muted them.
		var p Post
		if err := tx.Select("id", "source", "hidden_at", "created_at").First(&p, j.PostID).Error; err != nil || p.HiddenAt != nil {
			return ignoreNotFound(err)
		}
		mentioned, err := t.mentions(j, p.Source, values)
		if err != nil {
			return err
		}
		return tx.Exec(cols+selectValues+`FROM follows f JOIN threads t ON t.id = f.thread_id
			WHERE (t.id = ? OR t.incident_id = ?) AND t.merged_into_id IS NULL AND f.level <> ? AND f.user_id <> ?
				AND f.user_id NOT IN ? AND f.created_at <= ? AND (t.id <> ? OR f.last_read_post_id < ?)`,
			append(values(j.Kind), j.ThreadID, j.IncidentID, FollowMuted, j.ActorID, append(mentioned, 0), p.CreatedAt, j.ThreadID, p.ID)...).Error
	case NotifyLinked, NotifyMerged:
		followed := j.ThreadID
		if j.FromThreadID != 0 {
			followed = j.FromThreadID
		}
		return tx.Exec(cols+selectValues+`FROM follows f WHERE f.thread_id = ? AND f.level <> ? AND f.user_id <> ?`,
			append(values(j.Kind), followed, FollowMuted, j.ActorID)...).Error
	case NotifyFlagHandled, NotifySanction:
		if len(j.UserIDs) == 0 {
			return nil
		}
		return tx.Exec(cols+t.notificationRow("u.id")+`FROM users u WHERE u.id IN ?`,
			append(values(j.Kind), j.UserIDs)...).Error
	}
	return fmt.Errorf("unknown notification kind %q", j.Kind)
}

// mentions writes a mention notification for each existing person that
// the post names, except its author and those who muted the thread, and
// returns who was mentioned (they get no other notification of the post).
func (t *Tx) mentions(j NotifyJob, src string, values func(string) []any) ([]any, error) {
	names := mentionedNames(src)
	if len(names) == 0 {
		return []any{}, nil
	}
	var ids []int64
	if err := t.tx.Raw(`SELECT u.id FROM users u WHERE u.name IN ? AND u.id <> ?
		AND NOT EXISTS (SELECT 1 FROM follows f WHERE f.thread_id = ? AND f.user_id = u.id AND f.level = ?)`,
		names, j.ActorID, j.ThreadID, FollowMuted).Scan(&ids).Error; err != nil || len(ids) == 0 {
		return []any{}, err
	}
	if err := t.tx.Exec(`INSERT INTO notifications (user_id, kind, thread_id, post_id, incident_id, actor_id, count, detail, event_id, created_at, updated_at)
		`+t.notificationRow("u.id")+`FROM users u WHERE u.id IN ?`,
		append(values(NotifyMention), ids)...).Error; err != nil {
		return nil, err
	}
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out, nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func ignoreNotFound(err error) error {
	if err == gorm.ErrRecordNotFound {
		return nil
	}
	return err
}

// Notifications lists a person's notifications, newest first (a grouped
// one moves up when it grows), with what their text needs.
func (s *Store) Notifications(ctx context.Context, userID int64, p Page) (Paged[Notification], error) {
	p = p.Normalize(NotificationsPerPage)
	var out []Notification
	err := s.db.WithContext(ctx).Preload("Thread").Preload("Incident").Preload("Actor").
		Where("user_id = ?", userID).Order("updated_at DESC, id DESC").Offset(p.offset()).Limit(p.PerPage + 1).Find(&out).Error
	return paged(out, p), err
}

// NotificationsAfter lists a person's notifications written by events after
// eventID, oldest first (a stream's replay).
func (s *Store) NotificationsAfter(ctx context.Context, userID, eventID int64, limit int) ([]Notification, error) {
	var out []Notification
	err := s.db.WithContext(ctx).Preload("Thread").Preload("Incident").Preload("Actor").
		Where("user_id = ? AND event_id > ?", userID, eventID).Order("event_id, id").Limit(limit).Find(&out).Error
	return out, err
}

// NotificationsOfEvent lists the notifications that one notification event
// wrote for any of the given people (the streams connected to one
// instance), in one query.
func (s *Store) NotificationsOfEvent(ctx context.Context, eventID int64, userIDs []int64) ([]Notification, error) {
	var out []Notification
	if len(userIDs) == 0 {
		return out, nil
	}
	err := s.db.WithContext(ctx).Preload("Thread").Preload("Incident").Preload("Actor").
		Where("event_id = ? AND user_id IN ?", eventID, userIDs).Order("id").Find(&out).Error
	return out, err
}

// UnreadCounts counts each person's unread notifications, in one query.
func (s *Store) UnreadCounts(ctx context.Context, userIDs ...int64) (map[int64]int, error) {
	out := map[int64]int{}
	if len(userIDs) == 0 {
		return out, nil
	}
	// Scanned by hand: every signed-in page asks, for its bell.
	rows, err := s.db.WithContext(ctx).Raw("SELECT user_id, COUNT(*) FROM notifications WHERE user_id IN ? AND read_at IS NULL GROUP BY user_id", userIDs).Rows()
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return out, err
		}
		out[id] = n
	}
	return out, rows.Err()
}

// MarkNotificationsRead marks the person's notifications with the given ids
// read (all of them with all) and returns how many are still unread.
func (s *Store) MarkNotificationsRead(ctx context.Context, userID int64, ids []int64, all bool) (int, error) {
	err := s.write(ctx, func(tx *gorm.DB) error {
		q := tx.Model(&Notification{}).Where("user_id = ? AND read_at IS NULL", userID)
		if !all {
			if len(ids) == 0 {
				return nil
			}
			q = q.Where("id IN ?", ids)
		}
		return q.Update("read_at", s.now()).Error
	})
	if err != nil {
		return 0, err
	}
	counts, err := s.UnreadCounts(ctx, userID)
	return counts[userID], err
}

// PruneNotifications deletes notifications older than the retention.
func (s *Store) PruneNotifications(ctx context.Context) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Where("updated_at < ?", s.now().Add(-NotificationRetention)).Delete(&Notification{})
		n = res.RowsAffected
		return res.Error
	})
	return int(n), err
}
