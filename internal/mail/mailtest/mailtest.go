// Package mailtest runs real IMAP and SMTP servers in the test process,
// over TCP on loopback: an in-memory IMAP server (go-imap's imapmemserver)
// holding one account, and an SMTP server (go-smtp) that captures what it
// receives.
package mailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// IMAP is an in-process IMAP server with one account and an INBOX.
type IMAP struct {
	Addr     string
	User     string
	Password string
	user     *imapmemserver.User
	srv      *imapserver.Server
	ln       net.Listener
}

// StartIMAP starts an IMAP server on a loopback port for the test.
func StartIMAP(tb testing.TB) *IMAP {
	tb.Helper()
	return StartIMAPWith(tb, imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}})
}

// StartIMAPRev1 starts a server that offers IMAP4rev1 alone: no MOVE and
// no UIDPLUS, as older servers, so that clients fall back to COPY, STORE
// \Deleted and EXPUNGE.
func StartIMAPRev1(tb testing.TB) *IMAP {
	tb.Helper()
	return StartIMAPWith(tb, imap.CapSet{imap.CapIMAP4rev1: {}})
}

// StartIMAPWith starts a server offering caps.
func StartIMAPWith(tb testing.TB, caps imap.CapSet) *IMAP {
	tb.Helper()
	return startIMAP(tb, caps, false)
}

// StartIMAPRefusingIdle starts a server that offers IDLE but answers every
// IDLE with NO, as some proxies and misconfigured servers do.
func StartIMAPRefusingIdle(tb testing.TB) *IMAP {
	tb.Helper()
	return startIMAP(tb, imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}, true)
}

// noIdleSession is a memory session of the one account whose IDLE fails.
type noIdleSession struct {
	*imapmemserver.UserSession
	user, pass string
}

func (s noIdleSession) Login(user, pass string) error {
	if user != s.user || pass != s.pass {
		return imapserver.ErrAuthFailed
	}
	return nil
}

func (noIdleSession) Idle(*imapserver.UpdateWriter, <-chan struct{}) error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Text: "IDLE is disabled on this server"}
}

func startIMAP(tb testing.TB, caps imap.CapSet, refuseIdle bool) *IMAP {
	tb.Helper()
	s := &IMAP{User: "desk@example.it", Password: "p@ss:word/1"}
	mem := imapmemserver.New()
	s.user = imapmemserver.NewUser(s.User, s.Password)
	if err := s.user.Create("INBOX", nil); err != nil {
		tb.Fatal(err)
	}
	mem.AddUser(s.user)
	s.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			if refuseIdle {
				return noIdleSession{imapmemserver.NewUserSession(s.user), s.User, s.Password}, nil, nil
			}
			return mem.NewSession(), nil, nil
		},
		Caps:         caps,
		InsecureAuth: true,
		Logger:       quietLogger{},
	})
	var err error
	if s.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	s.Addr = s.ln.Addr().String()
	go s.srv.Serve(s.ln) //nolint:errcheck // ends at Close
	tb.Cleanup(func() { s.Close() })
	return s
}

// Close stops the server.
func (s *IMAP) Close() { _ = s.srv.Close() }

// URL is the imap:// URL of the account, password percent-encoded.
func (s *IMAP) URL() string {
	u := url.URL{Scheme: "imap", User: url.UserPassword(s.User, s.Password), Host: s.Addr, Path: "/INBOX"}
	return u.String()
}

type literal struct {
	*bytes.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }

