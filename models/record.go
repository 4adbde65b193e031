package models

import (
	"context"
	"slices"
	"time"
)

// The communication record: for each incident of a window, how the
// official word went. The definitions, which the README and the /record
// page repeat:
//
//   - First report: the earliest customer sign of the problem before the
//     incident was declared: a customer thread later linked to the incident
//     being started, or an "I'm affected" mark on the incident's thread or a
//     linked thread. None when the declaration came first.
//   - First word: the first official update (for an incident, the
//     declaration). Time to first word: first word minus first report,
//     only when there was a first report.
//   - Promises: every official update that gave a "next update by" time.
//     Kept when the incident's next official update was posted at or
//     before that time; missed when it came later, or when none has come
//     and the time has passed; pending while the time has not come.
//   - Longest silence: the longest time while the incident was open
//     without an official update: between one update and the next, unless
//     the first one resolved the incident, and, while it is still open,
//     from its last update until now.
//
// Every official update counts, those a moderator hid later included: they
// were published when they were posted. Maintenance is planned and
// announced ahead; the record covers incidents only.

// RecordIncident is one incident's communication record.
type RecordIncident struct {
	Incident Incident
	// FirstReport is the first report before the declaration, nil when
	// the declaration came first; FirstReportKind says what it was:
	// "thread" or "affected".
	FirstReport     *time.Time
	FirstReportKind string
	FirstWord       time.Time
	TimeToFirstWord *time.Duration
	// Promises made, and of them kept, missed and still pending.
	Promises, Kept, Missed, Pending int
	// LongestSilence runs from SilenceFrom to SilenceUntil; Ongoing when
	// it is the silence since the last update of an open incident.
	LongestSilence            time.Duration
	SilenceFrom, SilenceUntil time.Time
	SilenceOngoing            bool
}

// CommunicationRecord is the record of the incidents declared from Since
// until At, newest first, and its totals.
type CommunicationRecord struct {
	Since, At time.Time
	Incidents []RecordIncident
	// ReportedFirst counts the incidents customers reported before the
	// declaration; the median and the longest time to first word are over
	// those (nil when there are none). The median of an even number is the
	// mean of the middle two.
	ReportedFirst                             int
	MedianTimeToFirstWord, LongestToFirstWord *time.Duration
	Promises, Kept, Missed, Pending           int
	// LongestSilence is the longest of the incidents' longest silences,
	// in LongestSilenceIncident (0 when there are no incidents).
	LongestSilence         time.Duration
	LongestSilenceIncident int64
}

