package identity

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/sportello/sportello/internal/desk"
)

// LDAPConfig configures sign-in against LDAP or Active Directory.
type LDAPConfig struct {
	// URL is ldaps://host[:636] (TLS from the start) or ldap://host[:389],
	// which is always upgraded with StartTLS: passwords never cross the
	// network in clear, and there is no option to allow it.
	URL string
	// CAFile is a PEM bundle of the certificate authorities to trust
	// (default: the system's). ServerName overrides the name checked in
	// the server's certificate (default: the URL's host).
	CAFile, ServerName string
	// BindDN and BindPassword are the service account that searches the
	// directory for the person signing in.
	BindDN, BindPassword string
	// BaseDN is where people are searched (subtree).
	BaseDN string
	// UserFilter finds the person by what they typed; {login} is replaced
	// by the escaped login. Default: uid, mail, sAMAccountName or
	// userPrincipalName equal to the login.
	UserFilter string
	// Attributes holding e-mail, full name, phone and department; each a
	// comma-separated list tried in order.
	MailAttr, NameAttr, PhoneAttr, DepartmentAttr string
	// GroupBaseDN, when set, is searched with GroupFilter ({dn} is the
	// person's DN, {login} the login) for the groups the person belongs
	// to, besides the person's memberOf attribute (Active Directory,
	// OpenLDAP's memberof overlay).
	GroupBaseDN, GroupFilter string
	// Mapping turns groups (DN or CN, case-insensitive) into role and
	// organisation.
	Mapping Mapping
	// Timeout bounds each network operation (default 10 s).
	Timeout time.Duration
}

// Enabled reports whether LDAP sign-in is configured.
func (c LDAPConfig) Enabled() bool { return c.URL != "" }

// LDAP signs people in against a directory: it searches the person with the
// service account, binds as them with the password they typed, reads their
// attributes and groups, and maps the groups to a role and organisation.
type LDAP struct {
	cfg LDAPConfig
	tls *tls.Config
	u   *url.URL
}

// NewLDAP checks the configuration and loads the CA bundle.
func NewLDAP(c LDAPConfig) (*LDAP, error) {
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("SPORTELLO_LDAP_URL %q: write ldaps://host:636 or ldap://host:389", c.URL)
	}
	if u.Scheme != "ldaps" && u.Scheme != "ldap" {
		return nil, fmt.Errorf("SPORTELLO_LDAP_URL %q: the scheme must be ldaps:// or ldap:// (with StartTLS)", c.URL)
	}
	if c.BaseDN == "" {
		return nil, errors.New("SPORTELLO_LDAP_BASE_DN is required")
	}
	if err := c.Mapping.Validate(); err != nil {
		return nil, fmt.Errorf("LDAP mapping: %w", err)
	}
	if c.UserFilter == "" {
		c.UserFilter = "(&(objectClass=person)(|(uid={login})(mail={login})(sAMAccountName={login})(userPrincipalName={login})))"
	}
	if !strings.Contains(c.UserFilter, "{login}") {
		return nil, errors.New("SPORTELLO_LDAP_USER_FILTER must contain {login}")
	}
	if c.GroupFilter == "" {
		c.GroupFilter = "(|(member={dn})(uniqueMember={dn})(memberUid={login}))"
	}
	setDefault(&c.MailAttr, "mail")
	setDefault(&c.NameAttr, "displayName,cn")
	setDefault(&c.PhoneAttr, "telephoneNumber,mobile")
	setDefault(&c.DepartmentAttr, "department,departmentNumber,ou")
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if tc.ServerName == "" {
		tc.ServerName = u.Hostname()
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("SPORTELLO_LDAP_CA_FILE: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("SPORTELLO_LDAP_CA_FILE %s: no PEM certificate in it", c.CAFile)
		}
		tc.RootCAs = pool
	}
	return &LDAP{cfg: c, tls: tc, u: u}, nil
}

