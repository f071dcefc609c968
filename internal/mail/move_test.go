package mail_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/mailtest"
	"github.com/sportello/sportello/internal/store/storetest"
)

// TestMoveProcessed: a mailbox with a folder for processed mail gets every
// message moved there, marked seen, once its ticket is committed; the folder
// is created when missing. With MOVE (IMAP4rev2) and, on a server without
// MOVE or UIDPLUS, with COPY, STORE \Deleted and EXPUNGE.
func TestMoveProcessed(t *testing.T) {
	servers := map[string]func(testing.TB) *mailtest.IMAP{"move": mailtest.StartIMAP, "copy-expunge": mailtest.StartIMAPRev1}
	for _, name := range []string{"move", "copy-expunge"} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			e := &env{t: t, ctx: ctx, db: storetest.OpenSQLite(t)}
			e.desk = storetest.NewDesk(t, e.db, nil)
			seedDesk(t, e.db, e.desk)
			e.imap = servers[name](t)
			e.smtp = mailtest.StartSMTP(t)
			var err error
			e.mail, err = mail.NewWith(mail.Opts{Store: e.db, Key: []byte(testKey), Tune: fast})
			if err != nil {
				t.Fatal(err)
			}
			e.mb, _, err = mail.SaveMailbox(ctx, e.db, e.mail.Sealer, mail.MailboxInput{Address: mail.NationalDeskAddress,
				IMAP: e.imap.URL(), SMTP: e.smtp.URL(), MoveTo: "Elaborati/Sportello"}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if e.mb.MoveTo != "Elaborati/Sportello" {
				t.Fatalf("mailbox saved with move_to %q", e.mb.MoveTo)
			}
			e.start()
			const n = 5
			for i := 0; i < n; i++ {
				in := e.deliver(mailtest.Message(fmt.Sprintf("utente%d@comune.example.it", i), mail.NationalDeskAddress, fmt.Sprintf("BDNA - richiesta %d", i), "Testo."))
				if in.TicketNumber == "" {
					t.Fatalf("message %d: %s (%s)", i, in.Outcome, in.Detail)
				}
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				inSeen, inUnseen := e.imap.Seen(t)
				seen, unseen := e.imap.SeenIn(t, "Elaborati/Sportello")
				if len(inSeen)+len(inUnseen) == 0 && len(seen) == n && len(unseen) == 0 {
					break
				}
				if time.Now().After(deadline) {
					mb, _ := mail.Mailboxes(ctx, e.db, agentActor(t, e.desk))
					t.Fatalf("INBOX holds %d+%d messages, the folder %d seen and %d unseen; want 0 and %d seen (health %+v)",
						len(inSeen), len(inUnseen), len(seen), len(unseen), n, mb)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if got := e.countTickets(); got != n {
				t.Fatalf("%d tickets, want %d", got, n)
			}
		})
	}
}

// TestMoveAfterSeen: messages taken and marked seen but not yet moved (the
// process stopped in between, or the folder for processed mail was set
// afterwards) are moved on the next read, and not taken twice.
func TestMoveAfterSeen(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite)
	for i := 0; i < 3; i++ {
		e.deliver(mailtest.Message(requester, mail.NationalDeskAddress, fmt.Sprintf("BDNA - richiesta %d", i), "Testo."))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if seen, unseen := e.imap.Seen(t); len(seen) == 3 && len(unseen) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("messages not marked seen")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var err error
	e.mb, _, err = mail.SaveMailbox(e.ctx, e.db, e.mail.Sealer, mail.MailboxInput{Address: mail.NationalDeskAddress,
		IMAP: e.imap.URL(), SMTP: e.smtp.URL(), MoveTo: "Elaborati"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for deadline = time.Now().Add(10 * time.Second); ; {
		inSeen, inUnseen := e.imap.Seen(t)
		seen, _ := e.imap.SeenIn(t, "Elaborati")
		if len(inSeen)+len(inUnseen) == 0 && len(seen) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("INBOX holds %d messages, Elaborati %d seen; want 0 and 3", len(inSeen)+len(inUnseen), len(seen))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.countTickets(); n != 3 {
		t.Fatalf("%d tickets, want 3", n)
	}
}
