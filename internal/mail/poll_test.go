package mail_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/intake"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/mailtest"
	"github.com/sportello/sportello/internal/mail/outbox"
	"github.com/sportello/sportello/internal/store/storetest"
)

// slowRecovery tunes the jobs so that only polling can take new mail in
// time: an IDLE lasts a minute, and a failed session is retried after a
// minute too.
func slowRecovery(io *intake.Opts, wo *outbox.WorkerOpts) {
	fast(io, wo)
	io.IdleMax = time.Minute
	io.Retry = time.Minute
	io.Poll = 200 * time.Millisecond
}

// TestIdleRefusedPolls: a server that offers IDLE but refuses it is polled
// instead, without the reader failing.
func TestIdleRefusedPolls(t *testing.T) {
	ctx := context.Background()
	e := &env{t: t, ctx: ctx, db: storetest.OpenSQLite(t)}
	e.desk = storetest.NewDesk(t, e.db, nil)
	seedDesk(t, e.db, e.desk)
	e.imap = mailtest.StartIMAPRefusingIdle(t)
	e.smtp = mailtest.StartSMTP(t)
	var err error
	e.mail, err = mail.NewWith(mail.Opts{Store: e.db, Key: []byte(testKey), Tune: func(io *intake.Opts, wo *outbox.WorkerOpts) {
		slowRecovery(io, wo)
		io.IdleMax = 2 * time.Second // the first, refused IDLE ends here
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.mb, _, err = mail.SaveMailbox(ctx, e.db, e.mail.Sealer, mail.MailboxInput{Address: mail.NationalDeskAddress,
		IMAP: e.imap.URL(), SMTP: e.smtp.URL()}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.start()
	for i := 0; i < 3; i++ {
		in := e.deliver(mailtest.Message(requester, mail.NationalDeskAddress, fmt.Sprintf("BDNA - richiesta %d", i), "Testo."))
		if in.Outcome != mailbox.OutTicket {
			t.Fatalf("message %d: %s (%s)", i, in.Outcome, in.Detail)
		}
		time.Sleep(300 * time.Millisecond) // let the reader wait again
	}
	var mb mailbox.Mailbox
	_ = mailbox.View(ctx, e.db, func(tx mailbox.Tx) error { mb, err = tx.MailboxByID(ctx, e.mb.ID); return err })
	if mb.Health.LastError != "" {
		t.Errorf("the reader failed: %s", mb.Health.LastError)
	}
}

// TestDovecotPollingAndMove runs the reader against a real Dovecot twice:
// as offered on 127.0.0.1 (IDLE, MOVE) and on 127.0.0.2, where the test
// script's Dovecot offers neither IDLE nor MOVE, so that the reader polls
// and moves with COPY, STORE \Deleted and UID EXPUNGE. Processed mail goes
// to a folder of its own, created on first use.
//
//	eval "$(scripts/dovecot-test.sh env)"
//	go test ./internal/mail -run TestDovecotPollingAndMove
func TestDovecotPollingAndMove(t *testing.T) {
	requireDovecot(t)
	user, pass := os.Getenv("SPORTELLO_TEST_DOVECOT_USER"), os.Getenv("SPORTELLO_TEST_DOVECOT_PASSWORD")
	lmtpAddr := os.Getenv("SPORTELLO_TEST_DOVECOT_LMTP")
	servers := []struct{ name, addr string }{
		{"idle-move", os.Getenv("SPORTELLO_TEST_DOVECOT_IMAP")},
		{"poll-copy", os.Getenv("SPORTELLO_TEST_DOVECOT_IMAP_OLD")},
	}
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			if srv.addr == "" {
				t.Fatal("the Dovecot address is not set: run scripts/dovecot-test.sh env")
			}
			caps := dovecotCaps(t, srv.addr, user, pass)
			wantIdle := srv.name == "idle-move"
			if caps.Has(imap.CapIdle) != wantIdle || caps.Has(imap.CapMove) != wantIdle {
				t.Fatalf("Dovecot at %s offers IDLE %v and MOVE %v, want %v (restart it with the current scripts/dovecot-test.sh)",
					srv.addr, caps.Has(imap.CapIdle), caps.Has(imap.CapMove), wantIdle)
			}
			ctx := context.Background()
			folder := fmt.Sprintf("P%d", time.Now().UnixNano())
			done := folder + "-done"
			local, domain, _ := strings.Cut(user, "@")
			rcpt := local + "+" + folder + "@" + domain
			lmtpDeliver(t, lmtpAddr, rcpt, mailtest.Message(requester, mail.NationalDeskAddress, "BDNA - primo", "Primo messaggio."))

			e := &env{t: t, ctx: ctx, db: storetest.OpenSQLite(t)}
			e.desk = storetest.NewDesk(t, e.db, nil)
			seedDesk(t, e.db, e.desk)
			e.smtp = mailtest.StartSMTP(t)
			var err error
			e.mail, err = mail.NewWith(mail.Opts{Store: e.db, Key: []byte(testKey), Tune: slowRecovery})
			if err != nil {
				t.Fatal(err)
			}
			u := url.URL{Scheme: "imap", User: url.UserPassword(user, pass), Host: srv.addr, Path: "/" + folder}
			e.mb, _, err = mail.SaveMailbox(ctx, e.db, e.mail.Sealer, mail.MailboxInput{Address: mail.NationalDeskAddress,
				IMAP: u.String(), SMTP: e.smtp.URL(), MoveTo: done}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			e.start()
			waitFolders := func(n int) {
				t.Helper()
				deadline := time.Now().Add(15 * time.Second)
				for {
					left := dovecotCount(t, srv.addr, user, pass, folder, false)
					moved := dovecotCount(t, srv.addr, user, pass, done, true)
					if left == 0 && moved == n {
						return
					}
					if time.Now().After(deadline) {
						var mb mailbox.Mailbox
						_ = mailbox.View(ctx, e.db, func(tx mailbox.Tx) error { mb, err = tx.MailboxByID(ctx, e.mb.ID); return err })
						t.Fatalf("%d messages left in %s and %d seen in %s, want 0 and %d (mailbox health %+v)", left, folder, moved, done, n, mb.Health)
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
			waitFolders(1)
			// New mail while the reader waits: announced by IDLE on one
			// server, found by polling on the other.
			for i := 2; i <= 3; i++ {
				lmtpDeliver(t, lmtpAddr, rcpt, mailtest.Message(requester, mail.NationalDeskAddress, fmt.Sprintf("BDNA - messaggio %d", i), "Altro."))
				waitFolders(i)
			}
			if n := e.countTickets(); n != 3 {
				t.Fatalf("%d tickets, want 3", n)
			}
			var mb mailbox.Mailbox
			_ = mailbox.View(ctx, e.db, func(tx mailbox.Tx) error { mb, err = tx.MailboxByID(ctx, e.mb.ID); return err })
			if mb.Health.LastError != "" {
				t.Errorf("the reader failed: %s", mb.Health.LastError)
			}
		})
	}
}

func dovecotCaps(t *testing.T, addr, user, pass string) imap.CapSet {
	t.Helper()
	c, err := dialDovecot(addr, user, pass, "INBOX")
	if err != nil {
		t.Fatalf("Dovecot at %s: %v", addr, err)
	}
	defer c.close()
	return c.c.Caps()
}

// dovecotCount counts a folder's messages (only those marked seen, with
// seen), 0 when the folder does not exist.
func dovecotCount(t *testing.T, addr, user, pass, folder string, seen bool) int {
	t.Helper()
	c, err := dialDovecot(addr, user, pass, folder)
	if err != nil {
		return 0
	}
	defer c.close()
	crit := &imap.SearchCriteria{}
	if seen {
		crit.Flag = []imap.Flag{imap.FlagSeen}
	}
	data, err := c.c.UIDSearch(crit, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	return len(data.AllUIDs())
}
