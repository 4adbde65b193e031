package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
	"sitrep/server/httpcache"
)

// The public communication record (/record and GET /api/v1/record): for
// the incidents of the dashboard's 90 days, how long customers waited for
// the first official word, how the "next update by" promises went and the
// longest silences. The definitions are in models/record.go, on the page
// and in the README.

// recordMaxAge is how long, in seconds, any cache may keep the JSON record.
const recordMaxAge = 60

// readRecord reads the record of the dashboard's window; the page and the
// JSON show it.
func (a *App) readRecord(c *gin.Context) (*models.CommunicationRecord, error) {
	return a.store.CommunicationRecord(c.Request.Context(), models.HistoryStart(a.now(), models.StatusHistoryDays))
}

// keptShare is the share of the decided promises (kept or missed) that
// were kept, as the page writes it: "75%", or "" when none is decided.
func keptShare(kept, missed int) string {
	if kept+missed == 0 {
		return ""
	}
	return strconv.Itoa(kept*100/(kept+missed)) + "%"
}

type recordPage struct {
	base
	Record    *models.CommunicationRecord
	KeptShare string
}

// record is the page.
func (a *App) record(c *gin.Context) error {
	rec, err := a.readRecord(c)
	if err != nil {
		return err
	}
	return a.renderPage(c, http.StatusOK, "record", &recordPage{base: a.base(c, "Communication record"), Record: rec,
		KeptShare: keptShare(rec.Kept, rec.Missed)})
}

// apiRecordIncident is one incident's record in JSON; durations are whole
// seconds, and null where there is nothing to measure.
type apiRecordIncident struct {
	ID                     int64      `json:"id"`
	Title                  string     `json:"title"`
	URL                    string     `json:"url"`
	Impact                 string     `json:"impact"`
	Status                 string     `json:"status"`
	StartedAt              time.Time  `json:"started_at"`
	ResolvedAt             *time.Time `json:"resolved_at"`
	FirstReportAt          *time.Time `json:"first_report_at"`
	FirstReport            *string    `json:"first_report"`
	FirstWordAt            time.Time  `json:"first_word_at"`
	TimeToFirstWordSeconds *int64     `json:"time_to_first_word_seconds"`
	PromisesMade           int        `json:"promises_made"`
	PromisesKept           int        `json:"promises_kept"`
	PromisesMissed         int        `json:"promises_missed"`
	PromisesPending        int        `json:"promises_pending"`
	LongestSilenceSeconds  *int64     `json:"longest_silence_seconds"`
	LongestSilenceFrom     *time.Time `json:"longest_silence_from"`
	LongestSilenceUntil    *time.Time `json:"longest_silence_until"`
	SilenceOngoing         bool       `json:"silence_ongoing"`
}

type apiRecordSummary struct {
	Incidents                    int    `json:"incidents"`
	ReportedFirst                int    `json:"reported_first"`
	MedianTimeToFirstWordSeconds *int64 `json:"median_time_to_first_word_seconds"`
	LongestTimeToFirstWordSecs   *int64 `json:"longest_time_to_first_word_seconds"`
	PromisesMade                 int    `json:"promises_made"`
	PromisesKept                 int    `json:"promises_kept"`
	PromisesMissed               int    `json:"promises_missed"`
	PromisesPending              int    `json:"promises_pending"`
	LongestSilenceSeconds        *int64 `json:"longest_silence_seconds"`
	LongestSilenceIncidentID     *int64 `json:"longest_silence_incident_id"`
}

type apiRecord struct {
	Since     time.Time           `json:"since"`
	Until     time.Time           `json:"until"`
	Summary   apiRecordSummary    `json:"summary"`
	Incidents []apiRecordIncident `json:"incidents"`
}

// wholeSeconds is a duration in whole seconds, or nil.
func wholeSeconds(d *time.Duration) *int64 {
	if d == nil {
		return nil
	}
	s := int64(d.Round(time.Second) / time.Second)
	return &s
}

// toAPIRecord is the record as GET /api/v1/record answers it.
func toAPIRecord(rec *models.CommunicationRecord) apiRecord {
	out := apiRecord{Since: rec.Since, Until: rec.At, Incidents: []apiRecordIncident{}, Summary: apiRecordSummary{
		Incidents: len(rec.Incidents), ReportedFirst: rec.ReportedFirst,
		MedianTimeToFirstWordSeconds: wholeSeconds(rec.MedianTimeToFirstWord), LongestTimeToFirstWordSecs: wholeSeconds(rec.LongestToFirstWord),
		PromisesMade: rec.Promises, PromisesKept: rec.Kept, PromisesMissed: rec.Missed, PromisesPending: rec.Pending,
	}}
	if rec.LongestSilenceIncident != 0 {
		out.Summary.LongestSilenceSeconds, out.Summary.LongestSilenceIncidentID = wholeSeconds(&rec.LongestSilence), &rec.LongestSilenceIncident
	}
	for _, ri := range rec.Incidents {
		inc := ri.Incident
		row := apiRecordIncident{ID: inc.ID, Title: inc.Title, URL: incidentURL(inc.ID), Impact: inc.Impact, Status: inc.Status,
			StartedAt: inc.StartedAt.UTC(), ResolvedAt: utcPtr(inc.ResolvedAt), FirstReportAt: utcPtr(ri.FirstReport),
			FirstWordAt: ri.FirstWord, TimeToFirstWordSeconds: wholeSeconds(ri.TimeToFirstWord),
			PromisesMade: ri.Promises, PromisesKept: ri.Kept, PromisesMissed: ri.Missed, PromisesPending: ri.Pending,
			SilenceOngoing: ri.SilenceOngoing}
		if ri.FirstReport != nil {
			kind := ri.FirstReportKind
			row.FirstReport = &kind
		}
		if !ri.SilenceFrom.IsZero() {
			row.LongestSilenceSeconds = wholeSeconds(&ri.LongestSilence)
			row.LongestSilenceFrom, row.LongestSilenceUntil = utcPtr(&ri.SilenceFrom), utcPtr(&ri.SilenceUntil)
		}
		out.Incidents = append(out.Incidents, row)
	}
	return out
}

// apiRecord is GET /api/v1/record: the same for everyone, so public and
// cacheable for a minute, with an ETag.
func (a *App) apiRecord(c *gin.Context) error {
	rec, err := a.readRecord(c)
	if err != nil {
		return err
	}
	body, err := json.Marshal(toAPIRecord(rec))
	if err != nil {
		return err
	}
	httpcache.WritePublic(c, "application/json; charset=utf-8", body, recordMaxAge)
	return nil
}
