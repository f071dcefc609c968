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

// TestTicketPagePEC: a ticket from a certified message shows the PEC
// badge, the certified sender, the certification data with the download
// of the signed original (byte for byte), and takes a protocol number.
func TestTicketPagePEC(t *testing.T) {
	var number string
	var raw []byte
	var inID int64
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
	var h *harness
	h = newHarnessWith(t, []func(testing.TB, *storetest.Fixture){ingest}, func(o *Opts) {
		o.PEC = mail.PECService{Desk: o.Desk, Store: o.DB}
	})
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

	if res := a.post("/operatore/ticket/"+number+"/campi", url.Values{"protocol": {"AOO/2026/0004521"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("protocol: %d %s", res.StatusCode, res.Body)
	}
	page = a.get("/operatore/ticket/" + number)
	mustContain(t, page.Body, `id="protocol-value">AOO/2026/0004521`, "Protocollo: da")
	if res := a.post("/operatore/ticket/"+number+"/campi", url.Values{"protocol": {strings.Repeat("1", 101)}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("too long protocol: %d", res.StatusCode)
	} else {
		mustContain(t, res.Body, `id="protocol-error"`)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
