package mail_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/route"
	"github.com/sportello/sportello/internal/store/storetest"
)

// TestAdminAuthorisesAndAudits checks the mail administration used by the
// web pages: who may change what, the rule preview on a pasted message,
// the directory preview, and the audit entries.
func TestAdminAuthorisesAndAudits(t *testing.T) {
	ctx := context.Background()
	f := storetest.NewFixture(t, storetest.OpenSQLite(t))
	m, err := mail.NewAdmin(f.Desk, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	boss, err := f.Desk.CreateUser(ctx, f.Admin, desk.NewUser{OrgCode: "altro-ente", Email: "capo@altro.example.it", Role: desk.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	bossA := desk.ActorFor(boss)

	// The installation admin connects the desk's mailbox.
	in := mail.MailboxInput{Address: "assistenza@desk.example.it", IMAP: "imap://desk:segreta@127.0.0.1:1143/INBOX", SMTP: "smtp://127.0.0.1:1587"}
	_, created, err := m.SaveMailbox(ctx, f.Admin, in)
	if err != nil || !created {
		t.Fatalf("save: %v %v", created, err)
	}
	// Agents may not; another organisation's admin cannot take the address.
	if _, _, err := m.SaveMailbox(ctx, f.Agent, in); desk.ErrorCode(err) != desk.EForbidden {
		t.Fatalf("agent: %v", err)
	}
	if _, _, err := m.SaveMailbox(ctx, bossA, in); desk.ErrorCode(err) != desk.EConflict {
		t.Fatalf("other organisation took the address: %v", err)
	}
	if err := m.RemoveMailbox(ctx, bossA, in.Address); desk.ErrorCode(err) != desk.ENotFound {
		t.Fatalf("other organisation disconnected it: %v", err)
	}
	if list, err := m.Mailboxes(ctx, bossA); err != nil || len(list) != 0 {
		t.Fatalf("other organisation sees %d mailboxes: %v", len(list), err)
	}

	// Rules: set, previewed with the real parser, audited.
	rules := []route.Rule{{Name: "BDNA", When: []route.Condition{{Field: route.FieldSubject, Any: []string{"bdna"}}}, Then: route.Action{Queue: "sistemi-informativi"}}}
	if err := m.SetRules(ctx, f.Admin, "", rules, "test"); err != nil {
		t.Fatal(err)
	}
	if err := m.SetRules(ctx, bossA, "ente", rules, "test"); desk.ErrorCode(err) != desk.EForbidden {
		t.Fatalf("other organisation's rules: %v", err)
	}
	raw := "From: =?utf-8?q?Mario_Rossi?= <mario@example.it>\r\nTo: assistenza@desk.example.it\r\nSubject: =?utf-8?q?BDNA_-_errore_di_accesso?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nNon riesco.\r\n"
	p, err := m.TestRules(ctx, f.Admin, "", []byte(raw), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "BDNA - errore di accesso" || p.From != "mario@example.it" || len(p.Decision.Matched) != 1 || p.Decision.Queue != "sistemi-informativi" {
		t.Fatalf("preview: %+v", p)
	}
	// A retired address wins over rules.
	if err := m.RetireAddress(ctx, f.Admin, "", "vecchio@desk.example.it", time.Time{}); err != nil {
		t.Fatal(err)
	}
	p, err = m.TestRules(ctx, f.Admin, "", []byte(strings.Replace(raw, "To: assistenza@", "To: vecchio@", 1)), nil)
	if err != nil || p.Retired != "vecchio@desk.example.it" {
		t.Fatalf("retired preview: %+v %v", p, err)
	}
	if _, err := m.TestRules(ctx, f.Admin, "", []byte("   "), nil); desk.ErrorCode(err) != desk.EInvalid {
		t.Fatalf("empty message: %v", err)
	}

	// Directory: preview writes nothing; apply does; org admins may not.
	csv := "code,name,province,pec\nut_fe,Prefettura di Ferrara,FE,protocollo.preffe@pec.interno.it\n"
	pv, err := m.PreviewOffices(ctx, f.Admin, strings.NewReader(csv), route.ImportOptions{})
	if err != nil || pv.New != 1 {
		t.Fatalf("preview: %+v %v", pv, err)
	}
	if offices, _ := m.Offices(ctx, f.Admin); len(offices) != 0 {
		t.Fatal("the preview wrote the directory")
	}
	if err := m.ApplyOffices(ctx, bossA, pv); desk.ErrorCode(err) != desk.EForbidden {
		t.Fatalf("organisation admin applied: %v", err)
	}
	if err := m.ApplyOffices(ctx, f.Admin, pv); err != nil {
		t.Fatal(err)
	}
	if pv, err = m.PreviewOffices(ctx, f.Admin, strings.NewReader(csv), route.ImportOptions{}); err != nil || pv.Same != 1 || pv.New != 0 {
		t.Fatalf("second preview: %+v %v", pv, err)
	}

	log, err := f.Desk.AuditLog(ctx, f.Admin, desk.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
		if strings.Contains(e.Detail, "segreta") {
			t.Errorf("a password reached the audit log: %q", e.Detail)
		}
	}
	got := strings.Join(actions, " ")
	for _, want := range []string{"mailbox.create", "rule.update", "address.retire", "directory.import"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit log lacks %s: %s", want, got)
		}
	}
	if strings.Count(got, "rule.update") != 1 {
		t.Errorf("a refused change was audited: %s", got)
	}
}
