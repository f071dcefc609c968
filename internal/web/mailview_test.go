package web

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/parse"
)

// hostileMail is a received e-mail whose HTML tries everything.
const hostileMail = "From: Mario Rossi <utente@example.it>\r\nTo: assistenza@desk.example.it\r\nSubject: Stampante guasta\r\n" +
	"Message-ID: <m1@example.it>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n" +
	"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBuongiorno, la stampante non stampa.\r\n" +
	"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
	`<p>Buongiorno,</p><script>parent.document.title="rubato"</script>` +
	`<img src="https://tracker.example/p.gif" alt="logo"><p onmouseover="alert(1)">la stampante <b>non stampa</b>.</p>` + "\r\n--b--\r\n"

// addReceivedMail records a received e-mail for a ticket as the intake
// does (mailbox, raw bytes, sanitised HTML) and returns its id.
func addReceivedMail(t testing.TB, h *harness, ticketID int64, raw string) int64 {
	t.Helper()
	db := h.f.DB.SQL()
	now := time.Now().UnixMicro()
	var org int64
	if err := db.QueryRow("SELECT org_id FROM tickets WHERE id = ?", ticketID).Scan(&org); err != nil {
		t.Fatal(err)
	}
	var mb int64
	err := db.QueryRow("SELECT id FROM mailboxes WHERE address = 'assistenza@desk.example.it'").Scan(&mb)
	if err != nil {
		res, err := db.Exec(`INSERT INTO mailboxes (org_id, address, imap_url, smtp_url, created_at, updated_at)
			VALUES (?, 'assistenza@desk.example.it', 'imap://127.0.0.1:1/INBOX', 'smtp://127.0.0.1:1', ?, ?)`, org, now, now)
		if err != nil {
			t.Fatal(err)
		}
		mb, _ = res.LastInsertId()
	}
	m, err := parse.Parse([]byte(raw), parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(raw))
	res, err := db.Exec(`INSERT INTO mail_in (mailbox_id, uid_validity, uid, message_id, sha256, size, raw, from_addr, recipient, subject,
		outcome, ticket_id, html, received_at) VALUES (?, 1, ?, ?, ?, ?, ?, ?, 'assistenza@desk.example.it', ?, 'ticket', ?, ?, ?)`,
		mb, now, m.MessageID, hex.EncodeToString(sum[:]), len(raw), []byte(raw), m.From.Email, m.Subject, ticketID, m.HTML, now)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	return id
}

// TestMailHTMLView: staff see the HTML of a received e-mail in a sandboxed
// frame whose own policy allows no script and, until asked, no remote
// image; nobody else sees it, and no message of another ticket.
func TestMailHTMLView(t *testing.T) {
	h := newHarness(t)
	tk := h.create(h.actor("agente@example.it"), desk.NewTicket{Subject: "Stampante guasta", Channel: desk.ChannelEmail,
		Requester: desk.Contact{Email: "utente@example.it"}})
	other := h.create(h.actor("agente@example.it"), desk.NewTicket{Subject: "Altro", Requester: desk.Contact{Email: "utente@example.it"}})
	id := addReceivedMail(t, h, tk.ID, hostileMail)
	page := "/operatore/ticket/" + tk.Number + "/posta/" + strconv.FormatInt(id, 10)

	agent := h.client()
	agent.login("agente@example.it")
	mustContain(t, agent.get("/operatore/ticket/"+tk.Number).Body, `<a href="`+page+`">Versione HTML dell&#39;e-mail</a>`)

	res := agent.get(page)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("mail page: %d", res.StatusCode)
	}
	mustContain(t, res.Body, `<iframe class="sp-mail-frame" src="`+page+`/html"`, `sandbox="allow-popups allow-popups-to-escape-sandbox"`,
		`title="Messaggio e-mail: Stampante guasta"`, `href="`+page+`?immagini=1" id="toggle-images">Mostra immagini remote`, "utente@example.it")

	frame := agent.get(page + "/html")
	csp := frame.Header.Get("Content-Security-Policy")
	if frame.StatusCode != http.StatusOK || !strings.HasPrefix(csp, "sandbox ") || strings.Contains(csp, "https:") ||
		frame.Header.Get("X-Frame-Options") != "SAMEORIGIN" || frame.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("frame: %d %v", frame.StatusCode, frame.Header)
	}
	mustContain(t, frame.Body, "<b>non stampa</b>", "[logo]")
	for _, bad := range []string{"<script", "onmouseover", "tracker.example", "rubato"} {
		if strings.Contains(frame.Body, bad) {
			t.Errorf("frame contains %q", bad)
		}
	}
	// Asked for: the frame's policy and document let the image load.
	res = agent.get(page + "?immagini=1")
	mustContain(t, res.Body, `src="`+page+`/html?immagini=1"`, "Blocca immagini remote", "Le immagini remote sono mostrate.")
	frame = agent.get(page + "/html?immagini=1")
	if !strings.Contains(frame.Header.Get("Content-Security-Policy"), "img-src data: https: http:") {
		t.Errorf("frame CSP with images: %s", frame.Header.Get("Content-Security-Policy"))
	}
	mustContain(t, frame.Body, `<img src="https://tracker.example/p.gif" alt="logo"/>`)
	if strings.Contains(frame.Body, "<script") {
		t.Error("script in the frame with images")
	}

	// The requester uses the portal; another organisation's agent and
	// another ticket's URL find nothing.
	req := h.client()
	req.login("utente@example.it")
	if st := req.get(page).StatusCode; st != http.StatusForbidden {
		t.Errorf("requester: %d", st)
	}
	out := h.client()
	out.login("agente@altro.example.it")
	if st := out.get(page + "/html").StatusCode; st != http.StatusNotFound {
		t.Errorf("outsider: %d", st)
	}
	if st := agent.get("/operatore/ticket/" + other.Number + "/posta/" + strconv.FormatInt(id, 10)).StatusCode; st != http.StatusNotFound {
		t.Errorf("another ticket's mail: %d", st)
	}
}

// TestMailBodyUsesStoredHTMLWhenRawDiffers: when the raw bytes do not give
// back the HTML the intake stored (a PEC envelope around the certified
// message), the stored HTML is what the frame shows.
func TestMailBodyUsesStoredHTMLWhenRawDiffers(t *testing.T) {
	in := mailbox.Inbound{Raw: []byte(hostileMail), HTML: "<p>Il messaggio certificato</p>"}
	got, remote := mailBody(in, true)
	if got != "<p>Il messaggio certificato</p>" || remote {
		t.Fatalf("body %q remote %v", got, remote)
	}
	m, err := parse.Parse([]byte(hostileMail), parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in.HTML = m.HTML
	if got, remote := mailBody(in, true); !remote || !strings.Contains(got, "tracker.example") {
		t.Fatalf("same message: %q %v", got, remote)
	}
}
