package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sportello/sportello/internal/desk"
)

// OIDCConfig configures one OpenID Connect provider. Several providers may
// be configured side by side (each has its own ID and button), which is how
// SPID and CIE OpenID Connect providers will be added: they use the same
// authorization-code flow with PKCE, state and nonce; what they add
// (private_key_jwt client authentication, signed request objects, trust
// chains) goes into this type as options, not into the web handlers.
type OIDCConfig struct {
	// ID names the provider in URLs (/login/sso/{ID}); default "oidc".
	ID string
	// Label is the button text after "Accedi con" / "Sign in with".
	Label string
	// Issuer is the provider's issuer URL (discovery at
	// Issuer/.well-known/openid-configuration).
	Issuer string
	// ClientID and ClientSecret are this desk's registration; a public
	// client (no secret) relies on PKCE alone.
	ClientID, ClientSecret string
	// RedirectURL is this desk's callback, BASE/login/sso/{ID}/callback.
	RedirectURL string
	// Scopes requested (default openid email profile).
	Scopes []string
	// Claims holding e-mail, name, phone, department and groups (defaults
	// email, name, phone_number, department, groups).
	EmailClaim, NameClaim, PhoneClaim, DepartmentClaim, GroupsClaim string
	// Mapping maps "claim:value" matches to role and organisation; the
	// pseudo-claim email_domain matches the e-mail's domain.
	Mapping Mapping
	// HTTPClient talks to the provider (default: 10 s timeout).
	HTTPClient *http.Client
}

// Enabled reports whether the provider is configured.
func (c OIDCConfig) Enabled() bool { return c.Issuer != "" && c.ClientID != "" }

// OIDC signs people in with the authorization-code flow and PKCE.
type OIDC struct {
	cfg OIDCConfig

	mu       sync.Mutex
	provider *oidc.Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	tried    time.Time
}

// NewOIDC checks the configuration. The provider is discovered at first
// use, so that the desk starts even while the provider is down.
func NewOIDC(c OIDCConfig) (*OIDC, error) {
	if c.Issuer == "" || c.ClientID == "" {
		return nil, errors.New("OpenID Connect needs an issuer and a client ID")
	}
	if c.ID == "" {
		c.ID = "oidc"
	}
	if !desk.ValidCode(c.ID) {
		return nil, fmt.Errorf("OpenID Connect provider id %q: lower-case letters, digits and dashes", c.ID)
	}
	if c.Label == "" {
		c.Label = "SSO"
	}
	if err := c.Mapping.Validate(); err != nil {
		return nil, fmt.Errorf("OpenID Connect mapping: %w", err)
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	setDefault(&c.EmailClaim, "email")
	setDefault(&c.NameClaim, "name")
	setDefault(&c.PhoneClaim, "phone_number")
	setDefault(&c.DepartmentClaim, "department")
	setDefault(&c.GroupsClaim, "groups")
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &OIDC{cfg: c}, nil
}

// ID and Label identify the provider to the log-in page.
func (o *OIDC) ID() string    { return o.cfg.ID }
func (o *OIDC) Label() string { return o.cfg.Label }

// SetRedirectURL sets the callback when it is known only once the server
// listens (tests); call it before serving.
func (o *OIDC) SetRedirectURL(u string) { o.cfg.RedirectURL = u }

// Source is the identity source recorded for people of this provider.
func (o *OIDC) Source() string { return "oidc:" + o.cfg.Issuer }

func (o *OIDC) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, o.cfg.HTTPClient)
}

// discover fetches the provider's metadata once (retrying at most every 10 s).
func (o *OIDC) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	if time.Since(o.tried) < 10*time.Second && !o.tried.IsZero() {
		return nil, errors.New("oidc: provider discovery failed recently; retrying shortly")
	}
	o.tried = time.Now()
	p, err := oidc.NewProvider(o.ctx(ctx), o.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discovery at %s: %w", o.cfg.Issuer, err)
	}
	o.provider = p
	o.oauth = oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: o.cfg.RedirectURL, Scopes: o.cfg.Scopes}
	o.verifier = p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID})
	return p, nil
}

// Flow is what must be kept between the redirect to the provider and the
// callback (in the session): State and Nonce are random, Verifier is the
// PKCE code verifier.
type Flow struct {
	State, Nonce, Verifier string
}

