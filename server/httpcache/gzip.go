package httpcache

import (
	"bytes"
	"compress/gzip"
	"strconv"
	"strings"
)

// minGzip is the smallest body worth compressing: below it the gzip
// header and the work cost more than they save.
const minGzip = 1024

// compressible tells the media types that shrink: text, JSON, XML and its
// feeds, SVG. Images and fonts are compressed already.
func compressible(ctype string) bool {
	mt, _, _ := strings.Cut(strings.ToLower(ctype), ";")
	mt = strings.TrimSpace(mt)
	return strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "json") || strings.HasSuffix(mt, "xml") ||
		mt == "application/javascript"
}

// gzipped is body compressed once, when it is stored, for every visitor
// whose browser takes gzip (all of them): the day's dashboard is sent as a
// few kilobytes instead of a hundred. Nil when compression does not pay.
func gzipped(ctype string, body []byte) []byte {
	if len(body) < minGzip || !compressible(ctype) {
		return nil
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // a valid level: no error
	if _, err := zw.Write(body); err != nil {
		return nil
	}
	if err := zw.Close(); err != nil || buf.Len() >= len(body) {
		return nil
	}
	return buf.Bytes()
}

// acceptsGzip reads Accept-Encoding (RFC 9110 12.5.3): gzip, or *, with a
// weight above zero.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "x-gzip" && name != "*" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if q > 0 {
			return true
		}
	}
	return false
}

// gzipETag is the ETag of an answer's gzip form: another representation,
// so another strong validator.
func gzipETag(etag string) string {
	if strings.HasSuffix(etag, `"`) {
		return etag[:len(etag)-1] + `-gzip"`
	}
	return etag
}
