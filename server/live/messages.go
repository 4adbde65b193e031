package live

import (
	"context"
	"encoding/json"
	"html/template"
	"time"

	"sitrep/models"
)

// addressed is a message and who it is for.
type addressed struct {
	Message
	threadID int64 // a thread's stream
	status   bool  // the status stream
	userID   int64 // one person's notifications
}

func (m addressed) to(t Topic) bool {
	switch {
	case m.threadID != 0:
		return t.ThreadID == m.threadID
	case m.status:
		return t.Status
	case m.userID != 0:
		return t.UserID == m.userID
	}
	return false
}

// PostData is a post as every reader of a stream may see it: a hidden
// post travels without its text, whoever listens.
type PostData struct {
	ID        int64         `json:"id"`
	ThreadID  int64         `json:"thread_id"`
	Hidden    bool          `json:"hidden,omitempty"`
	Author    string        `json:"author,omitempty"`
	Role      models.Role   `json:"role,omitempty"`
	Official  bool          `json:"official"`
	BodyHTML  template.HTML `json:"body_html,omitempty"`
	CreatedAt time.Time     `json:"created_at"`
	EditedAt  *time.Time    `json:"edited_at,omitempty"`
}

// ThreadData says that a moderator changed a thread.
type ThreadData struct {
	ThreadID int64 `json:"thread_id"`
}

// ServiceData is a service's status in an incident or on the dashboard.
type ServiceData struct {
	ID     int64                  `json:"id"`
	Name   string                 `json:"name"`
	Status models.ComponentStatus `json:"status"`
}

// IncidentData is an incident's header as a stream carries it.
type IncidentData struct {
	IncidentID   int64         `json:"incident_id"`
	ThreadID     int64         `json:"thread_id"`
	Title        string        `json:"title"`
	Status       string        `json:"status"`
	Impact       string        `json:"impact"`
	Resolved     bool          `json:"resolved"`
	NextUpdateAt *time.Time    `json:"next_update_at"`
	Services     []ServiceData `json:"services"`
}

// StatusData is the dashboard's data: the overall indicator, the services
// and the open incidents.
type StatusData struct {
	Indicator   models.Indicator `json:"indicator"`
	Description string           `json:"description"`
	Services    []ServiceData    `json:"services"`
	Incidents   []IncidentData   `json:"incidents"`
}

// NotificationData is one notification and the person's unread count.
type NotificationData struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"`
	Text      string    `json:"text"`
	URL       string    `json:"url"`
	Unread    int       `json:"unread"`
	CreatedAt time.Time `json:"created_at"`
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func incidentData(inc *models.Incident) IncidentData {
	d := IncidentData{IncidentID: inc.ID, ThreadID: inc.ThreadID, Title: inc.Title, Status: inc.Status, Impact: inc.Impact,
		Resolved: !inc.IsOpen(), NextUpdateAt: utc(inc.NextUpdateAt), Services: []ServiceData{}}
	for _, s := range inc.Services {
		sd := ServiceData{ID: s.ServiceID, Status: s.Status}
		if s.Service != nil {
			sd.Name = s.Service.Name
		}
		d.Services = append(d.Services, sd)
	}
	return d
}

