package mail_test

import (
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/intake"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/mailtest"
	"github.com/sportello/sportello/internal/store/storetest"
)

// TestBatchIsolatesRefused: a batch is committed in one transaction; a
// message the desk refuses (here: a sender address without a domain) is
// quarantined without losing the others, and a message delivered twice in
// one batch is recorded as a duplicate of the first copy.
func TestBatchIsolatesRefused(t *testing.T) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			p := newProcEnv(t, storetest.Engines[name])
			first := mailtest.Message(requester, mail.NationalDeskAddress, "BDNA - uno", "uno", "Message-ID: <uno@client.example.it>")
			items := []intake.Item{
				{UID: 1, Raw: first},
				{UID: 2, Raw: mailtest.Message(requester, mail.NationalDeskAddress, "BDNA - due", "due", "Message-ID: <due@client.example.it>")},
				{UID: 3, Raw: mailtest.Message("utente@localhost", mail.NationalDeskAddress, "BDNA - tre", "tre", "Message-ID: <tre@client.example.it>")},
				{UID: 4, Raw: first},
				{UID: 5, Raw: mailtest.Message(requester, mail.NationalDeskAddress, "BDNA - cinque", "cinque", "Message-ID: <cinque@client.example.it>")},
			}
			res, err := p.mail.Processor.IngestBatch(p.ctx, p.mb, 1, items)
			if err != nil {
				t.Fatal(err)
			}
			want := []mailbox.Outcome{mailbox.OutTicket, mailbox.OutTicket, mailbox.OutQuarantined, mailbox.OutDuplicate, mailbox.OutTicket}
			for i, r := range res {
				if r.Outcome != want[i] {
					t.Errorf("uid %d: %s (%s), want %s", i+1, r.Outcome, r.Detail, want[i])
				}
			}
			if !strings.Contains(res[2].Detail, "refused") {
				t.Errorf("quarantine reason %q", res[2].Detail)
			}
			var log []mailbox.Inbound
			err = mailbox.View(p.ctx, p.db, func(tx mailbox.Tx) error {
				log, err = tx.MailLog(p.ctx, mailbox.LogQuery{MailboxID: p.mb.ID})
				return err
			})
			if err != nil || len(log) != 5 {
				t.Fatalf("%d records (%v), want 5", len(log), err)
			}
			tickets := map[int64]bool{}
			for _, e := range log {
				if e.TicketID != 0 {
					tickets[e.TicketID] = true
				}
			}
			if len(tickets) != 3 {
				t.Fatalf("%d tickets, want 3", len(tickets))
			}
			// Again: nothing new.
			res, err = p.mail.Processor.IngestBatch(p.ctx, p.mb, 1, items)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				if !r.Already {
					t.Errorf("uid %d processed twice: %+v", i+1, r)
				}
			}
		})
	}
}

// TestBatchRateLimit: the per-sender limit of automatic answers holds when
// the sender's messages arrive in one batch, and counts what earlier
// batches sent.
func TestBatchRateLimit(t *testing.T) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			p := newProcEnv(t, storetest.Engines[name])
			retired := mail.NationalDeskRetired[0]
			batch := func(from uint32, n int) {
				t.Helper()
				var items []intake.Item
				for i := 0; i < n; i++ {
					items = append(items, intake.Item{UID: from + uint32(i), Raw: mailtest.Message(requester, retired, "Sollecito", "...",
						"Message-ID: <s"+strings.Repeat("x", i+int(from))+"@client.example.it>")})
				}
				if _, err := p.mail.Processor.IngestBatch(p.ctx, p.mb, 1, items); err != nil {
					t.Fatal(err)
				}
			}
			count := func() int {
				t.Helper()
				var out []mailbox.Outbound
				err := mailbox.View(p.ctx, p.db, func(tx mailbox.Tx) error {
					var err error
					out, err = tx.Outbounds(p.ctx, 0, nil, 0, 100)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				return len(out)
			}
			batch(1, 2)
			if n := count(); n != 2 {
				t.Fatalf("%d answers after the first batch, want 2", n)
			}
			batch(10, 4)
			if n := count(); n != 3 {
				t.Fatalf("%d answers after the second batch, want 3 (the limit)", n)
			}
		})
	}
}
