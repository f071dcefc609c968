package mailbox

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
)

// Secret is a password in clear. It prints as "***" in every format and in
// slog, so that it cannot leak through a log line or an error by accident;
// Reveal returns the clear text for the one place that needs it.
type Secret string

func (Secret) String() string               { return "***" }
func (Secret) GoString() string             { return "***" }
func (Secret) LogValue() slog.Value         { return slog.StringValue("***") }
func (s Secret) Reveal() string             { return string(s) }
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("***")) }

// Endpoint is an IMAP or SMTP server and the account used on it. It holds
// no password in clear: Secret is the stored form (sealed, or env:NAME).
type Endpoint struct {
	// Scheme is imap, imaps, smtp or smtps. imaps and smtps use TLS from
	// the first byte; smtp upgrades with STARTTLS when the server offers
	// it; imap is plain unless StartTLS is set.
	Scheme string
	Host   string // host name or IP, without port
	Port   string
	User   string
	// Secret is the stored password: "v1:…" sealed with the secret key,
	// "env:NAME" for an environment variable, "" for no authentication.
	Secret string
	// Folder is the IMAP folder named in the URL path ("" if none).
	Folder string
	// StartTLS asks for STARTTLS on imap:// (?starttls=1).
	StartTLS bool
	// Insecure skips TLS certificate verification (?insecure=1), for test
	// servers with self-signed certificates only.
	Insecure bool
}

var defaultPorts = map[string]string{"imap": "143", "imaps": "993", "smtp": "587", "smtps": "465"}

// ErrURL is wrapped by every URL parsing error. The messages never repeat
// the URL itself, which may hold a password.
var ErrURL = errors.New("invalid mailbox URL")

// ParseURL parses an endpoint URL such as imap://user:pass@127.0.0.1:1143/INBOX
// (user and password percent-encoded) and returns the endpoint and the
// password. kind is "imap" or "smtp"; the secure variants are accepted for
// it. A password of the form env:NAME is kept as a reference (the returned
// password is then empty and Endpoint.Secret holds the reference).
func ParseURL(raw, kind string) (Endpoint, Secret, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the input: never return it.
		return Endpoint{}, "", fmt.Errorf("%w: expected %s://user:password@host:port (percent-encode special characters in user and password)", ErrURL, kind)
	}
	e := Endpoint{Scheme: strings.ToLower(u.Scheme)}
	if e.Scheme != kind && e.Scheme != kind+"s" {
		return Endpoint{}, "", fmt.Errorf("%w: scheme must be %s:// or %ss://, not %q", ErrURL, kind, kind, u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return Endpoint{}, "", fmt.Errorf("%w: expected %s://user:password@host:port", ErrURL, kind)
	}
	e.Host = u.Hostname()
	e.Port = u.Port()
	if e.Port == "" {
		e.Port = defaultPorts[e.Scheme]
	}
	if e.Host == "" {
		return Endpoint{}, "", fmt.Errorf("%w: missing host", ErrURL)
	}
	var pass Secret
	if u.User != nil {
		e.User = u.User.Username()
		if p, ok := u.User.Password(); ok {
			if name, isEnv := strings.CutPrefix(p, "env:"); isEnv {
				if !validEnvName(name) {
					return Endpoint{}, "", fmt.Errorf("%w: env:NAME must name an environment variable (letters, digits, _)", ErrURL)
				}
				e.Secret = "env:" + name
			} else {
				pass = Secret(p)
			}
		}
	}
	if kind == "imap" {
		e.Folder = strings.TrimPrefix(u.Path, "/")
	} else if u.Path != "" && u.Path != "/" {
		return Endpoint{}, "", fmt.Errorf("%w: an SMTP URL has no path", ErrURL)
	}
	q := u.Query()
	e.StartTLS = truthy(q.Get("starttls"))
	e.Insecure = truthy(q.Get("insecure"))
	return e, pass, nil
}

func truthy(s string) bool {
	return s == "1" || strings.EqualFold(s, "true") || strings.EqualFold(s, "yes")
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Addr is host:port for dialling.
func (e Endpoint) Addr() string { return net.JoinHostPort(e.Host, e.Port) }

// TLS reports whether the connection starts with TLS.
func (e Endpoint) TLS() bool { return e.Scheme == "imaps" || e.Scheme == "smtps" }

// String is the URL without password: safe to store, show and log. A
// password is shown as *** when one is configured.
func (e Endpoint) String() string {
	if e.Scheme == "" {
		return ""
	}
	u := url.URL{Scheme: e.Scheme, Host: e.Addr()}
	if e.User != "" || e.Secret != "" {
		u.User = url.User(e.User)
	}
	if e.Folder != "" {
		u.Path = "/" + e.Folder
	}
	q := url.Values{}
	if e.StartTLS {
		q.Set("starttls", "1")
	}
	if e.Insecure {
		q.Set("insecure", "1")
	}
	u.RawQuery = q.Encode()
	s := u.String()
	// The password marker is written by hand: url would escape it.
	if at := strings.Index(s, "@"); at > 0 && e.Secret != "" {
		marker := "***"
		if strings.HasPrefix(e.Secret, "env:") {
			marker = e.Secret
		}
		s = s[:at] + ":" + marker + s[at:]
	}
	return s
}

// ParseStored reads an endpoint back from its String form plus the stored
// secret.
func ParseStored(s, secret, kind string) (Endpoint, error) {
	e, _, err := ParseURL(strings.Replace(s, ":***@", "@", 1), kind)
	if err != nil {
		return Endpoint{}, err
	}
	e.Secret = secret
	return e, nil
}

// Redact removes anything that looks like a password from a text before it
// is logged or stored as an error: user:password@ in URLs, and the clear
// passwords given.
func Redact(s string, secrets ...Secret) string {
	for _, p := range secrets {
		if len(p) >= 3 {
			s = strings.ReplaceAll(s, string(p), "***")
			if esc := url.QueryEscape(string(p)); esc != string(p) {
				s = strings.ReplaceAll(s, esc, "***")
			}
		}
	}
	return userinfoRE.ReplaceAllString(s, "$1***@")
}
