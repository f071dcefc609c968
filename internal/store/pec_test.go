package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/store/storetest"
)

// The PEC channel's part of the contract (migration 0070), on both
// engines: certification data, per-recipient delivery state, alerts (once
// per message, kind and recipient), the overdue query and protocol numbers.
func TestPECContract(t *testing.T) {
	for name, open := range storetest.Engines {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			fx := storetest.NewFixture(t, db)
			ctx := context.Background()
			tk := fx.Create(t, fx.Agent, desk.NewTicket{Subject: "Istanza", Description: "x", Channel: desk.ChannelPEC})
			other := fx.Create(t, fx.Outsider, desk.NewTicket{Subject: "Altro", Description: "y"})
			now := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
			zone := time.FixedZone("", 7200)
			err := mailbox.Update(ctx, db, func(tx mailbox.Tx) error {
				ptx := mailbox.PECOf(tx)
				org, err := desk.DefaultOrg(ctx, tx)
				if err != nil {
					return err
				}
				ep, _, _ := mailbox.ParseURL("imaps://u@imap.example.it/INBOX", "imap")
				sp, _, _ := mailbox.ParseURL("smtps://u@smtp.example.it", "smtp")
				pecBox := mailbox.Mailbox{OrgID: org.ID, Address: "desk@pec.ente.it", IMAP: ep, SMTP: sp, PEC: true, Active: true,
					ClosedReply: mailbox.FollowUp, Created: now, Updated: now}
				plain := pecBox
				plain.Address, plain.PEC = "desk@ente.it", false
				for _, m := range []*mailbox.Mailbox{&pecBox, &plain} {
					if err := tx.InsertMailbox(ctx, m); err != nil {
						return err
					}
				}
				in := mailbox.Inbound{MailboxID: pecBox.ID, UIDValidity: 1, UID: 1, MessageID: "env@pec", SHA256: "abc", Raw: []byte("raw"),
					Outcome: mailbox.OutTicket, TicketID: tk.ID, Received: now}
				if err := tx.InsertInbound(ctx, &in); err != nil {
					return err
				}
				c := mailbox.PECCert{InID: in.ID, TicketID: tk.ID, Kind: "envelope", Tipo: "posta-certificata", Sender: "mario@pec.it",
					Daticert: &mailbox.Daticert{Tipo: "posta-certificata", Mittente: "mario@pec.it", Data: time.Date(2026, 6, 15, 11, 59, 58, 0, zone), Zona: "+0200",
						Destinatari: []mailbox.PECRecipient{{Address: "desk@pec.ente.it", Kind: "certificato"}, {Address: "x@ente.it", Kind: "esterno"}},
						ID:          "opec.1", Gestore: "Gestore", Oggetto: "Oggetto \x00con NUL"},
					Signed: true, SigStatus: "verified", SigSigner: "Gestore CA", SHA256: "abc", Received: now}
				if err := ptx.InsertPECCert(ctx, &c); err != nil {
					return err
				}
				if err := tx.Savepoint(ctx, "dup"); err != nil {
					return err
				}
				if err := ptx.InsertPECCert(ctx, &c); desk.ErrorCode(err) != desk.EConflict {
					t.Errorf("second cert for the same message: %v", err)
				}
				if err := tx.RollbackTo(ctx, "dup"); err != nil {
					return err
				}
				got, err := ptx.PECCert(ctx, in.ID)
				if err != nil {
					return err
				}
				d := got.Daticert
				if got.Kind != "envelope" || got.SigStatus != "verified" || d == nil || len(d.Destinatari) != 2 || d.Destinatari[1].Kind != "esterno" ||
					!d.Data.Equal(c.Daticert.Data) || d.Data.Format("-0700") != "+0200" || d.Oggetto != "Oggetto con NUL" {
					t.Errorf("cert read back %+v %+v", got, d)
				}
				if _, err := ptx.PECCert(ctx, 999999); !desk.IsNotFound(err) {
					t.Errorf("missing cert: %v", err)
				}

				// Two sent messages: one through the PEC mailbox, one not.
				mk := func(mb mailbox.Mailbox, id string, sent time.Time) mailbox.Outbound {
					o := mailbox.Outbound{MailboxID: mb.ID, TicketID: tk.ID, Kind: "reply", MessageID: id, From: mb.Address, To: []string{"mario@pec.it"},
						Raw: []byte("x"), State: mailbox.OutPending, NextAt: sent, Created: sent}
					if err := tx.InsertOutbound(ctx, &o); err != nil {
						t.Fatal(err)
					}
					claimed, err := tx.ClaimOutbound(ctx, "sender", sent, time.Minute, 10)
					if err != nil || len(claimed) != 1 {
						t.Fatalf("claim: %d %v", len(claimed), err)
					}
					if ok, err := tx.FinishOutbound(ctx, o.ID, "sender", mailbox.OutSent, sent, "", sent); err != nil || !ok {
						t.Fatalf("finish: %v %v", ok, err)
					}
					return o
				}
				o1 := mk(pecBox, "r1@pec", now.Add(-25*time.Hour))
				o2 := mk(plain, "r2@plain", now.Add(-25*time.Hour))
				for _, o := range []mailbox.Outbound{o1, o2} {
					for _, r := range []string{"mario@pec.it", "x@ente.it"} {
						if err := ptx.PutDelivery(ctx, mailbox.PECDelivery{OutID: o.ID, Recipient: r, State: mailbox.DelSent, Updated: now}); err != nil {
							return err
						}
					}
				}
				if err := ptx.PutDelivery(ctx, mailbox.PECDelivery{OutID: o1.ID, Recipient: "mario@pec.it", State: mailbox.DelDelivered,
					Detail: "avvenuta-consegna", InID: in.ID, Updated: now}); err != nil {
					return err
				}
				dels, err := ptx.Deliveries(ctx, o1.ID)
				if err != nil || len(dels) != 2 || dels[0].Recipient != "mario@pec.it" || dels[0].State != mailbox.DelDelivered || dels[0].InID != in.ID ||
					dels[1].State != mailbox.DelSent {
					t.Errorf("deliveries %+v (%v)", dels, err)
				}
				receipt := mailbox.Inbound{MailboxID: pecBox.ID, UIDValidity: 1, UID: 2, MessageID: "rcpt@pec", SHA256: "def", Raw: []byte("r"),
					Outcome: mailbox.OutReceipt, Received: now}
				if err := tx.InsertInbound(ctx, &receipt); err != nil {
					return err
				}
				if err := ptx.InsertPECCert(ctx, &mailbox.PECCert{InID: receipt.ID, OutID: o1.ID, Kind: "receipt", Tipo: "avvenuta-consegna",
					SHA256: "def", Received: now}); err != nil {
					return err
				}
				certs, err := ptx.PECCertsOfTicket(ctx, tk.ID)
				if err != nil || len(certs) != 2 || certs[1].OutID != o1.ID || certs[1].Daticert != nil {
					t.Errorf("certs of the ticket %+v (%v)", certs, err)
				}

				// Overdue: only the PEC message, only inside the window,
				// not once alerted.
				due, err := ptx.OverduePEC(ctx, now.Add(-30*24*time.Hour), now.Add(-24*time.Hour), 10)
				if err != nil || len(due) != 1 || due[0].ID != o1.ID {
					t.Errorf("overdue %+v (%v)", due, err)
				}
				if due, _ := ptx.OverduePEC(ctx, now.Add(-30*24*time.Hour), now.Add(-26*time.Hour), 10); len(due) != 0 {
					t.Errorf("overdue before 24 hours: %+v", due)
				}
				a := mailbox.PECAlert{TicketID: tk.ID, OutID: o1.ID, AssigneeID: fx.Agent.UserID, Kind: mailbox.AlertOverdue, Detail: "x", Created: now}
				if ok, err := ptx.InsertPECAlert(ctx, &a); err != nil || !ok || a.ID == 0 {
					t.Errorf("alert: %v %v", ok, err)
				}
				if ok, err := ptx.InsertPECAlert(ctx, &mailbox.PECAlert{TicketID: tk.ID, OutID: o1.ID, Kind: mailbox.AlertOverdue, Created: now}); err != nil || ok {
					t.Errorf("the same alert twice: %v %v", ok, err)
				}
				if ok, err := ptx.InsertPECAlert(ctx, &mailbox.PECAlert{TicketID: tk.ID, OutID: o1.ID, Kind: "errore-consegna", Recipient: "x@ente.it", Created: now}); err != nil || !ok {
					t.Errorf("another kind: %v %v", ok, err)
				}
				if due, _ := ptx.OverduePEC(ctx, now.Add(-30*24*time.Hour), now.Add(-24*time.Hour), 10); len(due) != 0 {
					t.Errorf("overdue after the alert: %+v", due)
				}
				list := func(ticket int64, orgs []int64, assignee int64) int {
					as, err := ptx.PECAlerts(ctx, ticket, orgs, assignee, 10)
					if err != nil {
						t.Fatal(err)
					}
					for _, x := range as {
						if x.TicketNumber != tk.Number {
							t.Errorf("alert of %s", x.TicketNumber)
						}
					}
					return len(as)
				}
				if n := list(tk.ID, nil, 0); n != 2 {
					t.Errorf("alerts of the ticket: %d", n)
				}
				if n := list(0, []int64{org.ID}, fx.Agent.UserID); n != 2 { // mine and unassigned
					t.Errorf("alerts of the agent: %d", n)
				}
				if n := list(0, []int64{org.ID}, fx.Admin.UserID); n != 1 { // unassigned only
					t.Errorf("alerts of another agent: %d", n)
				}
				if n := list(0, []int64{other.OrgID}, 0); n != 0 {
					t.Errorf("alerts of another organisation: %d", n)
				}
				if n := list(0, []int64{}, 0); n != 0 {
					t.Errorf("no organisation: %d", n)
				}
				// Delivered after all: the overdue alert leaves the
				// workspace, stays on the ticket.
				if err := ptx.PutDelivery(ctx, mailbox.PECDelivery{OutID: o1.ID, Recipient: "x@ente.it", State: mailbox.DelDelivered, Updated: now}); err != nil {
					return err
				}
				if n := list(0, []int64{org.ID}, fx.Agent.UserID); n != 1 {
					t.Errorf("alerts of the agent after delivery: %d", n)
				}
				if n := list(tk.ID, nil, 0); n != 2 {
					t.Errorf("alerts of the ticket after delivery: %d", n)
				}

				// A PEC message the outbox gave up sending.
				o3 := mailbox.Outbound{MailboxID: pecBox.ID, TicketID: tk.ID, Kind: "reply", MessageID: "r3@pec", From: pecBox.Address,
					To: []string{"mario@pec.it"}, Raw: []byte("x"), State: mailbox.OutPending, NextAt: now, Created: now}
				if err := tx.InsertOutbound(ctx, &o3); err != nil {
					return err
				}
				if _, err := tx.ClaimOutbound(ctx, "sender", now, time.Minute, 10); err != nil {
					return err
				}
				if ok, err := tx.FinishOutbound(ctx, o3.ID, "sender", mailbox.OutFailed, now, "554 refused", time.Time{}); err != nil || !ok {
					t.Fatalf("finish failed: %v %v", ok, err)
				}
				if un, err := ptx.UnsentPEC(ctx, now.Add(-time.Hour), 10); err != nil || len(un) != 1 || un[0].ID != o3.ID || un[0].LastError != "554 refused" {
					t.Errorf("unsent %+v (%v)", un, err)
				}
				if ok, err := ptx.InsertPECAlert(ctx, &mailbox.PECAlert{TicketID: tk.ID, OutID: o3.ID, Kind: mailbox.AlertNotSent, Created: now}); err != nil || !ok {
					t.Errorf("not-sent alert: %v %v", ok, err)
				}
				if un, _ := ptx.UnsentPEC(ctx, now.Add(-time.Hour), 10); len(un) != 0 {
					t.Errorf("unsent after the alert: %+v", un)
				}

				// Protocol numbers.
				if p, err := tx.TicketProtocol(ctx, tk.ID); err != nil || p != "" {
					t.Errorf("no protocol: %q %v", p, err)
				}
				for _, p := range []string{"AOO/1", "AOO/2"} {
					if err := tx.SetTicketProtocol(ctx, tk.ID, p, now); err != nil {
						return err
					}
				}
				if p, _ := tx.TicketProtocol(ctx, tk.ID); p != "AOO/2" {
					t.Errorf("protocol %q", p)
				}
				if err := tx.SetTicketProtocol(ctx, tk.ID, "", now); err != nil {
					return err
				}
				if p, _ := tx.TicketProtocol(ctx, tk.ID); p != "" {
					t.Errorf("cleared protocol %q", p)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
