package loadtest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestReadAnswers(t *testing.T) {
	// Answers one after another on one connection, as keep-alive has them.
	stream := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" +
		"HTTP/1.1 503 Service Unavailable\r\nretry-after: 5\r\nContent-Length: 0\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n" +
		"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 9\r\n\r\n{\"id\":42}" +
		"HTTP/1.1 204 No Content\r\n\r\n" +
		"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 3\r\nConnection: close\r\n\r\nerr"
	want := []struct {
		status     int
		retryAfter bool
		close      bool
		body       string
	}{
		{200, false, false, "hello"},
		{503, true, false, ""},
		{200, false, false, "hello world"},
		{201, false, false, `{"id":42}`},
		{204, false, false, ""},
		{500, false, true, "err"},
	}
	// One byte a read: every answer spans many reads.
	br := bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(stream)), 64)
	var body bytes.Buffer
	for i, w := range want {
		body.Reset()
		a, started, err := readAnswer(br, &body)
		if err != nil || !started || a.status != w.status || a.retryAfter != w.retryAfter || a.close != w.close || body.String() != w.body {
			t.Errorf("answer %d: %+v %q started %v err %v; want %+v", i, a, body.String(), started, err, w)
		}
	}
	if _, started, err := readAnswer(br, nil); started || err != io.EOF {
		t.Errorf("after the last answer: started %v, %v; want io.EOF before any byte", started, err)
	}
}

func TestReadAnswerToClose(t *testing.T) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\n\r\nrest of the connection",
		"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc",
	} {
		a, _, err := readAnswer(bufio.NewReader(strings.NewReader(s)), nil)
		if err != nil || a.status != 200 || !a.close {
			t.Errorf("%q: %+v, %v; want 200 and the connection closed", s, a, err)
		}
	}
	a, _, err := readAnswer(bufio.NewReader(strings.NewReader("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")), nil)
	if err != nil || a.close {
		t.Errorf("HTTP/1.0 keep-alive: %+v, %v", a, err)
	}
}

func TestReadAnswerBroken(t *testing.T) {
	for s, want := range map[string]error{
		"garbage\r\n\r\n":                                              errBadAnswer,
		"HTTP/1.1 2x0 OK\r\n\r\n":                                      errBadAnswer,
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n":                          errBadAnswer,
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n":                errBadAnswer,
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort":           io.ErrUnexpectedEOF,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n":  errBadAnswer,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab": io.ErrUnexpectedEOF,
		"HTTP/1.1 200 OK\r\nContent-Le":                                errBadAnswer,
		"HTTP/1.1 20":                                                  io.ErrUnexpectedEOF,
	} {
		_, started, err := readAnswer(bufio.NewReader(strings.NewReader(s)), nil)
		if !started || !errors.Is(err, want) {
			t.Errorf("%q: started %v, %v; want %v", s, started, err, want)
		}
	}
}

// What the client writes must be what a server reads.
func TestRequestsParse(t *testing.T) {
	get := getRequest("status.example:8080", "/sitrep/incidents/7", "text/html", userAgent)
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(get)))
	if err != nil || r.Method != "GET" || r.Host != "status.example:8080" || r.URL.Path != "/sitrep/incidents/7" ||
		r.Header.Get("Accept") != "text/html" || r.UserAgent() != userAgent || r.Header.Get("Accept-Encoding") != "gzip" {
		t.Errorf("GET parsed as %+v, %v", r, err)
	}
	rj := &replyJob{target: "/api/v1/threads/70/posts", token: "tok", key: "k-1", body: []byte(`{"body":"down"}`)}
	post := appendReply([]byte("left over"), "127.0.0.1:9", rj)[len("left over"):]
	r, err = http.ReadRequest(bufio.NewReader(bytes.NewReader(post)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	if r.Method != "POST" || r.URL.Path != rj.target || r.Header.Get("Authorization") != "Bearer tok" ||
		r.Header.Get("Idempotency-Key") != "k-1" || r.Header.Get("Content-Type") != "application/json" || string(b) != `{"body":"down"}` {
		t.Errorf("POST parsed as %+v with body %q", r, b)
	}
}

// A kept-alive connection that the server closed while idle is dialled
// again and the request sent on the new one; it is not an error.
func TestIdleCloseIsNotAnError(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(s *http.Server) { s.IdleTimeout = 20 * time.Millisecond })
	o := f.opts()
	o.Connections, o.Rate, o.Duration = 1, 5, time.Second
	rep := run(t, o)
	if rep.Total.Requests != 5 || rep.Total.OK != 5 {
		t.Errorf("total %+v, want 5 answered 2xx", rep.Total)
	}
	if rep.ConnsOpened < 2 {
		t.Errorf("%d connections opened: the server's idle close was not met", rep.ConnsOpened)
	}
}