// build makes the messages of a batch of events, reading what they name
// once for all: one query for the posts, one for the incidents, one
// snapshot for the status (however many status events the batch holds,
// only the last is sent), and the notifications of the people in users.
func build(ctx context.Context, store *models.Store, events []models.Event, users map[int64]bool) ([]addressed, error) {
	var postIDs, incidentIDs []int64
	lastStatus := int64(0)
	for _, e := range events {
		switch e.Kind {
		case models.EventPost:
			postIDs = append(postIDs, *e.PostID)
		case models.EventIncident:
			incidentIDs = append(incidentIDs, *e.IncidentID)
		case models.EventStatus:
			lastStatus = e.ID
		}
	}
	posts, err := store.PostsByIDs(ctx, postIDs)
	if err != nil {
		return nil, err
	}
	postData := map[int64]PostData{}
	for i := range posts {
		p := &posts[i]
		d := PostData{ID: p.ID, ThreadID: p.ThreadID, Official: p.Official, CreatedAt: p.CreatedAt.UTC()}
		if p.VisibleTo(nil) {
			d.BodyHTML, d.EditedAt = p.HTML, utc(p.EditedAt)
			if p.Author != nil {
				d.Author, d.Role = p.Author.Name, p.AuthorRole
			}
		} else {
			d.Hidden = true
		}
		postData[p.ID] = d
	}
	incs, err := store.IncidentsByIDs(ctx, incidentIDs)
	if err != nil {
		return nil, err
	}
	incData := map[int64]IncidentData{}
	for i := range incs {
		incData[incs[i].ID] = incidentData(&incs[i])
	}
	var out []addressed
	add := func(e models.Event, kind string, v any, a addressed) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		a.Message = Message{ID: e.ID, Event: kind, Data: b}
		out = append(out, a)
		return nil
	}
	for _, e := range events {
		var err error
		switch e.Kind {
		case models.EventPost:
			if d, ok := postData[*e.PostID]; ok {
				err = add(e, models.EventPost, d, addressed{threadID: *e.ThreadID})
			}
		case models.EventThread:
			err = add(e, models.EventThread, ThreadData{ThreadID: *e.ThreadID}, addressed{threadID: *e.ThreadID})
		case models.EventIncident:
			if d, ok := incData[*e.IncidentID]; ok {
				err = add(e, models.EventIncident, d, addressed{threadID: *e.ThreadID})
			}
		case models.EventStatus:
			if e.ID == lastStatus {
				var d *StatusData
				if d, err = statusData(ctx, store); err == nil {
					err = add(e, models.EventStatus, d, addressed{status: true})
				}
			}
		case models.EventNotification:
			var ms []addressed
			if ms, err = notificationMessages(ctx, store, e.ID, users); err == nil {
				out = append(out, ms...)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// statusData reads the dashboard's data.
func statusData(ctx context.Context, store *models.Store) (*StatusData, error) {
	snap, err := store.StatusSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	d := &StatusData{Indicator: snap.Indicator, Description: snap.Indicator.Description(),
		Services: []ServiceData{}, Incidents: []IncidentData{}}
	for _, s := range snap.Services {
		st, ok := snap.Statuses[s.ID]
		if !ok {
			st = models.Operational
		}
		d.Services = append(d.Services, ServiceData{ID: s.ID, Name: s.Name, Status: st})
	}
	for i := range snap.Open {
		d.Incidents = append(d.Incidents, incidentData(&snap.Open[i]))
	}
	return d, nil
}

// notificationMessages reads what one notification event wrote for the
// people listening on this instance, in one query, with their unread
// counts in another.
func notificationMessages(ctx context.Context, store *models.Store, eventID int64, users map[int64]bool) ([]addressed, error) {
	if len(users) == 0 {
		return nil, nil
	}
	ids := make([]int64, 0, len(users))
	for id := range users {
		ids = append(ids, id)
	}
	ns, err := store.NotificationsOfEvent(ctx, eventID, ids)
	if err != nil || len(ns) == 0 {
		return nil, err
	}
	return notificationMessagesOf(ctx, store, ns)
}

// replayNotifications is what a person's notification stream missed.
func replayNotifications(ctx context.Context, store *models.Store, userID, after int64) ([]Message, error) {
	ns, err := store.NotificationsAfter(ctx, userID, after, 200)
	if err != nil || len(ns) == 0 {
		return nil, err
	}
	ms, err := notificationMessagesOf(ctx, store, ns)
	out := make([]Message, len(ms))
	for i, m := range ms {
		out[i] = m.Message
	}
	return out, err
}

func notificationMessagesOf(ctx context.Context, store *models.Store, ns []models.Notification) ([]addressed, error) {
	var users []int64
	for _, n := range ns {
		users = append(users, n.UserID)
	}
	unread, err := store.UnreadCounts(ctx, users...)
	if err != nil {
		return nil, err
	}
	out := make([]addressed, 0, len(ns))
	for _, n := range ns {
		b, err := json.Marshal(NotificationData{ID: n.ID, Kind: n.Kind, Text: n.Text(), URL: n.URL(), Unread: unread[n.UserID],
			CreatedAt: n.UpdatedAt.UTC()})
		if err != nil {
			return nil, err
		}
		out = append(out, addressed{Message: Message{ID: n.EventID, Event: models.EventNotification, Data: b}, userID: n.UserID})
	}
	return out, nil
}
