package identity_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/identity"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/store/storetest"
)

// slapdEnv returns the variables printed by scripts/slapd-test.sh; in CI
// a missing slapd fails the test.
func slapdEnv(t *testing.T) map[string]string {
	t.Helper()
	if os.Getenv("SPORTELLO_TEST_SLAPD") == "" {
		msg := "no OpenLDAP: run eval \"$(scripts/slapd-test.sh env)\" first"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	env := map[string]string{}
	for _, k := range []string{"LDAPS", "LDAP", "CA", "BASE", "BIND_DN", "BIND_PASSWORD", "USER_PASSWORD"} {
		env[k] = os.Getenv("SPORTELLO_TEST_SLAPD_" + k)
	}
	return env
}

func ldapConfig(t *testing.T, env map[string]string, url string) identity.LDAPConfig {
	roles, err := identity.ParseRules("cn=helpdesk => agent; cn=it-managers,ou=groups,"+env["BASE"]+" => approver; firewall-approvers => approver", true)
	if err != nil {
		t.Fatal(err)
	}
	orgs, err := identity.ParseRules("altro-ente-staff => altro-ente", false)
	if err != nil {
		t.Fatal(err)
	}
	return identity.LDAPConfig{URL: url, CAFile: env["CA"], BindDN: env["BIND_DN"], BindPassword: env["BIND_PASSWORD"],
		BaseDN: "ou=people," + env["BASE"], Mapping: identity.Mapping{Roles: roles, Orgs: orgs}}
}

func TestLDAPSignIn(t *testing.T) {
	env := slapdEnv(t)
	ctx := context.Background()
	for _, tc := range []struct{ name, url string }{{"ldaps", env["LDAPS"]}, {"starttls", env["LDAP"]}} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := identity.NewLDAP(ldapConfig(t, env, tc.url))
			if err != nil {
				t.Fatal(err)
			}
			// By uid, and by e-mail: the service account finds the entry,
			// the person's own bind proves the password.
			for _, login := range []string{"mrossi", "Mario.Rossi@provincia.test"} {
				in, err := l.Authenticate(ctx, login, env["USER_PASSWORD"])
				if err != nil {
					t.Fatalf("%s: %v", login, err)
				}
				if in.Email != "mario.rossi@provincia.test" || in.Name != "Mario Rossi" || in.Phone != "+39 0831 565111" ||
					in.Department != "Servizio Sistemi Informativi" || in.Role != desk.RoleAgent || in.OrgCode != "" ||
					in.Subject != "uid=mrossi,ou=people,"+env["BASE"] || in.Source != identity.SourceLDAP {
					t.Fatalf("%s: got %+v", login, in)
				}
			}
			// memberOf (the overlay) gives both groups: approver wins, and
			// the organisation follows the second group.
			in, err := l.Authenticate(ctx, "lbianchi", env["USER_PASSWORD"])
			if err != nil {
				t.Fatal(err)
			}
			if in.Role != desk.RoleApprover || in.OrgCode != "altro-ente" || len(in.Groups) != 2 {
				t.Fatalf("lbianchi: %+v", in)
			}
			// Wrong password, unknown login, empty password (an
			// unauthenticated bind would "succeed"), filter injection.
			if _, err := l.Authenticate(ctx, "mrossi", "sbagliata"); desk.ErrorCode(err) != desk.EUnauthorized || errors.Is(err, identity.ErrNoSuchPerson) {
				t.Fatalf("wrong password: %v", err)
			}
			if _, err := l.Authenticate(ctx, "nessuno", env["USER_PASSWORD"]); !errors.Is(err, identity.ErrNoSuchPerson) {
				t.Fatalf("unknown login: %v", err)
			}
			if _, err := l.Authenticate(ctx, "mrossi", ""); desk.ErrorCode(err) != desk.EUnauthorized {
				t.Fatalf("empty password: %v", err)
			}
			if _, err := l.Authenticate(ctx, "*", env["USER_PASSWORD"]); !errors.Is(err, identity.ErrNoSuchPerson) {
				t.Fatalf("wildcard login: %v", err)
			}
			// Without a mapped group: no role.
			in, err = l.Authenticate(ctx, "gverdi", env["USER_PASSWORD"])
			if err != nil || in.Role != "" {
				t.Fatalf("gverdi: %+v %v", in, err)
			}
		})
	}
}

func TestLDAPGroupSearch(t *testing.T) {
	env := slapdEnv(t)
	cfg := ldapConfig(t, env, env["LDAPS"])
	cfg.GroupBaseDN = "ou=groups," + env["BASE"]
	l, err := identity.NewLDAP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// gverdi is only in a posixGroup (memberUid), found by the group search.
	in, err := l.Authenticate(context.Background(), "gverdi", env["USER_PASSWORD"])
	if err != nil {
		t.Fatal(err)
	}
	if in.Role != desk.RoleApprover || len(in.Groups) != 1 || !strings.HasPrefix(in.Groups[0], "cn=firewall-approvers,") {
		t.Fatalf("gverdi: %+v", in)
	}
}

