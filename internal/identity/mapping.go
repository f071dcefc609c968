// Package identity signs people in through external identity providers:
// LDAP / Active Directory (ldap.go) and OpenID Connect (oidc.go). It speaks
// the protocols and maps what a provider says about a person — their
// directory groups or token claims — to a role and an organisation; the
// desk (desk.SignInExternal) then provisions or refreshes the user, so
// every rule about people stays in the domain.
package identity

import (
	"fmt"
	"strings"

	"github.com/sportello/sportello/internal/desk"
)

// Rule maps one group (LDAP) or claim value (OIDC) to a role or an
// organisation code.
type Rule struct {
	Match string // LDAP: group DN or CN; OIDC: "claim:value"
	Value string // role, "installation-admin", or organisation code
}

// Mapping turns group names or claim values into a role and an organisation.
type Mapping struct {
	Roles []Rule
	Orgs  []Rule
	// DefaultRole applies when no role rule matches; empty refuses the
	// person (only members of mapped groups may sign in).
	DefaultRole desk.Role
	// DefaultOrg applies when no organisation rule matches; empty means
	// the installation's default organisation.
	DefaultOrg string
}

// InstallationAdmin is the role value that makes an administrator of the
// whole installation.
const InstallationAdmin = "installation-admin"

// ParseRules reads rules written as "MATCH => VALUE", separated by
// semicolons or new lines, e.g.
// "cn=helpdesk,ou=groups,dc=example,dc=it => agent; cn=it-managers => approver".
func ParseRules(s string, roles bool) ([]Rule, error) {
	var out []Rule
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		m, v, ok := strings.Cut(part, "=>")
		m, v = strings.TrimSpace(m), strings.TrimSpace(v)
		if !ok || m == "" || v == "" {
			return nil, fmt.Errorf("mapping rule %q: write MATCH => VALUE", part)
		}
		if roles && v != InstallationAdmin && !desk.Role(v).Valid() {
			return nil, fmt.Errorf("mapping rule %q: unknown role %q (requester, agent, approver, admin or %s)", part, v, InstallationAdmin)
		}
		if !roles && !desk.ValidCode(v) {
			return nil, fmt.Errorf("mapping rule %q: %q is not an organisation code", part, v)
		}
		out = append(out, Rule{Match: m, Value: v})
	}
	return out, nil
}

var rank = map[string]int{string(desk.RoleRequester): 1, string(desk.RoleAgent): 2, string(desk.RoleApprover): 3,
	string(desk.RoleAdmin): 4, InstallationAdmin: 5}

// Apply returns the role (the highest any matching rule grants), whether
// it is an installation administrator, and the organisation (the first
// matching rule's). match reports whether a rule's Match applies.
func (m Mapping) Apply(match func(string) bool) (role desk.Role, installationAdmin bool, org string) {
	best := ""
	for _, r := range m.Roles {
		if match(r.Match) && rank[r.Value] > rank[best] {
			best = r.Value
		}
	}
	switch best {
	case "":
		role = m.DefaultRole
	case InstallationAdmin:
		role, installationAdmin = desk.RoleAdmin, true
	default:
		role = desk.Role(best)
	}
	org = m.DefaultOrg
	for _, r := range m.Orgs {
		if match(r.Match) {
			org = r.Value
			break
		}
	}
	return role, installationAdmin, org
}

// Validate checks the defaults.
func (m Mapping) Validate() error {
	if m.DefaultRole != "" && !m.DefaultRole.Valid() {
		return fmt.Errorf("unknown default role %q", m.DefaultRole)
	}
	if m.DefaultOrg != "" && !desk.ValidCode(m.DefaultOrg) {
		return fmt.Errorf("default organisation %q is not an organisation code", m.DefaultOrg)
	}
	return nil
}
