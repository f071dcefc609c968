package mail_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/mailtest"
	"github.com/sportello/sportello/internal/mail/pec"
	"github.com/sportello/sportello/internal/mail/pec/pectest"
	"github.com/sportello/sportello/internal/store/storetest"
)

// TestDovecotPEC runs the PEC channel against a real Dovecot: a signed
// certified request and the provider's receipts are delivered over LMTP
// into the desk's PEC mailbox and read over IMAP by the intake job; the
// request becomes a ticket with its evidence, the agent's reply goes out
// through the submission server, its receipts land on the reply, and a
// malformed PEC message is quarantined without holding up the mailbox.
//
// Start the server as for TestDovecot (scripts/dovecot-test.sh env). It is
// skipped without SPORTELLO_TEST_DOVECOT=1, except in CI.
func TestDovecotPEC(t *testing.T) {
	requireDovecot(t)
	imapAddr, lmtpAddr := os.Getenv("SPORTELLO_TEST_DOVECOT_IMAP"), os.Getenv("SPORTELLO_TEST_DOVECOT_LMTP")
	user, pass := os.Getenv("SPORTELLO_TEST_DOVECOT_USER"), os.Getenv("SPORTELLO_TEST_DOVECOT_PASSWORD")
	local, domain, _ := strings.Cut(user, "@")
	pki := pectest.NewPKI(t)
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" && os.Getenv(storetest.EnvPostgres) == "" && os.Getenv("CI") == "" {
				t.Skip("no PostgreSQL configured")
			}
			folder := fmt.Sprintf("PEC%d%s", time.Now().UnixNano(), engine)
			rcpt := local + "+" + folder + "@" + domain
			deliver := func(raw []byte) {
				t.Helper()
				lmtpDeliverFrom(t, lmtpAddr, pectest.ProviderAddress, rcpt, raw)
			}
			e := &env{t: t, ctx: context.Background(), db: storetest.Engines[engine](t)}
			e.desk = storetest.NewDesk(t, e.db, nil)
			seedDesk(t, e.db, e.desk)
			e.smtp = mailtest.StartSMTP(t)
			var err error
			e.mail, err = mail.NewWith(mail.Opts{Store: e.db, Key: []byte(testKey), Tune: fast, Registry: prometheus.NewRegistry(),
				PEC: pec.Options{TrustAnchors: pki.CA.Pool(), Now: pectest.NowFunc}})
			if err != nil {
				t.Fatal(err)
			}
			u := url.URL{Scheme: "imap", User: url.UserPassword(user, pass), Host: imapAddr, Path: "/" + folder}
			e.mb, _, err = mail.SaveMailbox(e.ctx, e.db, e.mail.Sealer, mail.MailboxInput{Address: mail.NationalDeskPEC, PEC: true,
				IMAP: u.String(), SMTP: e.smtp.URL()}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			e.desk.SetTxHooks(desk.TxHooks{OnMessage: e.mail.EnqueueReply, OnStatus: e.mail.EnqueueStatus})
			p := &pecEnv{env: e, pki: pki}
			waitLog := func(n int) []mailbox.Inbound {
				t.Helper()
				deadline := time.Now().Add(15 * time.Second)
				for {
					var log []mailbox.Inbound
					err := mailbox.View(e.ctx, e.db, func(tx mailbox.Tx) error {
						var err error
						log, err = tx.MailLog(e.ctx, mailbox.LogQuery{MailboxID: e.mb.ID})
						return err
					})
					if err != nil {
						t.Fatal(err)
					}
					if len(log) >= n {
						return log
					}
					if time.Now().After(deadline) {
						t.Fatalf("%d messages taken from Dovecot, want %d", len(log), n)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}

			deliver(p.envelopeN("dovecot").Build(t)) // creates the folder
			e.start()
			log := waitLog(1)
			if log[0].Outcome != mailbox.OutTicket {
				t.Fatalf("envelope: %s (%s)", log[0].Outcome, log[0].Detail)
			}
			number := log[0].TicketNumber
			tp := p.pecData(number)
			if !tp.PEC || len(tp.Certs) != 1 || tp.Certs[0].SigStatus != "verified" || tp.CertifiedSender != pectest.Citizen {
				t.Fatalf("PEC data %+v", tp)
			}
			in, cert, err := mail.Evidence(e.ctx, e.desk, e.db, desk.SystemActor, number, tp.Certs[0].InID)
			if err != nil || pec.Evidence(in.Raw) != cert.SHA256 || !strings.Contains(string(in.Raw), "X-Trasporto: posta-certificata") {
				t.Errorf("evidence: %v", err)
			}

			agent := agentActor(t, e.desk)
			if _, err := e.desk.AddMessage(e.ctx, agent, number, desk.NewMessage{Body: "Utenza riabilitata."}); err != nil {
				t.Fatal(err)
			}
			reply := p.waitOut(number, 2) // after the acknowledgement
			if reply.Outbound.Kind != "reply" {
				t.Fatalf("second PEC message is %q", reply.Outbound.Kind)
			}
			deliver(p.receiptFor(pec.ReceiptAccettazione, reply.Outbound, "dovecot"))
			deliver(p.receiptFor(pec.ReceiptAvvenutaConsegna, reply.Outbound, "dovecot"))
			bad := pectest.Malformed(pki.Signer)[0].Message // a receipt without daticert.xml
			bad.MessageID = "malformed.dovecot@pec.gestore.example.it"
			deliver(bad.Build(t))
			log = waitLog(4)
			if log[0].Outcome != mailbox.OutQuarantined || log[1].Outcome != mailbox.OutReceipt || log[2].Outcome != mailbox.OutReceipt ||
				log[1].TicketNumber != number {
				t.Errorf("log %s %s %s", log[0].Outcome, log[1].Outcome, log[2].Outcome)
			}
			tp = p.pecData(number)
			if s := tp.Sent[1]; s.Status() != "delivered" || len(s.Receipts) != 2 {
				t.Errorf("reply status %s, %d receipts", s.Status(), len(s.Receipts))
			}
			if n := e.countTickets(); n != 1 {
				t.Errorf("%d tickets: receipts and malformed messages must open none", n)
			}
			// Everything taken is marked seen in Dovecot.
			deadline := time.Now().Add(5 * time.Second)
			for {
				c, err := dialDovecot(imapAddr, user, pass, folder)
				if err != nil {
					t.Fatal(err)
				}
				unseen, err := c.unseen()
				c.close()
				if err != nil {
					t.Fatal(err)
				}
				if unseen == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d messages still unseen in Dovecot", unseen)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}