// Deliver appends a raw message to the INBOX and returns its UID.
func (s *IMAP) Deliver(tb testing.TB, raw []byte) uint32 {
	tb.Helper()
	data, err := s.user.Append("INBOX", literal{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{})
	if err != nil {
		tb.Fatalf("deliver: %v", err)
	}
	return uint32(data.UID)
}

// Client logs in to the server.
func (s *IMAP) Client(tb testing.TB) *imapclient.Client {
	tb.Helper()
	c, err := imapclient.DialInsecure(s.Addr, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Login(s.User, s.Password).Wait(); err != nil {
		tb.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		tb.Fatal(err)
	}
	return c
}

// Seen returns the UIDs of the INBOX's messages with and without \Seen.
func (s *IMAP) Seen(tb testing.TB) (seen, unseen []uint32) {
	tb.Helper()
	return s.SeenIn(tb, "INBOX")
}

// SeenIn returns the UIDs of a folder's messages with and without \Seen
// (none when the folder does not exist).
func (s *IMAP) SeenIn(tb testing.TB, folder string) (seen, unseen []uint32) {
	tb.Helper()
	c, err := imapclient.DialInsecure(s.Addr, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(s.User, s.Password).Wait(); err != nil {
		tb.Fatal(err)
	}
	if _, err := c.Select(folder, nil).Wait(); err != nil {
		return nil, nil
	}
	msgs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		// An empty mailbox answers "1:*" with an error on some servers.
		return nil, nil
	}
	for _, m := range msgs {
		isSeen := false
		for _, f := range m.Flags {
			isSeen = isSeen || f == imap.FlagSeen
		}
		if isSeen {
			seen = append(seen, uint32(m.UID))
		} else {
			unseen = append(unseen, uint32(m.UID))
		}
	}
	return seen, unseen
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// Sent is a message received by the SMTP server.
type Sent struct {
	From string
	To   []string
	Data []byte
	Auth string // user name, if the client authenticated
}

// SMTP is an in-process SMTP server that keeps what it receives.
type SMTP struct {
	Addr string
	// Fail, when set, answers DATA with this error (e.g. a 4xx).
	Fail func() error

	mu   sync.Mutex
	sent []Sent
	cond chan struct{}
	srv  *smtp.Server
}

// StartSMTP starts an SMTP server on a loopback port for the test.
func StartSMTP(tb testing.TB) *SMTP {
	tb.Helper()
	s := &SMTP{cond: make(chan struct{}, 1)}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	go s.srv.Serve(ln) //nolint:errcheck // ends at Close
	tb.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// URL is the smtp:// URL of the server (no authentication).
func (s *SMTP) URL() string { return "smtp://" + s.Addr }

// Sent returns a copy of what was received so far.
func (s *SMTP) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// Wait returns once at least n messages were received, or fails the test.
func (s *SMTP) Wait(tb testing.TB, n int, timeout time.Duration) []Sent {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if got := s.Sent(); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			tb.Fatalf("SMTP: %d messages received, want %d", len(s.Sent()), n)
		}
		select {
		case <-s.cond:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

type session struct {
	s    *SMTP
	cur  Sent
	user string
}

func (x *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, _ string) error {
		x.user = user
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.cur = Sent{From: from, Auth: x.user}
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.cur.To = append(x.cur.To, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if x.s.Fail != nil {
		if err := x.s.Fail(); err != nil {
			return err
		}
	}
	x.cur.Data = b
	x.s.mu.Lock()
	x.s.sent = append(x.s.sent, x.cur)
	x.s.mu.Unlock()
	select {
	case x.s.cond <- struct{}{}:
	default:
	}
	return nil
}

func (x *session) Reset()        { x.cur = Sent{} }
func (x *session) Logout() error { return nil }

// TempFail is a 4xx answer for SMTP.Fail.
var TempFail = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}

// PermFail is a 5xx answer for SMTP.Fail.
var PermFail = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}

// Message builds a simple raw message.
func Message(from, to, subject, body string, headers ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n", from, to, subject, time.Now().Format(time.RFC1123Z))
	hasID := false
	for _, h := range headers {
		if len(h) > 11 && (h[:11] == "Message-ID:" || h[:11] == "Message-Id:") {
			hasID = true
		}
		b.WriteString(h + "\r\n")
	}
	if !hasID {
		fmt.Fprintf(&b, "Message-ID: <%d.%d@client.example.it>\r\n", time.Now().UnixNano(), counter())
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(body)
	b.WriteString("\r\n")
	return b.Bytes()
}

var (
	cmu sync.Mutex
	cn  int
)

func counter() int {
	cmu.Lock()
	defer cmu.Unlock()
	cn++
	return cn
}

// ErrStop is a convenient sentinel for tests.
var ErrStop = errors.New("stop")

// TLS returns a server configuration with a fresh self-signed certificate
// for 127.0.0.1 and localhost, and the pool that trusts it.
func TLS(tb testing.TB) (*tls.Config, *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mailtest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:    []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}, pool
}

// StartSMTPTLS starts an SMTP server offering STARTTLS (implicit false)
// or speaking TLS from the first byte (implicit true).
func StartSMTPTLS(tb testing.TB, cfg *tls.Config, implicit bool) *SMTP {
	tb.Helper()
	s := &SMTP{cond: make(chan struct{}, 1)}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.TLSConfig = cfg
	var ln net.Listener
	var err error
	if implicit {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", cfg)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		tb.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	go s.srv.Serve(ln) //nolint:errcheck // ends at Close
	tb.Cleanup(func() { _ = s.srv.Close() })
	return s
}
