package outbox

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sportello/sportello/internal/mail/mailbox"
)

// Sender delivers one encoded message to an SMTP server.
type Sender interface {
	Send(ctx context.Context, ep mailbox.Endpoint, password mailbox.Secret, from string, to []string, raw []byte) error
}

// PermanentError is a refusal that retrying will not change (an SMTP 5xx
// reply): the message is marked failed at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// SMTP sends with go-smtp: smtps:// uses TLS from the start, smtp:// uses
// STARTTLS when the server offers it. A password is sent only over TLS or
// to a loopback address (or with ?insecure=1).
type SMTP struct {
	// RootCAs verifies server certificates (nil: the system's roots).
	RootCAs *x509.CertPool
	// HelloName is the name given in EHLO (default "localhost").
	HelloName string
	// Timeout bounds one delivery (default 2 minutes).
	Timeout time.Duration

	mu       sync.Mutex
	starttls map[string]bool // endpoints known to offer STARTTLS
}

func (s *SMTP) tlsConfig(ep mailbox.Endpoint) *tls.Config {
	return &tls.Config{ServerName: ep.Host, RootCAs: s.RootCAs, InsecureSkipVerify: ep.Insecure, MinVersion: tls.VersionTLS12} //nolint:gosec // Insecure is an explicit per-mailbox test option
}

func (s *SMTP) offersStartTLS(addr string) (known, offered bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.starttls[addr]
	return ok, v
}

func (s *SMTP) remember(addr string, offered bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.starttls == nil {
		s.starttls = map[string]bool{}
	}
	s.starttls[addr] = offered
}

func (s *SMTP) dial(ctx context.Context, ep mailbox.Endpoint, deadline time.Time) (net.Conn, error) {
	d := &net.Dialer{Timeout: 30 * time.Second}
	var conn net.Conn
	var err error
	if ep.TLS() {
		conn, err = (&tls.Dialer{NetDialer: d, Config: s.tlsConfig(ep)}).DialContext(ctx, "tcp", ep.Addr())
	} else {
		conn, err = d.DialContext(ctx, "tcp", ep.Addr())
	}
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(deadline)
	return conn, nil
}

// connect returns a client after EHLO, upgraded with STARTTLS when offered.
func (s *SMTP) connect(ctx context.Context, ep mailbox.Endpoint, deadline time.Time) (*smtp.Client, bool, error) {
	hello := s.HelloName
	if hello == "" {
		hello = "localhost"
	}
	conn, err := s.dial(ctx, ep, deadline)
	if err != nil {
		return nil, false, err
	}
	if ep.TLS() {
		c := smtp.NewClient(conn)
		return c, true, c.Hello(hello)
	}
	if known, offered := s.offersStartTLS(ep.Addr()); known && offered {
		c, err := smtp.NewClientStartTLS(conn, s.tlsConfig(ep))
		if err != nil {
			return nil, false, fmt.Errorf("STARTTLS: %w", err)
		}
		return c, true, nil
	}
	c := smtp.NewClient(conn)
	if err := c.Hello(hello); err != nil {
		c.Close()
		return nil, false, err
	}
	offered, _ := c.Extension("STARTTLS")
	s.remember(ep.Addr(), offered)
	if !offered {
		return c, false, nil
	}
	// go-smtp upgrades only a fresh connection: start again with STARTTLS.
	_ = c.Quit()
	conn, err = s.dial(ctx, ep, deadline)
	if err != nil {
		return nil, false, err
	}
	c, err = smtp.NewClientStartTLS(conn, s.tlsConfig(ep))
	if err != nil {
		return nil, false, fmt.Errorf("STARTTLS: %w", err)
	}
	return c, true, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send delivers raw to the recipients with from as envelope sender.
func (s *SMTP) Send(ctx context.Context, ep mailbox.Endpoint, password mailbox.Secret, from string, to []string, raw []byte) error {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c, secure, err := s.connect(ctx, ep, deadline)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", ep.Addr(), err)
	}
	defer c.Close()
	if ep.User != "" {
		if !secure && !loopback(ep.Host) && !ep.Insecure {
			return &PermanentError{fmt.Errorf("%s offers no TLS: refusing to send the password in clear (use smtps://, or ?insecure=1 to force)", ep.Addr())}
		}
		var a sasl.Client
		switch {
		case c.SupportsAuth("PLAIN"):
			a = sasl.NewPlainClient("", ep.User, password.Reveal())
		case c.SupportsAuth("LOGIN"):
			a = sasl.NewLoginClient(ep.User, password.Reveal())
		default:
			return fmt.Errorf("%s offers neither AUTH PLAIN nor LOGIN", ep.Addr())
		}
		if err := c.Auth(a); err != nil {
			return classify(fmt.Errorf("authentication as %s: %w", ep.User, err))
		}
	}
	if err := c.SendMail(from, to, bytes.NewReader(raw)); err != nil {
		return classify(err)
	}
	_ = c.Quit()
	return nil
}

// classify marks 5xx replies as permanent.
func classify(err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 {
		return &PermanentError{err}
	}
	return err
}