func TestLDAPRefusesPlainAndUntrusted(t *testing.T) {
	env := slapdEnv(t)
	ctx := context.Background()
	if _, err := identity.NewLDAP(identity.LDAPConfig{URL: "http://127.0.0.1:1", BaseDN: "dc=x"}); err == nil {
		t.Fatal("an http:// URL was accepted")
	}
	// Without the test CA the server's certificate is not trusted, over
	// LDAPS and over StartTLS alike: nothing is sent in clear instead.
	for _, url := range []string{env["LDAPS"], env["LDAP"]} {
		cfg := ldapConfig(t, env, url)
		cfg.CAFile = ""
		l, err := identity.NewLDAP(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = l.Authenticate(ctx, "mrossi", env["USER_PASSWORD"])
		if err == nil || desk.ErrorCode(err) == desk.EUnauthorized || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("%s with an untrusted certificate: %v", url, err)
		}
	}
}

// TestLDAPProvisioning signs people in through the desk: the account is
// created at first sign-in, refreshed afterwards, role changes by group
// mapping are applied, and a person without a mapped group is refused.
func TestLDAPProvisioningSQLite(t *testing.T) { testLDAPProvisioning(t, storetest.OpenSQLite) }

func TestLDAPProvisioningPostgres(t *testing.T) { testLDAPProvisioning(t, storetest.OpenPostgres) }

func testLDAPProvisioning(t *testing.T, open func(testing.TB) *store.DB) {
	env := slapdEnv(t)
	ctx := context.Background()
	db := open(t)
	f := storetest.NewFixture(t, db)
	l, err := identity.NewLDAP(ldapConfig(t, env, env["LDAPS"]))
	if err != nil {
		t.Fatal(err)
	}
	in, err := l.Authenticate(ctx, "lbianchi", env["USER_PASSWORD"])
	if err != nil {
		t.Fatal(err)
	}
	u, err := f.Desk.SignInExternal(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "lucia.bianchi@altro.test" || u.Name != "Lucia Bianchi" || u.Role != desk.RoleApprover || !u.Active {
		t.Fatalf("provisioned %+v", u)
	}
	var ids []desk.ExternalIdentity
	err = db.View(ctx, func(tx desk.Tx) error {
		o, err := tx.OrgByID(ctx, u.OrgID)
		if err != nil || o.Code != "altro-ente" {
			t.Errorf("organisation %+v %v", o, err)
		}
		ids, err = tx.ExternalIdentities(ctx, u.ID)
		return err
	})
	if err != nil || len(ids) != 1 || ids[0].Department != "Ufficio Protocollo" || ids[0].Subject != "uid=lbianchi,ou=people,"+env["BASE"] {
		t.Fatalf("identities %+v %v", ids, err)
	}
	// The directory changed the person's name and groups: the next
	// sign-in refreshes them (same user, found by DN).
	in.Name, in.Role = "Lucia Bianchi-Neri", desk.RoleAgent
	u2, err := f.Desk.SignInExternal(ctx, in)
	if err != nil || u2.ID != u.ID || u2.Name != "Lucia Bianchi-Neri" || u2.Role != desk.RoleAgent {
		t.Fatalf("refreshed %+v %v", u2, err)
	}
	// The audit log tells who signed in through the directory and what
	// the group mapping did to their account.
	log, err := f.Desk.AuditLog(ctx, f.Admin, desk.AuditFilter{Target: "user:" + strconv.FormatInt(u.ID, 10)})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action+" "+e.Detail)
	}
	got := strings.Join(actions, "\n")
	for _, want := range []string{"user.create provisioned from ldap with role approver in altro-ente", "user.role ldap mapping: role approver→agent",
		"user.update name, e-mail or phone refreshed from ldap", "login.ok signed in through ldap"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit log lacks %q:\n%s", want, got)
		}
	}
	// No mapped group and no default role: refused.
	in, err = l.Authenticate(ctx, "gverdi", env["USER_PASSWORD"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Desk.SignInExternal(ctx, in); desk.ErrorCode(err) != desk.EUnauthorized {
		t.Fatalf("unmapped person: %v", err)
	}
	// An entry without e-mail cannot become an account.
	cfg := ldapConfig(t, env, env["LDAPS"])
	cfg.Mapping.DefaultRole = desk.RoleRequester
	l2, _ := identity.NewLDAP(cfg)
	in, err = l2.Authenticate(ctx, "nomail", env["USER_PASSWORD"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Desk.SignInExternal(ctx, in); desk.ErrorCode(err) != desk.EUnauthorized {
		t.Fatalf("person without e-mail: %v", err)
	}
	// A deactivated account stays out.
	in, _ = l2.Authenticate(ctx, "gverdi", env["USER_PASSWORD"])
	g, err := f.Desk.SignInExternal(ctx, in)
	if err != nil || g.Role != desk.RoleRequester {
		t.Fatalf("default role: %+v %v", g, err)
	}
	err = db.Update(ctx, func(tx desk.Tx) error {
		g.Active = false
		return tx.UpdateUser(ctx, &g)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Desk.SignInExternal(ctx, in); desk.ErrorCode(err) != desk.EUnauthorized {
		t.Fatalf("deactivated account: %v", err)
	}
}
