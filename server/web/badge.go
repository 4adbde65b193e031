package web

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"sitrep/models"
	"sitrep/server/httpcache"
)

// Status badges: small SVG images in the familiar two-part style ("status |
// operational"), for READMEs, wikis and other status pages. They are the
// same for everyone, so anyone may cache them for badgeMaxAge, and visitors'
// requests come from the micro-cache.

// badgeMaxAge is how long, in seconds, any cache may keep a badge.
const badgeMaxAge = 60

// badgeSecurityPolicy replaces the pages' policy on badges: an SVG needs
// nothing from anywhere, runs nothing (sandbox), and may be framed by any
// page (an <object> or <iframe> as well as an <img>).
const badgeSecurityPolicy = "default-src 'none'; sandbox"

// isBadge tells whether path is a badge's address.
func isBadge(path string) bool {
	return path == "/badge.svg" || strings.HasPrefix(path, "/services/") && strings.HasSuffix(path, "/badge.svg")
}

// badgeHeaders gives badges their own security headers (securityHeaders
// calls it for every request): the SVG policy, no framing refusal, and a
// resource policy that lets pages which require one embed it.
func badgeHeaders(path string, h http.Header) {
	if !isBadge(path) {
		return
	}
	h.Set("Content-Security-Policy", badgeSecurityPolicy)
	h.Del("X-Frame-Options")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
}

// The colours are the dashboard's, which carry white text at WCAG AA
// contrast.
const (
	badgeGreen  = "#1a7f37"
	badgeYellow = "#9a6700"
	badgeOrange = "#bc4c00"
	badgeRed    = "#cf222e"
	badgeBlue   = "#0969da"
	badgeGrey   = "#555"
)

// serviceBadge is the word and colour for a service's status.
func serviceBadge(st models.ComponentStatus) (word, colour string) {
	switch st {
	case models.UnderMaintenance:
		return "maintenance", badgeBlue
	case models.DegradedPerformance:
		return "degraded", badgeYellow
	case models.PartialOutage:
		return "partial outage", badgeOrange
	case models.MajorOutage:
		return "major outage", badgeRed
	}
	return "operational", badgeGreen
}

// indicatorBadge is the word and colour for the overall indicator, in
// Statuspage's terms: minor, major and critical are a minor, partial and
// major outage.
func indicatorBadge(i models.Indicator) (word, colour string) {
	switch i {
	case models.IndicatorMinor:
		return "minor outage", badgeYellow
	case models.IndicatorMajor:
		return "partial outage", badgeOrange
	case models.IndicatorCritical:
		return "major outage", badgeRed
	case models.IndicatorMaintenance:
		return "maintenance", badgeBlue
	}
	return "operational", badgeGreen
}

// badgeOverall is GET /badge.svg: "status" and the overall indicator.
func (a *App) badgeOverall(c *gin.Context) error {
	snap, err := a.statusSnapshot(c)
	if err != nil {
		return err
	}
	word, colour := indicatorBadge(snap.Indicator)
	writeBadge(c, "status", word, colour)
	return nil
}

// badgeService is GET /services/:id/badge.svg: the service's name and its
// status.
func (a *App) badgeService(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	snap, err := a.statusSnapshot(c)
	if err != nil {
		return err
	}
	for _, s := range snap.Services {
		if s.ID == id {
			st, ok := snap.Statuses[s.ID]
			if !ok {
				st = models.Operational
			}
			word, colour := serviceBadge(st)
			writeBadge(c, s.Name, word, colour)
			return nil
		}
	}
	return errNotFound
}

// writeBadge answers the badge, public and cacheable, with an ETag.
func writeBadge(c *gin.Context, label, message, colour string) {
	httpcache.WritePublic(c, "image/svg+xml; charset=utf-8", badgeSVG(label, message, colour), badgeMaxAge)
}

// badgeLabelMax bounds the label, in characters: a service's name may be
// 80 long, which would make a very wide badge.
const badgeLabelMax = 40

