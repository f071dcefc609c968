package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/sportello/sportello/internal/api"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/pec"
	"github.com/sportello/sportello/internal/mail/pec/pectest"
	"github.com/sportello/sportello/internal/store/storetest"
)

// newPECEnv is newEnv with the PEC channel: a PEC mailbox of the default
// organisation that received one signed certified request.
func newPECEnv(t *testing.T) (*env, mailbox.Inbound, []byte) {
	t.Helper()
	ctx := context.Background()
	fx := storetest.NewFixture(t, storetest.OpenSQLite(t))
	pki := pectest.NewPKI(t)
	m, err := mail.NewWith(mail.Opts{Store: fx.DB, Key: []byte("0123456789abcdef0123456789abcdef-api-test"),
		PEC: pec.Options{TrustAnchors: pki.CA.Pool(), Now: pectest.NowFunc}})
	if err != nil {
		t.Fatal(err)
	}
	mb, _, err := mail.SaveMailbox(ctx, fx.DB, m.Sealer, mail.MailboxInput{Address: pectest.DeskPEC, PEC: true,
		IMAP: "imaps://u:p@127.0.0.1:1/INBOX", SMTP: "smtps://u:p@127.0.0.1:1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	raw := pectest.Envelope(pki.Signer).Build(t)
	res, err := m.Processor.Ingest(ctx, mb, 1, 1, raw)
	if err != nil || res.Outcome != mailbox.OutTicket {
		t.Fatalf("ingest: %+v %v", res, err)
	}
	var rec mailbox.Inbound
	err = mailbox.View(ctx, fx.DB, func(tx mailbox.Tx) error {
		log, err := tx.MailLog(ctx, mailbox.LogQuery{Limit: 1})
		if err == nil {
			rec = log[0]
			rec.TicketNumber = res.Ticket
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	a := api.New(api.Opts{Desk: fx.Desk, MaxBody: 2 << 20, PEC: mail.PECService{Desk: fx.Desk, Store: fx.DB}})
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, fx: fx, tokens: map[string]string{}}
	for name, actor := range map[string]desk.Actor{"admin": fx.Admin, "agent": fx.Agent, "requester": fx.Requester, "outsider": fx.Outsider} {
		tok, _, err := fx.Desk.CreateToken(ctx, actor.UserID, name, 0)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[name] = tok
	}
	doc := loadDoc(t)
	doc.Servers = openapi3.Servers{{URL: srv.URL + "/api/v1"}}
	if e.router, err = legacy.NewRouter(doc); err != nil {
		t.Fatal(err)
	}
	return e, rec, raw
}

// TestPECOverHTTP: certification data, evidence download and alerts of the
// PEC channel, authorised like the ticket; the protocol number through
// PATCH with history.
func TestPECOverHTTP(t *testing.T) {
	e, rec, raw := newPECEnv(t)
	n := rec.TicketNumber
	code, body := e.do("agent", "GET", "/api/v1/tickets/"+n+"/pec", nil)
	if code != 200 || body["pec"] != true || body["certified_sender"] != pectest.Citizen {
		t.Fatalf("GET pec: %d %v", code, body)
	}
	msgs := body["messages"].([]any)
	m0 := msgs[0].(map[string]any)
	dc := m0["daticert"].(map[string]any)
	if m0["kind"] != "envelope" || m0["signature"] != "verified" || m0["certified"] != true || dc["identificativo"] != pectest.EnvelopeIdentificativo ||
		dc["zona"] != "+0100" || dc["data"] != "2026-02-12T09:30:00+01:00" {
		t.Errorf("message %v", m0)
	}
	url := m0["evidence_url"].(string)
	if url != fmt.Sprintf("/api/v1/tickets/%s/pec/evidence/%d", n, rec.ID) {
		t.Errorf("evidence url %s", url)
	}
	for who, want := range map[string]int{"agent": 200, "admin": 200, "outsider": 404, "requester": 404, "": 401} {
		if code, _ := e.do(who, "GET", "/api/v1/tickets/"+n+"/pec", nil); code != want {
			t.Errorf("GET pec as %q: %d, want %d", who, code, want)
		}
		if code, _ := e.do(who, "GET", url, nil); code != want {
			t.Errorf("GET evidence as %q: %d, want %d", who, code, want)
		}
	}
	// The download is the message as received, byte for byte.
	req, _ := http.NewRequest("GET", e.srv.URL+url, nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["agent"])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Equal(got, raw) || res.Header.Get("Content-Type") != "message/rfc822" || res.Header.Get("X-Content-SHA256") != pec.Evidence(raw) {
		t.Errorf("evidence: %d bytes, type %s, sha %s", len(got), res.Header.Get("Content-Type"), res.Header.Get("X-Content-SHA256"))
	}
	for _, bad := range []string{"abc", "0", "999999"} {
		if code, _ := e.do("agent", "GET", "/api/v1/tickets/"+n+"/pec/evidence/"+bad, nil); code != 404 {
			t.Errorf("evidence %s: %d", bad, code)
		}
	}

	if code, body := e.do("agent", "GET", "/api/v1/pec/alerts?mine=true", nil); code != 200 || len(body["items"].([]any)) != 0 {
		t.Errorf("alerts: %d %v", code, body)
	}
	for q, want := range map[string]int{"?mine=perhaps": 400, "?limit=0": 400, "?limit=501": 400} {
		if code, _ := e.do("agent", "GET", "/api/v1/pec/alerts"+q, nil); code != want {
			t.Errorf("alerts%s: %d", q, code)
		}
	}
	if code, _ := e.do("requester", "GET", "/api/v1/pec/alerts", nil); code != 403 {
		t.Errorf("requester alerts: %d", code)
	}

	code, body = e.do("agent", "PATCH", "/api/v1/tickets/"+n, map[string]any{"protocol": "AOO/2026/0004521"})
	if code != 200 || body["protocol"] != "AOO/2026/0004521" {
		t.Fatalf("PATCH protocol: %d %v", code, body)
	}
	if _, body := e.do("agent", "GET", "/api/v1/tickets/"+n, nil); body["protocol"] != "AOO/2026/0004521" {
		t.Errorf("GET ticket protocol %v", body["protocol"])
	}
	if code, _ := e.do("agent", "PATCH", "/api/v1/tickets/"+n, map[string]any{"protocol": 12}); code != 400 {
		t.Errorf("numeric protocol: %d", code)
	}
	_, hist := e.do("agent", "GET", "/api/v1/tickets/"+n+"/history", nil)
	if !bytes.Contains(mustJSON(hist), []byte("AOO/2026/0004521")) {
		t.Errorf("history without the protocol change: %v", hist)
	}
}

// TestPECRoutesWithoutChannel: without the PEC channel the routes answer
// 404 with a JSON error.
func TestPECRoutesWithoutChannel(t *testing.T) {
	e := newEnv(t)
	tk := e.fx.Create(t, e.fx.Agent, desk.NewTicket{Subject: "s", Description: "d"})
	for _, p := range []string{"/api/v1/tickets/" + tk.Number + "/pec", "/api/v1/tickets/" + tk.Number + "/pec/evidence/1", "/api/v1/pec/alerts"} {
		if code, body := e.do("agent", "GET", p, nil); code != 404 || body["code"] != "not_found" {
			t.Errorf("%s: %d %v", p, code, body)
		}
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// TestMailboxesOverHTTP: administrators list the mailboxes with the PEC
// flag and never a password; others are refused.
func TestMailboxesOverHTTP(t *testing.T) {
	e, _, _ := newPECEnv(t)
	code, body := e.do("admin", "GET", "/api/v1/mailboxes", nil)
	if code != 200 {
		t.Fatalf("admin: %d %v", code, body)
	}
	items := body["items"].([]any)
	m := items[0].(map[string]any)
	if len(items) != 1 || m["address"] != pectest.DeskPEC || m["pec"] != true || strings.Contains(fmt.Sprint(m), ":p@") {
		t.Errorf("mailboxes %v", items)
	}
	for _, who := range []string{"agent", "requester", "outsider"} {
		if code, _ := e.do(who, "GET", "/api/v1/mailboxes", nil); code != 403 {
			t.Errorf("%s: %d", who, code)
		}
	}
}
