package statuspage

import (
	"crypto/sha256"
	"encoding/base32"
	"strconv"
	"strings"
	"time"

	"sitrep/models"
	"sitrep/server/markup"
)

// Site is what the documents say of the site itself.
type Site struct {
	Name string
	// BaseURL is the configured public URL ("" when none is set); the
	// page's id derives from it.
	BaseURL string
}

// timeLayout is RFC 3339 in UTC with milliseconds, as Statuspage writes
// times ("2026-03-14T09:30:00.000Z").
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func stamp(t time.Time) string { return t.UTC().Format(timeLayout) }

func stampPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := stamp(*t)
	return &s
}

// PageID is the page's id. Statuspage ids are 12 lower-case letters and
// digits; Sitrep derives one from the configured base URL, so that two
// Sitrep sites feeding one aggregator do not share an id while one site's
// id never changes between requests or restarts. Without a base URL the id
// is the constant "sitrep" (the host a request names is not a stable
// identity).
func (s Site) PageID() string {
	if s.BaseURL == "" {
		return "sitrep"
	}
	return shortID(s.BaseURL)
}

// shortID is a 12-character lower-case id derived from s.
func shortID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return strings.ToLower(base32.StdEncoding.EncodeToString(sum[:]))[:12]
}

// GroupID is the id of the synthesized component that stands for a service
// group: "g" and 11 characters derived from the group's name. It is stable
// for as long as the name is, and cannot collide with a service's id, which
// is all digits.
func GroupID(name string) string { return "g" + shortID("group:" + name)[:11] }