// badgeSVG draws the badge: the label on grey, the message on colour. The
// text is escaped as XML (characters XML cannot hold become U+FFFD), and
// its width is estimated from Verdana's and then enforced with textLength,
// so that the text fits whichever font the reader has.
func badgeSVG(label, message, colour string) []byte {
	if utf8.RuneCountInString(label) > badgeLabelMax {
		label = string([]rune(label)[:badgeLabelMax-1]) + "…"
	}
	lt, mt := textWidth(label), textWidth(message)
	lw, mw := lt+10, mt+10
	w := lw + mw
	title := label + ": " + message
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="20" role="img" aria-label="%s">`, w, xmlEscape(title))
	fmt.Fprintf(&b, `<title>%s</title>`, xmlEscape(title))
	b.WriteString(`<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>`)
	fmt.Fprintf(&b, `<clipPath id="r"><rect width="%d" height="20" rx="3" fill="#fff"/></clipPath>`, w)
	fmt.Fprintf(&b, `<g clip-path="url(#r)"><rect width="%d" height="20" fill="%s"/><rect x="%d" width="%d" height="20" fill="%s"/><rect width="%d" height="20" fill="url(#s)"/></g>`,
		lw, badgeGrey, lw, mw, colour, w)
	b.WriteString(`<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="11">`)
	for _, t := range []struct {
		text   string
		x, len int
	}{{label, lw / 2, lt}, {message, lw + mw/2, mt}} {
		fmt.Fprintf(&b, `<text aria-hidden="true" x="%d" y="15" fill="#010101" fill-opacity=".3" textLength="%d" lengthAdjust="spacingAndGlyphs">%s</text>`, t.x, t.len, xmlEscape(t.text))
		fmt.Fprintf(&b, `<text x="%d" y="14" textLength="%d" lengthAdjust="spacingAndGlyphs">%s</text>`, t.x, t.len, xmlEscape(t.text))
	}
	b.WriteString(`</g></svg>`)
	return b.Bytes()
}

// xmlEscape escapes text for XML content and attribute values alike.
func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// verdana11 holds the advance widths, in pixels, of printable ASCII in
// Verdana at 11 px, from ' ' on.
var verdana11 = [...]float64{
	3.87, 4.33, 5.05, 9.0, 6.99, 11.84, 7.99, 2.95, 4.99, 4.99, 6.99, 9.0, 4.0, 4.99, 4.0, 4.99, // space to /
	6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 4.99, 4.99, 9.0, 9.0, 9.0, 5.99, // 0 to ?
	11.0, 7.52, 7.54, 7.68, 8.48, 6.96, 6.32, 8.53, 8.27, 4.63, 5.0, 7.62, 6.12, 9.27, 8.23, 8.66, // @ to O
	6.63, 8.66, 7.65, 7.52, 6.78, 8.05, 7.52, 10.88, 7.54, 6.77, 7.54, 4.99, 4.99, 4.99, 9.0, 6.99, // P to _
	6.99, 6.61, 6.85, 5.73, 6.85, 6.55, 3.87, 6.85, 6.96, 3.02, 3.79, 6.51, 3.02, 10.7, 6.96, 6.68, // ` to o
	6.85, 6.85, 4.69, 5.73, 4.33, 6.96, 6.51, 8.98, 6.51, 6.51, 5.78, 6.98, 4.99, 6.98, 9.0, // p to ~
}

// textWidth estimates the width of s in Verdana 11 px, rounded up: other
// characters count as a wide letter, East Asian ones as two.
func textWidth(s string) int {
	w := 0.0
	for _, r := range s {
		switch {
		case r >= ' ' && r <= '~':
			w += verdana11[r-' ']
		case r >= 0x1100 && (r <= 0x115f || r >= 0x2e80 && r <= 0xa4cf || r >= 0xac00 && r <= 0xd7a3 || r >= 0xf900 && r <= 0xfaff || r >= 0xff00 && r <= 0xff60):
			w += 11
		default:
			w += 7.5
		}
	}
	return int(w + 0.999)
}