func setDefault(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

// Source is the identity source recorded for people signed in by LDAP.
const SourceLDAP = "ldap"

// ErrNoSuchPerson reports that the directory has nobody by that login, so
// that the caller may try local accounts.
var ErrNoSuchPerson = errors.New("ldap: nobody by that login in the directory")

// connect opens a TLS-protected connection (LDAPS or StartTLS).
func (l *LDAP) connect(ctx context.Context) (*ldap.Conn, error) {
	d := &net.Dialer{Timeout: l.cfg.Timeout}
	var conn *ldap.Conn
	var err error
	host := l.u.Host
	if l.u.Scheme == "ldaps" {
		if l.u.Port() == "" {
			host = net.JoinHostPort(l.u.Hostname(), "636")
		}
		conn, err = ldap.DialURL("ldaps://"+host, ldap.DialWithDialer(d), ldap.DialWithTLSConfig(l.tls))
	} else {
		if l.u.Port() == "" {
			host = net.JoinHostPort(l.u.Hostname(), "389")
		}
		conn, err = ldap.DialURL("ldap://"+host, ldap.DialWithDialer(d))
		if err == nil {
			if err = conn.StartTLS(l.tls); err != nil {
				conn.Close()
				return nil, fmt.Errorf("ldap: StartTLS refused or failed (plain connections are not allowed): %w", err)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("ldap: connect to %s: %w", host, err)
	}
	conn.SetTimeout(l.cfg.Timeout)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < l.cfg.Timeout {
		conn.SetTimeout(time.Until(dl))
	}
	return conn, nil
}

// Authenticate checks a login and password against the directory and
// returns what the desk needs to sign the person in. A wrong password or an
// unknown login is a desk EUnauthorized error (ErrNoSuchPerson wrapped for
// the latter); an unreachable directory is any other error.
func (l *LDAP) Authenticate(ctx context.Context, login, password string) (desk.ExternalSignIn, error) {
	bad := desk.Errorf(desk.EUnauthorized, "wrong login or password")
	login = strings.TrimSpace(login)
	// An empty password would be an "unauthenticated bind", which many
	// servers accept as success.
	if login == "" || password == "" || len(login) > 256 || len(password) > 1024 {
		return desk.ExternalSignIn{}, bad
	}
	conn, err := l.connect(ctx)
	if err != nil {
		return desk.ExternalSignIn{}, err
	}
	defer conn.Close()
	if l.cfg.BindDN != "" {
		if err := conn.Bind(l.cfg.BindDN, l.cfg.BindPassword); err != nil {
			return desk.ExternalSignIn{}, fmt.Errorf("ldap: service account bind: %w", err)
		}
	}
	attrs := []string{"memberOf"}
	for _, a := range []string{l.cfg.MailAttr, l.cfg.NameAttr, l.cfg.PhoneAttr, l.cfg.DepartmentAttr} {
		attrs = append(attrs, splitList(a)...)
	}
	filter := strings.ReplaceAll(l.cfg.UserFilter, "{login}", ldap.EscapeFilter(login))
	res, err := conn.Search(ldap.NewSearchRequest(l.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, int(l.cfg.Timeout/time.Second), false,
		filter, attrs, nil))
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return desk.ExternalSignIn{}, fmt.Errorf("ldap: search for the person: %w", err)
	}
	if res == nil || len(res.Entries) != 1 {
		// Nobody, or an ambiguous login: refuse either way.
		return desk.ExternalSignIn{}, &desk.Error{Code: desk.EUnauthorized, Message: bad.Message, Err: ErrNoSuchPerson}
	}
	e := res.Entries[0]
	if err := conn.Bind(e.DN, password); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			return desk.ExternalSignIn{}, bad
		}
		return desk.ExternalSignIn{}, fmt.Errorf("ldap: bind as the person: %w", err)
	}
	groups := e.GetAttributeValues("memberOf")
	if l.cfg.GroupBaseDN != "" {
		// Groups are read with the service account again: the person may
		// not be allowed to search them.
		if l.cfg.BindDN != "" {
			if err := conn.Bind(l.cfg.BindDN, l.cfg.BindPassword); err != nil {
				return desk.ExternalSignIn{}, fmt.Errorf("ldap: service account bind: %w", err)
			}
		}
		gf := strings.ReplaceAll(l.cfg.GroupFilter, "{dn}", ldap.EscapeFilter(e.DN))
		gf = strings.ReplaceAll(gf, "{login}", ldap.EscapeFilter(login))
		gr, err := conn.Search(ldap.NewSearchRequest(l.cfg.GroupBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 1000, int(l.cfg.Timeout/time.Second), false,
			gf, []string{"cn"}, nil))
		if err != nil {
			return desk.ExternalSignIn{}, fmt.Errorf("ldap: search for groups: %w", err)
		}
		for _, g := range gr.Entries {
			if !containsFold(groups, g.DN) {
				groups = append(groups, g.DN)
			}
		}
	}
	in := desk.ExternalSignIn{Source: SourceLDAP, Subject: e.DN, Email: first(e, l.cfg.MailAttr), Name: first(e, l.cfg.NameAttr),
		Phone: first(e, l.cfg.PhoneAttr), Department: first(e, l.cfg.DepartmentAttr), Groups: groups}
	in.Role, in.InstallationAdmin, in.OrgCode = l.cfg.Mapping.Apply(func(match string) bool { return groupMatches(groups, match) })
	return in, nil
}

// groupMatches reports whether a rule's match names one of the groups,
// by full DN or by CN, ignoring case.
func groupMatches(groups []string, match string) bool {
	for _, g := range groups {
		if strings.EqualFold(g, match) {
			return true
		}
		if dn, err := ldap.ParseDN(g); err == nil && len(dn.RDNs) > 0 {
			for _, a := range dn.RDNs[0].Attributes {
				if strings.EqualFold(a.Type, "cn") && (strings.EqualFold(a.Value, match) || strings.EqualFold("cn="+a.Value, match)) {
					return true
				}
			}
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func first(e *ldap.Entry, attrs string) string {
	for _, a := range splitList(attrs) {
		if v := strings.TrimSpace(e.GetAttributeValue(a)); v != "" {
			return v
		}
	}
	return ""
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
