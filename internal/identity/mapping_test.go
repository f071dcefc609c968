package identity

import (
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/desk"
)

func TestMapping(t *testing.T) {
	roles, err := ParseRules("cn=helpdesk,ou=g,dc=x => agent;\n it-managers => approver ; domain admins => installation-admin", true)
	if err != nil || len(roles) != 3 || roles[0].Match != "cn=helpdesk,ou=g,dc=x" || roles[2].Value != InstallationAdmin {
		t.Fatalf("%+v %v", roles, err)
	}
	orgs, err := ParseRules("altro => altro-ente", false)
	if err != nil {
		t.Fatal(err)
	}
	m := Mapping{Roles: roles, Orgs: orgs, DefaultOrg: "ente"}
	in := func(groups ...string) func(string) bool {
		return func(match string) bool { return groupMatches(groups, match) }
	}
	if r, adm, o := m.Apply(in("cn=helpdesk,ou=g,dc=x", "CN=IT-Managers,OU=G,DC=X")); r != desk.RoleApprover || adm || o != "ente" {
		t.Fatalf("highest role: %s %t %s", r, adm, o)
	}
	if r, adm, _ := m.Apply(in("cn=Domain Admins,cn=users,dc=x")); r != desk.RoleAdmin || !adm {
		t.Fatalf("installation admin: %s %t", r, adm)
	}
	if r, _, o := m.Apply(in("cn=altro,dc=x")); r != "" || o != "altro-ente" {
		t.Fatalf("no role, organisation by group: %q %s", r, o)
	}
	for _, bad := range []string{"cn=x", "cn=x => ", "=> agent", "cn=x => superuser"} {
		if _, err := ParseRules(bad, true); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseRules("x => Not A Code", false); err == nil {
		t.Error("bad organisation code accepted")
	}
}

func TestOIDCClaimMapping(t *testing.T) {
	roles, _ := ParseRules("groups:servicedesk => agent; roles:responsabile => approver", true)
	orgs, _ := ParseRules("email_domain:provincia.example.it => provincia", false)
	o, err := NewOIDC(OIDCConfig{Issuer: "https://idp.example.it", ClientID: "c", Mapping: Mapping{Roles: roles, Orgs: orgs, DefaultRole: desk.RoleRequester}})
	if err != nil {
		t.Fatal(err)
	}
	in := o.signIn("abc", map[string]any{"email": "Mario@Provincia.Example.it", "email_verified": true, "given_name": "Mario", "family_name": "Rossi",
		"groups": []any{"servicedesk", 7}, "roles": "responsabile"})
	if in.Role != desk.RoleApprover || in.OrgCode != "provincia" || in.Name != "Mario Rossi" || in.Subject != "abc" || in.Source != "oidc:https://idp.example.it" {
		t.Fatalf("%+v", in)
	}
	// An unverified e-mail is not used; no group: the default role.
	in = o.signIn("def", map[string]any{"email": "x@provincia.example.it", "email_verified": false, "name": "X"})
	if in.Email != "" || in.Role != desk.RoleRequester || in.OrgCode != "" {
		t.Fatalf("%+v", in)
	}
}

// FuzzParseRules: any text is either refused or gives rules whose values
// are valid roles, and which Apply handles without panicking.
func FuzzParseRules(f *testing.F) {
	for _, s := range []string{"cn=a => agent", "a=>b;c=>admin\nd => installation-admin", "=>", ";;", "x => y => z", "\x00=>agent"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rules, err := ParseRules(s, true)
		if err != nil {
			return
		}
		for _, r := range rules {
			if r.Match == "" || (r.Value != InstallationAdmin && !desk.Role(r.Value).Valid()) || strings.Contains(r.Match, ";") {
				t.Fatalf("bad rule %+v from %q", r, s)
			}
		}
		Mapping{Roles: rules}.Apply(func(m string) bool { return groupMatches([]string{s, "cn=" + s}, m) })
	})
}
