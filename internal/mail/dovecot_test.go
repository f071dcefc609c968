package mail_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/mailtest"
	"github.com/sportello/sportello/internal/store/storetest"
)

// TestDovecot runs the e-mail channel against a real Dovecot: mail is
// delivered over LMTP (Dovecot's own delivery agent), read over IMAP with
// IDLE, answered through SMTP, and marked seen on the server.
//
// Start the server with (as root):
//
//	eval "$(scripts/dovecot-test.sh env)"
//	go test ./internal/mail -run TestDovecot
//
// It is skipped without SPORTELLO_TEST_DOVECOT=1, except in CI, where a
// missing or unreachable Dovecot fails it.
func TestDovecot(t *testing.T) {
	requireDovecot(t)
	imapAddr, lmtpAddr := os.Getenv("SPORTELLO_TEST_DOVECOT_IMAP"), os.Getenv("SPORTELLO_TEST_DOVECOT_LMTP")
	user, pass := os.Getenv("SPORTELLO_TEST_DOVECOT_USER"), os.Getenv("SPORTELLO_TEST_DOVECOT_PASSWORD")
	for _, a := range []string{imapAddr, lmtpAddr} {
		c, err := net.DialTimeout("tcp", a, 3*time.Second)
		if err != nil {
			t.Fatalf("Dovecot does not answer at %q: %v (run scripts/dovecot-test.sh env)", a, err)
		}
		c.Close()
	}
	// A folder of this run's own: LMTP delivers desk+FOLDER@ into it.
	folder := fmt.Sprintf("T%d", time.Now().UnixNano())
	local, domain, _ := strings.Cut(user, "@")
	rcpt := local + "+" + folder + "@" + domain
	deliver := func(raw []byte) {
		t.Helper()
		lmtpDeliver(t, lmtpAddr, rcpt, raw)
	}
	// The folder must exist before the desk reads it: deliver first.
	first := mailtest.Message("Mario Rossi <"+requester+">", mail.NationalDeskAddress, "BDNA - errore di accesso (Dovecot)", "Non riesco ad accedere.")
	deliver(first)

	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" && os.Getenv(storetest.EnvPostgres) == "" && os.Getenv("CI") == "" {
				t.Skip("no PostgreSQL configured")
			}
			e := &env{t: t, ctx: context.Background(), db: storetest.Engines[engine](t)}
			e.desk = storetest.NewDesk(t, e.db, nil)
			seedDesk(t, e.db, e.desk)
			e.smtp = mailtest.StartSMTP(t)
			var err error
			e.mail, err = mail.NewWith(mail.Opts{Store: e.db, Key: []byte(testKey), Tune: fast})
			if err != nil {
				t.Fatal(err)
			}
			sub := folder + engine
			u := url.URL{Scheme: "imap", User: url.UserPassword(user, pass), Host: imapAddr, Path: "/" + sub}
			e.mb, _, err = mail.SaveMailbox(e.ctx, e.db, e.mail.Sealer, mail.MailboxInput{Address: mail.NationalDeskAddress,
				IMAP: u.String(), SMTP: e.smtp.URL()}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			rcpt = local + "+" + sub + "@" + domain
			deliver(first) // creates the folder; unseen, so taken at first read
			e.start()
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
						var mb mailbox.Mailbox
						_ = mailbox.View(e.ctx, e.db, func(tx mailbox.Tx) error { mb, err = tx.MailboxByID(e.ctx, e.mb.ID); return err })
						t.Fatalf("%d messages taken from Dovecot, want %d (mailbox health %+v)", len(log), n, mb.Health)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
			log := waitLog(1)
			if log[0].Outcome != mailbox.OutTicket {
				t.Fatalf("outcome %s (%s)", log[0].Outcome, log[0].Detail)
			}
			number := log[0].TicketNumber
			ack, _ := e.waitSent(1)
			if !strings.Contains(ack.GetHeader("Subject"), number) {
				t.Errorf("ack subject %q", ack.GetHeader("Subject"))
			}
			// A reply arrives while the reader is in IDLE.
			ackID := strings.Trim(ack.GetHeader("Message-Id"), "<>")
			deliver(mailtest.Message(requester, mail.NationalDeskAddress, "Re: "+ack.GetHeader("Subject"), "Ecco la schermata.",
				"In-Reply-To: <"+ackID+">"))
			log = waitLog(2)
			if log[0].TicketNumber != number || log[0].Outcome != mailbox.OutMessage {
				t.Fatalf("reply: %s on %s (%s)", log[0].Outcome, log[0].TicketNumber, log[0].Detail)
			}
			tl, err := e.desk.Timeline(e.ctx, desk.SystemActor, number)
			if err != nil || len(tl.Messages) != 1 {
				t.Fatalf("timeline: %d messages (%v)", len(tl.Messages), err)
			}
			// Both are marked seen in Dovecot.
			deadline := time.Now().Add(5 * time.Second)
			for {
				c, err := dialDovecot(imapAddr, user, pass, sub)
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
			// The raw bytes are kept as Dovecot delivered them.
			_ = mailbox.View(e.ctx, e.db, func(tx mailbox.Tx) error {
				in, err := tx.InboundByID(e.ctx, log[1].ID)
				if err == nil && !bytes.Contains(in.Raw, []byte("BDNA - errore di accesso (Dovecot)")) {
					t.Error("raw message not kept")
				}
				return err
			})
		})
	}
}
