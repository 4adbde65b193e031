// Package mailtest is an SMTP server for tests, in process (emersion's
// go-smtp): it keeps every mail it is given, or refuses them as told.
package mailtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one mail as it arrived.
type Message struct {
	From string
	To   []string
	Data []byte
}

// Parse reads the mail with net/mail.
func (m Message) Parse() (*mail.Message, error) { return mail.ReadMessage(bytes.NewReader(m.Data)) }

// Server is a running SMTP server on 127.0.0.1.
type Server struct {
	Addr string
	srv  *smtp.Server

	mu   sync.Mutex
	msgs []Message
	// Reject, when set, answers each recipient with its error (an
	// *smtp.SMTPError such as 450 or 550, to test retries and refusals).
	reject func(to string) error
	signal chan struct{}
}

// Start runs a server on a port the kernel picks.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: ln.Addr().String(), signal: make(chan struct{}, 1)}
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "mailtest.localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout, s.srv.WriteTimeout = 30*time.Second, 30*time.Second
	s.srv.MaxMessageBytes = 10 << 20
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the server's address for -smtp-url.
func (s *Server) URL() string { return "smtp://" + s.Addr }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Reject makes the server refuse recipients with what f answers (nil
// accepts); Reject(nil) accepts every one again.
func (s *Server) Reject(f func(to string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = f
}

// Messages are the mails received so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Count is how many mails arrived.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// Wait waits until at least n mails arrived, at most timeout.
func (s *Server) Wait(n int, timeout time.Duration) ([]Message, error) {
	deadline := time.After(timeout)
	for {
		if msgs := s.Messages(); len(msgs) >= n {
			return msgs, nil
		}
		select {
		case <-s.signal:
		case <-deadline:
			return s.Messages(), fmt.Errorf("%d mails arrived within %s, want %d", s.Count(), timeout, n)
		}
	}
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s    *Server
	from string
	to   []string
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	reject := x.s.reject
	x.s.mu.Unlock()
	if reject != nil {
		if err := reject(to); err != nil {
			return err
		}
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(x.to) == 0 {
		return errors.New("no recipients")
	}
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, Message{From: x.from, To: x.to, Data: data})
	x.s.mu.Unlock()
	select {
	case x.s.signal <- struct{}{}:
	default:
	}
	return nil
}

func (x *session) Reset() { x.from, x.to = "", nil }

func (x *session) Logout() error { return nil }
