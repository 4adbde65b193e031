package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// parseForm parses a form body explicitly, so that a body over the limit is a
// 413 rather than silently empty fields.
func parseForm(c *gin.Context) error {
	// A page's form comes as a form; JSON belongs to /api/v1, and reading
	// it as an empty form would drop what was sent without a word.
	if ct := c.ContentType(); ct != "" && ct != "application/x-www-form-urlencoded" && ct != "multipart/form-data" {
		return &httpError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "This address takes a form; send JSON to the same action under /api/v1."}
	}
	if err := c.Request.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return badRequest("The form could not be read.")
	}
	return nil
}

// decodeJSON reads a JSON body into a small request struct. Fields the struct
// does not name are ignored, so extra fields such as "role" change nothing.
// An empty body is an empty object: the validation then says what is
// missing.
func decodeJSON(c *gin.Context, dst any) error {
	dec := json.NewDecoder(c.Request.Body)
	if err := dec.Decode(dst); err != nil {
		var mbe *http.MaxBytesError
		var ute *json.UnmarshalTypeError
		var pe *time.ParseError
		switch {
		case errors.As(err, &mbe):
			return errTooLarge
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &ute) && ute.Field != "":
			return &httpError{Status: http.StatusUnprocessableEntity, Code: "invalid",
				Message: fmt.Sprintf("%s: expected a JSON %s, got %s.", ute.Field, jsonKind(ute.Type), ute.Value)}
		case errors.As(err, &pe):
			return &httpError{Status: http.StatusUnprocessableEntity, Code: "invalid",
				Message: fmt.Sprintf("%q is not a time; write times in RFC 3339, such as 2026-03-14T09:30:00Z.", pe.Value)}
		case strings.HasPrefix(err.Error(), "Time.UnmarshalJSON"):
			// time.Time says no more than this of a number or an object.
			return &httpError{Status: http.StatusUnprocessableEntity, Code: "invalid",
				Message: "Times are JSON strings in RFC 3339, such as \"2026-03-14T09:30:00Z\"."}
		}
		return errBadJSON
	}
	if dec.More() {
		return errBadJSON
	}
	return nil
}

// jsonKind names a Go type the way a JSON client thinks of it.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64:
		return "whole number in range"
	case reflect.Float64, reflect.Float32:
		return "number"
	case reflect.Slice:
		return "array"
	}
	return "object"
}

// idAndForm reads the id in the path and the form of a post about it.
func idAndForm(c *gin.Context) (int64, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return 0, err
	}
	return id, parseForm(c)
}

// idAndJSON reads the id in the path and the JSON body about it.
func idAndJSON(c *gin.Context, dst any) (int64, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return 0, err
	}
	return id, decodeJSON(c, dst)
}

// pathID reads a positive integer path parameter; anything else is a 404.
func pathID(c *gin.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id < 1 {
		return 0, errNotFound
	}
	return id, nil
}

// pageParam reads ?page= (1-based) and ?per_page=, clamped by the Store.
func pageParam(c *gin.Context, defaultPer int) (models.Page, error) {
	p := models.Page{Number: 1, PerPage: defaultPer}
	if v := c.Query("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			return p, badRequest("page must be a whole number from 1.")
		}
		p.Number = n
	}
	if v := c.Query("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, badRequest("per_page must be a whole number from 1 (at most 100).")
		}
		p.PerPage = n
	}
	return p.Normalize(defaultPer), nil
}

// pager holds the links to the neighbouring pages of a list.
type pager struct{ Prev, Next string }

func newPager(c *gin.Context, p models.Page, hasNext bool) pager {
	return pagerAt(c.Request.URL.Path, c.Request.URL.Query(), p, hasNext)
}

// pagerAt links the pages of the list at path with query q.
func pagerAt(path string, q url.Values, p models.Page, hasNext bool) pager {
	link := func(n int) string {
		q.Set("page", strconv.Itoa(n))
		return path + "?" + q.Encode()
	}
	var pg pager
	if p.Number > 1 {
		pg.Prev = link(p.Number - 1)
	}
	if hasNext {
		pg.Next = link(p.Number + 1)
	}
	return pg
}

// threadPager links the thread list's pages: the next one is read after
// the last thread shown, by key, so that a deep page costs what the first
// does; the previous one by its number.
func threadPager(c *gin.Context, threads models.Paged[models.Thread]) pager {
	q := c.Request.URL.Query()
	q.Del("after")
	pg := pagerAt(c.Request.URL.Path, q, threads.Page, false)
	if threads.HasNext {
		q.Set("after", threads.Items[len(threads.Items)-1].Key().String())
		q.Set("page", strconv.Itoa(threads.Page.Number+1))
		pg.Next = c.Request.URL.Path + "?" + q.Encode()
	}
	return pg
}

// fieldErrors returns the per-field messages of a validation error, or nil.
func fieldErrors(err error) map[string]string {
	var ve *models.ValidationError
	if errors.As(err, &ve) {
		return ve.Fields
	}
	return nil
}

// firstMessage joins field messages into one sentence for forms that show a
// single message.
func firstMessage(fields map[string]string) string {
	msgs := make([]string, 0, len(fields))
	for _, m := range fields {
		msgs = append(msgs, m)
	}
	return strings.Join(msgs, " ")
}

// writeJSON answers v with status. It returns nil so that a handler can end
// with it.
func writeJSON(c *gin.Context, status int, v any) error {
	c.JSON(status, v)
	return nil
}

// listJSON is a list answer: the items under key, the page it holds and
// whether more pages follow ("has_more", the one name for it across the
// API).
func listJSON[T any](key string, items any, pg models.Paged[T]) gin.H {
	return gin.H{key: items, "page": pg.Page.Number, "has_more": pg.HasNext}
}

// legacyListJSON is listJSON for the lists that said "has_next" before the
// API settled on "has_more": they say both, so that clients reading the old
// name keep working.
func legacyListJSON[T any](key string, items any, pg models.Paged[T]) gin.H {
	h := listJSON(key, items, pg)
	h["has_next"] = pg.HasNext
	return h
}
