package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestBrowserOIDCSignIn: in Chromium, the log-in page offers the identity
// provider (accessible, checked with axe), the button leads to the
// provider's own log-in form, and after it the person lands signed in
// where they were going.
func TestBrowserOIDCSignIn(t *testing.T) {
	s := newSSO(t)
	tr := newTour(t, s.h)
	b := tr.b
	tr.open("/login?next=/richieste/nuova")
	tr.check("login-sso")
	if got := b.Text("#sso a"); got != "Accedi con Identità regionale" {
		t.Fatalf("button %q", got)
	}
	if st := b.ClickAndWait("#sso a"); st != http.StatusOK {
		t.Fatalf("provider log-in page: %d", st)
	}
	if !strings.HasPrefix(b.URL(), s.op.URL+"/login/username") {
		t.Fatalf("at %s, not at the provider", b.URL())
	}
	b.FillLabel("Username:", "vera")
	b.FillLabel("Password:", "Segreta-di-Vera-1")
	if st := b.Submit("form"); st != http.StatusOK {
		t.Fatalf("after the provider: %d", st)
	}
	u, _ := url.Parse(b.URL())
	if !strings.HasPrefix(b.URL(), s.h.srv.URL) || u.Path != "/richieste/nuova" {
		t.Fatalf("landed at %s", b.URL())
	}
	if !strings.Contains(b.Text("header"), "Vera Verdi") {
		t.Fatalf("header does not show the signed-in person: %q", b.Text("header"))
	}
	tr.check("after-sso")
	for _, e := range b.ConsoleErrors() {
		if !strings.Contains(e, s.op.URL) { // the example provider's page is not ours
			t.Errorf("browser console error: %s", e)
		}
	}
}