// CommunicationRecord reads the record of the incidents declared since
// since, in one read transaction and four queries whatever their number:
// the incidents, their official updates, the linked threads started before
// each declaration and the affected marks made before it.
func (s *Store) CommunicationRecord(ctx context.Context, since time.Time) (*CommunicationRecord, error) {
	rec := &CommunicationRecord{Since: since.UTC(), At: s.now().UTC()}
	type update struct {
		IncidentID   int64
		Status       string
		NextUpdateAt *time.Time
		CreatedAt    time.Time
	}
	type report struct {
		IncidentID int64
		CreatedAt  time.Time
	}
	var (
		incidents      []Incident
		updates        []update
		threads, marks []report
	)
	const window = `i.kind = 'incident' AND i.started_at >= ?`
	err := s.readSnapshot(ctx, func(rs *Store) error {
		db := rs.db.WithContext(ctx)
		if err := db.Table("incidents AS i").Where(window, since).Order("i.started_at DESC, i.id DESC").Find(&incidents).Error; err != nil {
			return err
		}
		if err := db.Raw(`SELECT u.incident_id, u.status, u.next_update_at, u.created_at FROM incident_updates u
			JOIN incidents i ON i.id = u.incident_id WHERE `+window+` ORDER BY u.incident_id, u.created_at, u.id`, since).Scan(&updates).Error; err != nil {
			return err
		}
		if err := db.Raw(`SELECT t.incident_id, t.created_at FROM threads t JOIN incidents i ON i.id = t.incident_id
			WHERE `+window+` AND t.id <> i.thread_id AND t.created_at < i.started_at`, since).Scan(&threads).Error; err != nil {
			return err
		}
		return db.Raw(`SELECT t.incident_id, m.created_at FROM affected_marks m JOIN threads t ON t.id = m.thread_id
			JOIN incidents i ON i.id = t.incident_id WHERE `+window+` AND m.created_at < i.started_at`, since).Scan(&marks).Error
	})
	if err != nil {
		return nil, err
	}
	byIncident := map[int64][]update{}
	for _, u := range updates {
		byIncident[u.IncidentID] = append(byIncident[u.IncidentID], u)
	}
	type first struct {
		at   time.Time
		kind string
	}
	reports := map[int64]first{}
	for kind, list := range map[string][]report{"thread": threads, "affected": marks} {
		for _, r := range list {
			f, ok := reports[r.IncidentID]
			// A thread and a mark at the same moment: the thread, which
			// carries the first mark itself.
			if !ok || r.CreatedAt.Before(f.at) || r.CreatedAt.Equal(f.at) && kind == "thread" {
				reports[r.IncidentID] = first{r.CreatedAt.UTC(), kind}
			}
		}
	}
	var toFirstWord []time.Duration
	for _, inc := range incidents {
		ri := RecordIncident{Incident: inc, FirstWord: inc.StartedAt.UTC()}
		ups := byIncident[inc.ID]
		if len(ups) > 0 {
			ri.FirstWord = ups[0].CreatedAt.UTC()
		}
		if f, ok := reports[inc.ID]; ok && f.at.Before(ri.FirstWord) {
			d := ri.FirstWord.Sub(f.at)
			ri.FirstReport, ri.FirstReportKind, ri.TimeToFirstWord = &f.at, f.kind, &d
			toFirstWord = append(toFirstWord, d)
		}
		for i, u := range ups {
			var next *update
			if i+1 < len(ups) {
				next = &ups[i+1]
			}
			if u.NextUpdateAt != nil {
				ri.Promises++
				switch {
				case next != nil && !next.CreatedAt.After(*u.NextUpdateAt):
					ri.Kept++
				case next != nil || rec.At.After(*u.NextUpdateAt):
					ri.Missed++
				default:
					ri.Pending++
				}
			}
			// A silence while open: after an update that did not
			// resolve the incident, until the next one, or until now.
			if u.Status == StatusResolved {
				continue
			}
			until, ongoing := rec.At, true
			if next != nil {
				until, ongoing = next.CreatedAt.UTC(), false
			} else if !inc.IsOpen() {
				continue
			}
			if gap := until.Sub(u.CreatedAt); gap > ri.LongestSilence || ri.SilenceFrom.IsZero() {
				ri.LongestSilence, ri.SilenceFrom, ri.SilenceUntil, ri.SilenceOngoing = gap, u.CreatedAt.UTC(), until, ongoing
			}
		}
		rec.Promises += ri.Promises
		rec.Kept += ri.Kept
		rec.Missed += ri.Missed
		rec.Pending += ri.Pending
		if ri.LongestSilence > rec.LongestSilence || rec.LongestSilenceIncident == 0 && !ri.SilenceFrom.IsZero() {
			rec.LongestSilence, rec.LongestSilenceIncident = ri.LongestSilence, inc.ID
		}
		rec.Incidents = append(rec.Incidents, ri)
	}
	rec.ReportedFirst = len(toFirstWord)
	if n := len(toFirstWord); n > 0 {
		slices.Sort(toFirstWord)
		median := toFirstWord[n/2]
		if n%2 == 0 {
			median = (toFirstWord[n/2-1] + toFirstWord[n/2]) / 2
		}
		rec.MedianTimeToFirstWord, rec.LongestToFirstWord = &median, &toFirstWord[n-1]
	}
	return rec, nil
}
