package loadtest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
)

// A minimal HTTP/1.1 client for the load itself. net/http's Transport
// costs, per request, two goroutine hand-offs (its read and write loops),
// a context, a cloned request and a parsed header map; measured against
// Sitrep's cached pages that made the generator as expensive as the server
// it shares two cores with. Here a request is one prebuilt write and
// usually one read, on the worker's own goroutine, with nothing allocated.
// Discovery and the streams, a handful of requests, still use net/http.

const userAgent = "sitrep-loadtest"

// replyJob is one reply: where, as whom, and what.
type replyJob struct {
	target, token, key string
	body               []byte
}

// errBadAnswer is an answer that is not HTTP/1.x as this client reads it.
var errBadAnswer = errors.New("malformed HTTP answer")

// answer is what the load needs from a response.
type answer struct {
	status     int
	retryAfter bool
	close      bool // the server will not take another request on this connection
}

// readAnswer reads one response from br, through the end of its body.
// The body is appended to body when body is not nil, else discarded.
// Informational (1xx) answers before it are skipped. started says whether
// any byte of an answer came.
func readAnswer(br *bufio.Reader, body *bytes.Buffer) (a answer, started bool, err error) {
	if _, err := br.Peek(1); err != nil {
		return a, false, err
	}
	a, err = readBody(br, body)
	return a, true, err
}

func readBody(br *bufio.Reader, body *bytes.Buffer) (answer, error) {
	for {
		a, length, chunked, err := readHead(br)
		if err != nil {
			return a, err
		}
		if a.status >= 100 && a.status < 200 && a.status != 101 {
			continue
		}
		switch {
		case a.status == 204 || a.status == 304 || (a.status >= 100 && a.status < 200):
			return a, nil
		case chunked:
			return a, readChunked(br, body)
		case length >= 0:
			return a, readN(br, length, body)
		}
		// No length: the body runs to the end of the connection.
		a.close = true
		if body != nil {
			_, err = body.ReadFrom(br)
		} else {
			_, err = io.Copy(io.Discard, br)
		}
		return a, err
	}
}

// readHead reads the status line and headers. length is -1 when the
// answer gives none.
func readHead(br *bufio.Reader) (a answer, length int64, chunked bool, err error) {
	length = -1
	line, err := br.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull {
			err = errBadAnswer
		}
		return a, length, false, unexpected(err)
	}
	// HTTP/1.1 200 OK
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return a, length, false, errBadAnswer
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return a, length, false, errBadAnswer
		}
		a.status = a.status*10 + int(c-'0')
	}
	http10 := line[7] == '0'
	keepAlive := false
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			if err == bufio.ErrBufferFull || err == io.EOF {
				err = errBadAnswer
			}
			return a, length, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		i := bytes.IndexByte(line, ':')
		if i <= 0 {
			return a, length, false, errBadAnswer
		}
		name, value := line[:i], bytes.TrimSpace(line[i+1:])
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 {
				return a, length, false, errBadAnswer
			}
			length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = hasToken(value, "chunked")
		case bytes.EqualFold(name, []byte("Connection")):
			a.close = a.close || hasToken(value, "close")
			keepAlive = hasToken(value, "keep-alive")
		case bytes.EqualFold(name, []byte("Retry-After")):
			a.retryAfter = len(value) > 0
		}
	}
	if http10 && !keepAlive {
		a.close = true
	}
	return a, length, chunked, nil
}

// hasToken says whether a comma-separated header value holds token.
func hasToken(v []byte, token string) bool {
	for part := range bytes.SplitSeq(v, []byte(",")) {
		if bytes.EqualFold(bytes.TrimSpace(part), []byte(token)) {
			return true
		}
	}
	return false
}

func readN(br *bufio.Reader, n int64, body *bytes.Buffer) error {
	if body != nil {
		_, err := io.CopyN(body, br, n)
		return unexpected(err)
	}
	for n > 0 {
		// Discard skips what is buffered and reads the rest through the
		// buffer: no copy out, no allocation.
		chunk := int(min(n, 1<<30))
		d, err := br.Discard(chunk)
		n -= int64(d)
		if err != nil {
			return unexpected(err)
		}
	}
	return nil
}

func readChunked(br *bufio.Reader, body *bytes.Buffer) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return chunkErr(err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // chunk extensions
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || size < 0 {
			return errBadAnswer
		}
		if size == 0 {
			// Trailers, up to a blank line.
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					return chunkErr(err)
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if err := readN(br, size, body); err != nil {
			return err
		}
		if line, err := br.ReadSlice('\n'); err != nil || len(bytes.TrimRight(line, "\r\n")) != 0 {
			return chunkErr(err)
		}
	}
}

func chunkErr(err error) error {
	if err == nil || err == bufio.ErrBufferFull {
		return errBadAnswer
	}
	return unexpected(err)
}

// unexpected turns an EOF inside a body into the error it is.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// getRequest is a prebuilt GET.
func getRequest(host, target, accept, ua string) []byte {
	var b bytes.Buffer
	b.WriteString("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: " + ua + "\r\nAccept: " + accept + "\r\n")
	if ua == userAgent {
		// Browsers and API clients ask for gzip; the tool does not decode
		// it, only counts the bytes.
		b.WriteString("Accept-Encoding: gzip\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// appendReply appends a reply's POST to buf.
func appendReply(buf []byte, host string, r *replyJob) []byte {
	buf = append(buf, "POST "...)
	buf = append(buf, r.target...)
	buf = append(buf, " HTTP/1.1\r\nHost: "...)
	buf = append(buf, host...)
	buf = append(buf, "\r\nUser-Agent: "+userAgent+"\r\nAccept: application/json\r\nContent-Type: application/json\r\nAuthorization: Bearer "...)
	buf = append(buf, r.token...)
	buf = append(buf, "\r\nIdempotency-Key: "...)
	buf = append(buf, r.key...)
	buf = append(buf, "\r\nContent-Length: "...)
	buf = strconv.AppendInt(buf, int64(len(r.body)), 10)
	buf = append(buf, "\r\n\r\n"...)
	return append(buf, r.body...)
}