// NewFlow returns fresh random values for one sign-in.
func NewFlow() Flow {
	return Flow{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier()}
}

func random() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// AuthURL returns where to send the browser to sign in.
func (o *OIDC) AuthURL(ctx context.Context, f Flow) (string, error) {
	if _, err := o.discover(ctx); err != nil {
		return "", err
	}
	oc := o.oauth
	oc.RedirectURL = o.cfg.RedirectURL
	return oc.AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)), nil
}

// Exchange redeems the code of a callback whose state the caller has
// already checked against f.State: it verifies the ID token (signature,
// issuer, audience, expiry) and its nonce, reads the user-info claims, and
// maps them. Failures the person can do something about are EUnauthorized.
func (o *OIDC) Exchange(ctx context.Context, f Flow, code string) (desk.ExternalSignIn, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return desk.ExternalSignIn{}, err
	}
	if code == "" {
		return desk.ExternalSignIn{}, desk.Errorf(desk.EUnauthorized, "the identity provider sent no authorization code")
	}
	ctx = o.ctx(ctx)
	oc := o.oauth
	oc.RedirectURL = o.cfg.RedirectURL
	tok, err := oc.Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return desk.ExternalSignIn{}, &desk.Error{Code: desk.EUnauthorized, Message: "the identity provider refused the sign-in", Err: err}
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return desk.ExternalSignIn{}, desk.Errorf(desk.EUnauthorized, "the identity provider sent no ID token")
	}
	idt, err := o.verifier.Verify(ctx, raw)
	if err != nil {
		return desk.ExternalSignIn{}, &desk.Error{Code: desk.EUnauthorized, Message: "the ID token is not valid", Err: err}
	}
	if idt.Nonce == "" || idt.Nonce != f.Nonce {
		return desk.ExternalSignIn{}, desk.Errorf(desk.EUnauthorized, "the ID token's nonce does not match this sign-in")
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return desk.ExternalSignIn{}, fmt.Errorf("oidc: ID token claims: %w", err)
	}
	// The user-info endpoint usually carries the profile claims.
	if ui, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		if ui.Subject != idt.Subject {
			return desk.ExternalSignIn{}, desk.Errorf(desk.EUnauthorized, "the user-info subject differs from the ID token's")
		}
		more := map[string]any{}
		if err := ui.Claims(&more); err == nil {
			for k, v := range more {
				if _, ok := claims[k]; !ok {
					claims[k] = v
				}
			}
		}
	}
	return o.signIn(idt.Subject, claims), nil
}

// signIn maps claims to what the desk needs.
func (o *OIDC) signIn(sub string, claims map[string]any) desk.ExternalSignIn {
	in := desk.ExternalSignIn{Source: o.Source(), Subject: sub,
		Email: claimString(claims, o.cfg.EmailClaim), Name: claimString(claims, o.cfg.NameClaim),
		Phone: claimString(claims, o.cfg.PhoneClaim), Department: claimString(claims, o.cfg.DepartmentClaim),
		Groups: claimStrings(claims, o.cfg.GroupsClaim)}
	if in.Name == "" {
		in.Name = strings.TrimSpace(claimString(claims, "given_name") + " " + claimString(claims, "family_name"))
	}
	if v, ok := claims["email_verified"].(bool); ok && !v {
		in.Email = "" // an unverified address must not take over an account
	}
	email := desk.NormEmail(in.Email)
	in.Role, in.InstallationAdmin, in.OrgCode = o.cfg.Mapping.Apply(func(match string) bool {
		claim, value, ok := strings.Cut(match, ":")
		if !ok {
			return false
		}
		if claim == "email_domain" {
			_, dom, _ := strings.Cut(email, "@")
			return dom != "" && strings.EqualFold(dom, value)
		}
		for _, v := range claimStrings(claims, claim) {
			if v == value {
				return true
			}
		}
		return false
	})
	return in
}

func claimString(c map[string]any, name string) string {
	switch v := c[name].(type) {
	case string:
		return strings.TrimSpace(v)
	case fmt.Stringer:
		return v.String()
	}
	return ""
}

func claimStrings(c map[string]any, name string) []string {
	switch v := c[name].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case bool:
		return []string{fmt.Sprint(v)}
	}
	return nil
}
