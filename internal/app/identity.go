package app

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/identity"
)

// identityFromEnv reads the LDAP and OpenID Connect settings (see
// docs/identity.md and docs/operations.md). Rule syntax errors are kept
// for Validate.
func (c *Config) identityFromEnv() {
	env := os.Getenv
	if c.LDAP.URL == "" {
		c.LDAP = identity.LDAPConfig{
			URL: env("SPORTELLO_LDAP_URL"), CAFile: env("SPORTELLO_LDAP_CA_FILE"), ServerName: env("SPORTELLO_LDAP_SERVER_NAME"),
			BindDN: env("SPORTELLO_LDAP_BIND_DN"), BindPassword: env("SPORTELLO_LDAP_BIND_PASSWORD"),
			BaseDN: env("SPORTELLO_LDAP_BASE_DN"), UserFilter: env("SPORTELLO_LDAP_USER_FILTER"),
			MailAttr: env("SPORTELLO_LDAP_MAIL_ATTR"), NameAttr: env("SPORTELLO_LDAP_NAME_ATTR"),
			PhoneAttr: env("SPORTELLO_LDAP_PHONE_ATTR"), DepartmentAttr: env("SPORTELLO_LDAP_DEPARTMENT_ATTR"),
			GroupBaseDN: env("SPORTELLO_LDAP_GROUP_BASE_DN"), GroupFilter: env("SPORTELLO_LDAP_GROUP_FILTER"),
		}
		if d, err := time.ParseDuration(env("SPORTELLO_LDAP_TIMEOUT")); err == nil {
			c.LDAP.Timeout = d
		}
		c.LDAP.Mapping, c.identityErr = mappingFromEnv("SPORTELLO_LDAP_", c.identityErr)
	}
	if c.OIDC.Issuer == "" {
		c.OIDC = identity.OIDCConfig{
			ID: env("SPORTELLO_OIDC_ID"), Label: env("SPORTELLO_OIDC_LABEL"), Issuer: env("SPORTELLO_OIDC_ISSUER"),
			ClientID: env("SPORTELLO_OIDC_CLIENT_ID"), ClientSecret: env("SPORTELLO_OIDC_CLIENT_SECRET"),
			RedirectURL: env("SPORTELLO_OIDC_REDIRECT_URL"), Scopes: strings.Fields(env("SPORTELLO_OIDC_SCOPES")),
			EmailClaim: env("SPORTELLO_OIDC_EMAIL_CLAIM"), NameClaim: env("SPORTELLO_OIDC_NAME_CLAIM"),
			PhoneClaim: env("SPORTELLO_OIDC_PHONE_CLAIM"), DepartmentClaim: env("SPORTELLO_OIDC_DEPARTMENT_CLAIM"),
			GroupsClaim: env("SPORTELLO_OIDC_GROUPS_CLAIM"),
		}
		c.OIDC.Mapping, c.identityErr = mappingFromEnv("SPORTELLO_OIDC_", c.identityErr)
	}
	if c.OIDC.RedirectURL == "" && c.OIDC.Issuer != "" && c.BaseURL != "" {
		id := c.OIDC.ID
		if id == "" {
			id = "oidc"
		}
		c.OIDC.RedirectURL = strings.TrimRight(c.BaseURL, "/") + "/login/sso/" + id + "/callback"
	}
}

func mappingFromEnv(prefix string, prev error) (identity.Mapping, error) {
	m := identity.Mapping{DefaultRole: desk.Role(os.Getenv(prefix + "DEFAULT_ROLE")), DefaultOrg: os.Getenv(prefix + "DEFAULT_ORG")}
	var err error
	if m.Roles, err = identity.ParseRules(os.Getenv(prefix+"ROLE_MAP"), true); err != nil && prev == nil {
		prev = fmt.Errorf("%sROLE_MAP: %w", prefix, err)
	}
	if m.Orgs, err = identity.ParseRules(os.Getenv(prefix+"ORG_MAP"), false); err != nil && prev == nil {
		prev = fmt.Errorf("%sORG_MAP: %w", prefix, err)
	}
	return m, prev
}

// validateIdentity checks the identity settings and builds the providers.
func (c *Config) validateIdentity() error {
	if c.identityErr != nil {
		return c.identityErr
	}
	if c.LDAP.Enabled() {
		if _, err := identity.NewLDAP(c.LDAP); err != nil {
			return err
		}
	}
	if c.OIDC.Issuer != "" || c.OIDC.ClientID != "" {
		if _, err := identity.NewOIDC(c.OIDC); err != nil {
			return fmt.Errorf("SPORTELLO_OIDC_*: %w", err)
		}
		if c.OIDC.RedirectURL == "" {
			return fmt.Errorf("SPORTELLO_OIDC_REDIRECT_URL (or SPORTELLO_BASE_URL) is needed for OpenID Connect")
		}
	}
	return nil
}

// Identity returns the configured external sign-in providers (nil when not configured).
func (c *Config) Identity() (*identity.LDAP, []*identity.OIDC, error) {
	var l *identity.LDAP
	var ps []*identity.OIDC
	if c.LDAP.Enabled() {
		var err error
		if l, err = identity.NewLDAP(c.LDAP); err != nil {
			return nil, nil, err
		}
	}
	if c.OIDC.Enabled() {
		p, err := identity.NewOIDC(c.OIDC)
		if err != nil {
			return nil, nil, err
		}
		ps = append(ps, p)
	}
	return l, ps, nil
}