// state is what every document starts from: the page, the components with
// their current statuses and the overall status.
type state struct {
	snap       *models.StatusSnapshot
	root       string // the site's absolute URL, for shortlinks
	page       PageInfo
	components []Component
	byService  map[int64]Component
	status     Status
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// newState derives the page and its components from the snapshot.
//
// Sitrep keeps no single "page last changed" time, so the page's updated_at
// is the latest change among the services and the incidents the snapshot
// holds (open, or among the newest of each kind; an old incident's
// postmortem written much later does not move it). A component's
// updated_at is likewise the latest of its service's own change and of
// those incidents that name it, which is when its status last changed.
// Both depend only on the data, so the ETag holds until something changes.
func (s Site) newState(snap *models.StatusSnapshot, root string) *state {
	var pageUpdated time.Time
	touched := map[int64]time.Time{}
	for _, list := range [][]models.Incident{snap.Open, snap.Recent, snap.RecentMaintenance} {
		for _, inc := range list {
			pageUpdated = latest(pageUpdated, inc.UpdatedAt)
			for _, is := range inc.Services {
				touched[is.ServiceID] = latest(touched[is.ServiceID], inc.UpdatedAt)
			}
		}
	}
	for _, svc := range snap.Services {
		pageUpdated = latest(pageUpdated, svc.UpdatedAt)
	}
	if pageUpdated.IsZero() {
		// Nothing on the page yet: the current minute keeps the answer
		// valid and still cacheable for a while.
		pageUpdated = snap.At.Truncate(time.Minute)
	}
	pageID := s.PageID()
	st := &state{
		snap: snap, root: root,
		page:      PageInfo{ID: pageID, Name: s.Name, URL: root, TimeZone: "Etc/UTC", UpdatedAt: stamp(pageUpdated)},
		byService: map[int64]Component{}, components: []Component{},
		status: Status{Indicator: snap.Indicator, Description: snap.Indicator.Description()},
	}
	statusOf := func(id int64) models.ComponentStatus {
		if st, ok := snap.Statuses[id]; ok {
			return st
		}
		return models.Operational
	}
	component := func(svc models.Service, position int) Component {
		sc := Component{
			ID: strconv.FormatInt(svc.ID, 10), Name: svc.Name, Status: statusOf(svc.ID),
			CreatedAt: stamp(svc.CreatedAt), UpdatedAt: stamp(latest(svc.UpdatedAt, touched[svc.ID])),
			Position: position, Showcase: true, PageID: pageID,
			// The day its daily bars start.
			StartDate: new(svc.CreatedAt.UTC().Format(time.DateOnly)),
		}
		if svc.Description != "" {
			sc.Description = new(svc.Description)
		}
		if svc.GroupName != "" {
			sc.GroupID = new(GroupID(svc.GroupName))
		}
		return sc
	}
	// Services in display order; a group stands where its first member
	// would, followed by all its members. Positions count from 1 within
	// each level, as Statuspage numbers them.
	done := map[string]bool{}
	top := 0
	for _, svc := range snap.Services {
		if svc.GroupName == "" {
			top++
			sc := component(svc, top)
			st.components = append(st.components, sc)
			st.byService[svc.ID] = sc
			continue
		}
		if done[svc.GroupName] {
			continue
		}
		done[svc.GroupName] = true
		top++
		g := Component{ID: GroupID(svc.GroupName), Name: svc.GroupName, Status: models.Operational,
			CreatedAt: stamp(svc.CreatedAt), Position: top, PageID: pageID, Group: true}
		var members []Component
		var created, updated time.Time
		for _, m := range snap.Services {
			if m.GroupName != svc.GroupName {
				continue
			}
			sc := component(m, len(members)+1)
			members = append(members, sc)
			st.byService[m.ID] = sc
			g.Components = append(g.Components, sc.ID)
			if sc.Status.Severity() > g.Status.Severity() {
				g.Status = sc.Status
			}
			if created.IsZero() || m.CreatedAt.Before(created) {
				created = m.CreatedAt
			}
			updated = latest(updated, latest(m.UpdatedAt, touched[m.ID]))
		}
		g.CreatedAt, g.UpdatedAt = stamp(created), stamp(updated)
		st.components = append(st.components, g)
		st.components = append(st.components, members...)
	}
	return st
}

// incidentStatus is the status Statuspage shows: a resolved incident with a
// published postmortem is "postmortem".
func incidentStatus(inc *models.Incident) string {
	if inc.Kind == models.KindIncident && !inc.IsOpen() && inc.Postmortem != "" {
		return "postmortem"
	}
	return inc.Status
}

// update converts one official update, its body as plain text.
func update(u *models.IncidentUpdate) Update {
	su := Update{ID: strconv.FormatInt(u.ID, 10), Status: u.Status, IncidentID: strconv.FormatInt(u.IncidentID, 10),
		CreatedAt: stamp(u.CreatedAt), UpdatedAt: stamp(u.CreatedAt), DisplayAt: stamp(u.CreatedAt),
		DeliverNotifications: true}
	if u.Post != nil {
		su.Body = markup.Text(u.Post.HTML)
		if u.Post.EditedAt != nil {
			su.UpdatedAt = stamp(*u.Post.EditedAt)
		}
	}
	for _, tr := range u.Transitions {
		name := ""
		if tr.Service != nil {
			name = tr.Service.Name
		}
		su.AffectedComponents = append(su.AffectedComponents, AffectedComponent{
			Code: strconv.FormatInt(tr.ServiceID, 10), Name: name, OldStatus: tr.OldStatus, NewStatus: tr.NewStatus})
	}
	return su
}

// maintenance converts an incident or maintenance with its official
// updates as a visitor sees them, newest update first.
func (st *state) maintenance(inc *models.Incident) Maintenance {
	return st.maintenanceWith(inc, st.snap.Updates[inc.ID])
}

// maintenanceWith converts an incident or maintenance with the given
// official updates, newest first.
func (st *state) maintenanceWith(inc *models.Incident, updates []models.IncidentUpdate) Maintenance {
	// Statuspage's started_at of a maintenance is when it was published;
	// the window itself is scheduled_for and _until.
	started := inc.StartedAt
	if inc.Kind == models.KindMaintenance {
		started = inc.CreatedAt
	}
	si := Incident{
		ID: strconv.FormatInt(inc.ID, 10), Name: inc.Title, Status: incidentStatus(inc),
		CreatedAt: stamp(inc.CreatedAt), UpdatedAt: stamp(inc.UpdatedAt),
		MonitoringAt: stampPtr(inc.MonitoringAt), ResolvedAt: stampPtr(inc.ResolvedAt),
		Impact: inc.Impact, Shortlink: st.root + "/incidents/" + strconv.FormatInt(inc.ID, 10), StartedAt: stamp(started),
		PageID: st.page.ID, IncidentUpdates: []Update{}, Components: []Component{},
	}
	for i := range updates {
		si.IncidentUpdates = append(si.IncidentUpdates, update(&updates[i]))
	}
	for _, is := range inc.Services {
		if sc, ok := st.byService[is.ServiceID]; ok {
			si.Components = append(si.Components, sc)
		}
	}
	return Maintenance{Incident: si, ScheduledFor: stampPtr(inc.ScheduledFor), ScheduledUntil: stampPtr(inc.ScheduledUntil)}
}

// incidents converts incidents (without maintenance window fields).
func (st *state) incidents(incs []models.Incident) []Incident {
	out := make([]Incident, 0, len(incs))
	for i := range incs {
		out = append(out, st.maintenance(&incs[i]).Incident)
	}
	return out
}

// maintenances converts maintenance windows.
func (st *state) maintenances(incs []models.Incident) []Maintenance {
	out := make([]Maintenance, 0, len(incs))
	for i := range incs {
		out = append(out, st.maintenance(&incs[i]))
	}
	return out
}

// openOf picks the open incidents of kind k that keep (nil keeps all).
func (st *state) openOf(k models.Kind, keep func(*models.Incident) bool) []models.Incident {
	var out []models.Incident
	for _, inc := range st.snap.Open {
		if inc.Kind == k && (keep == nil || keep(&inc)) {
			out = append(out, inc)
		}
	}
	return out
}

// Summary is summary.json: the page, components, unresolved incidents,
// upcoming and active maintenance, and the overall status.
func (s Site) Summary(snap *models.StatusSnapshot, root string) SummaryDoc {
	st := s.newState(snap, root)
	return SummaryDoc{Page: st.page, Components: st.components, Status: st.status,
		Incidents:             st.incidents(st.openOf(models.KindIncident, nil)),
		ScheduledMaintenances: st.maintenances(st.openOf(models.KindMaintenance, nil))}
}
