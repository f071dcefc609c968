package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/pec"
	"github.com/sportello/sportello/internal/mail/pec/pectest"
	"github.com/sportello/sportello/internal/store/storetest"
)

// pecHarness is the web UI with the PEC channel and one ticket made from a
// signed certified request, whose reply by PEC was not delivered.
func pecHarness(t *testing.T) (h *harness, number string, inID int64, raw []byte) {
	t.Helper()
	ingest := func(tb testing.TB, f *storetest.Fixture) {
		ctx := context.Background()
		pki := pectest.NewPKI(tb)
		m, err := mail.NewWith(mail.Opts{Store: f.DB, Key: []byte("0123456789abcdef0123456789abcdef-web"),
			PEC: pec.Options{TrustAnchors: pki.CA.Pool(), Now: pectest.NowFunc}})
		if err != nil {
			tb.Fatal(err)
		}
		mb, _, err := mail.SaveMailbox(ctx, f.DB, m.Sealer, mail.MailboxInput{Address: pectest.DeskPEC, PEC: true,
			IMAP: "imaps://u:p@127.0.0.1:1/INBOX", SMTP: "smtps://u:p@127.0.0.1:1"}, time.Now())
		if err != nil {
			tb.Fatal(err)
		}
		raw = pectest.Envelope(pki.Signer).Build(tb)
		res, err := m.Processor.Ingest(ctx, mb, 1, 1, raw)
		if err != nil || res.Outcome != mailbox.OutTicket {
			tb.Fatalf("ingest %+v %v", res, err)
		}
		number = res.Ticket
		err = mailbox.View(ctx, f.DB, func(tx mailbox.Tx) error {
			log, err := tx.MailLog(ctx, mailbox.LogQuery{Limit: 1})
			if err == nil {
				inID = log[0].ID
			}
			return err
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	h = newHarnessWith(t, []func(testing.TB, *storetest.Fixture){ingest}, func(o *Opts) {
		o.PEC = mail.PECService{Desk: o.Desk, Store: o.DB}
	})
	// A reply by PEC that was not delivered: the alert shows on the
	// ticket and in the agent's workspace.
	ctx := context.Background()
	err := mailbox.Update(ctx, h.f.DB, func(tx mailbox.Tx) error {
		tk, err := tx.TicketByNumber(ctx, number)
		if err != nil {
			return err
		}
		mb, err := tx.MailboxByAddress(ctx, pectest.DeskPEC)
		if err != nil {
			return err
		}
		out := mailbox.Outbound{MailboxID: mb.ID, TicketID: tk.ID, Kind: "reply", MessageID: pectest.OutboundMessageID, From: pectest.DeskPEC,
			To: []string{pectest.Citizen}, Subject: pectest.OutboundSubject, Raw: pectest.Outbound(), State: mailbox.OutBounced, NextAt: time.Now(), Created: time.Now()}
		if err := tx.InsertOutbound(ctx, &out); err != nil {
			return err
		}
		if err := mailbox.PECOf(tx).PutDelivery(ctx, mailbox.PECDelivery{OutID: out.ID, Recipient: pectest.Citizen, State: mailbox.DelFailed,
			Detail: "errore-consegna: casella inesistente", Updated: time.Now()}); err != nil {
			return err
		}
		_, err = mailbox.PECOf(tx).InsertPECAlert(ctx, &mailbox.PECAlert{TicketID: tk.ID, OutID: out.ID, Kind: "errore-consegna",
			Recipient: pectest.Citizen, Detail: "casella inesistente", Created: time.Now()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return h, number, inID, raw
}

// TestTicketPagePEC: a ticket from a certified message shows the PEC
// badge, the certified sender, the certification data with the download
// of the signed original (byte for byte), and takes a protocol number.
func TestTicketPagePEC(t *testing.T) {
	h, number, inID, raw := pecHarness(t)
	a := h.client()
	a.login("agente@example.it")
	page := a.get("/operatore/ticket/" + number)
	if page.StatusCode != http.StatusOK {
		t.Fatalf("ticket page: %d", page.StatusCode)
	}
	evidence := "/operatore/ticket/" + number + "/pec/" + itoa(inID)
	mustContain(t, page.Body, `id="pec-badge"`, `id="pec-certified-sender">`+pectest.Citizen, "Posta certificata (PEC)",
		pectest.EnvelopeIdentificativo, "12/02/2026 09:30:00", pec.Evidence(raw), `href="`+evidence+`"`, "verificata")

	dl := a.get(evidence)
	if dl.StatusCode != http.StatusOK || dl.Body != string(raw) || dl.Header.Get("Content-Type") != "message/rfc822" {
		t.Errorf("evidence download: %d %s, %d bytes", dl.StatusCode, dl.Header.Get("Content-Type"), len(dl.Body))
	}
	if res := a.get("/operatore/ticket/" + number + "/pec/999"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown evidence: %d", res.StatusCode)
	}
	o := h.client()
	o.login("agente@altro.example.it")
	if res := o.get(evidence); res.StatusCode != http.StatusNotFound || strings.Contains(res.Body, "X-Trasporto") {
		t.Errorf("agent of another organisation: %d", res.StatusCode)
	}

	mustContain(t, a.get("/operatore").Body, `id="pec-workspace-alerts"`, `href="/operatore/ticket/`+number+`#pec"`, "PEC: avviso di mancata consegna")
	page = a.get("/operatore/ticket/" + number)
	mustContain(t, page.Body, `id="pec-alerts"`, `id="pec-sent"`, "non consegnata", "casella inesistente")

	if res := a.post("/operatore/ticket/"+number+"/campi", url.Values{"protocol": {"AOO/2026/0004521"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("protocol: %d %s", res.StatusCode, res.Body)
	}
	page = a.get("/operatore/ticket/" + number)
	mustContain(t, page.Body, `id="protocol-value">AOO/2026/0004521`, "Protocollo: da")
	if res := a.post("/operatore/ticket/"+number+"/campi", url.Values{"protocol": {strings.Repeat("1", 101)}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("too long protocol: %d", res.StatusCode)
	} else {
		mustContain(t, res.Body, `id="protocol-error"`, "al massimo 100 caratteri")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestBrowserPECTicket opens the workspace and the page of a ticket that
// came by PEC in Chromium: the alert, the badge, the delivery state and
// the certification data pass axe, and the protocol number is saved with
// the keyboard-reachable form.
func TestBrowserPECTicket(t *testing.T) {
	h, number, _, _ := pecHarness(t)
	tr := newTour(t, h)
	b := tr.b
	tr.login("agente@example.it")
	if !strings.Contains(b.Text("#pec-workspace-alerts"), number) {
		t.Errorf("workspace alert: %q", b.Text("#pec-workspace-alerts"))
	}
	tr.check("pec-workspace")
	tr.open("/operatore/ticket/" + number)
	if b.Text("#pec-badge") != "PEC" || b.Text("#pec-certified-sender") != pectest.Citizen {
		t.Errorf("badge %q, certified sender %q", b.Text("#pec-badge"), b.Text("#pec-certified-sender"))
	}
	b.Click("#pec details summary")
	tr.check("pec-ticket")
	b.FillLabel("Protocollo", "AOO/2026/0004521")
	if st := b.Submit("#protocol-form"); st != http.StatusOK {
		t.Fatalf("protocol: %d", st)
	}
	if got := b.Text("#protocol-value"); got != "AOO/2026/0004521" {
		t.Errorf("protocol shown %q", got)
	}
	tr.check("")
	b.AssertNoConsoleErrors()
}
