package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/route"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/store/storetest"
)

// The e-mail channel's part of the contract: both engines.
func TestMailContract(t *testing.T) {
	for name, open := range storetest.Engines {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			storetest.NewDesk(t, db, nil)
			t.Run("leases", func(t *testing.T) { testLeases(t, db) })
			t.Run("mailboxes", func(t *testing.T) { testMailboxes(t, db) })
			t.Run("outbox claims", func(t *testing.T) { testOutboxClaims(t, db) })
			t.Run("rules and offices", func(t *testing.T) { testRules(t, db) })
		})
	}
}

func claim(t *testing.T, db *store.DB, name, holder string, now time.Time, ttl time.Duration) bool {
	t.Helper()
	var ok bool
	err := mailbox.Update(context.Background(), db, func(tx mailbox.Tx) error {
		var err error
		ok, err = tx.ClaimLease(context.Background(), name, holder, now, now.Add(ttl))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func testLeases(t *testing.T, db *store.DB) {
	now := time.Now()
	if !claim(t, db, "l", "a", now, time.Minute) {
		t.Fatal("free lease not taken")
	}
	if claim(t, db, "l", "b", now.Add(30*time.Second), time.Minute) {
		t.Fatal("held lease taken by another")
	}
	if !claim(t, db, "l", "a", now.Add(30*time.Second), time.Minute) {
		t.Fatal("holder cannot renew")
	}
	if !claim(t, db, "l", "b", now.Add(2*time.Minute), time.Minute) {
		t.Fatal("expired lease not taken over")
	}
	err := mailbox.Update(context.Background(), db, func(tx mailbox.Tx) error { return tx.ReleaseLease(context.Background(), "l", "a") })
	if err != nil {
		t.Fatal(err)
	}
	if claim(t, db, "l", "a", now.Add(2*time.Minute), time.Minute) {
		t.Fatal("a non-holder released the lease")
	}
	// Many contenders at once: exactly one wins.
	var wins sync.Map
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if claim(t, db, "race", fmt.Sprint(i), now, time.Minute) {
				wins.Store(i, true)
			}
		}(i)
	}
	wg.Wait()
	n := 0
	wins.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Fatalf("%d winners", n)
	}
}

func testMailboxes(t *testing.T, db *store.DB) {
	ctx := context.Background()
	err := mailbox.Update(ctx, db, func(tx mailbox.Tx) error {
		org, err := desk.DefaultOrg(ctx, tx)
		if err != nil {
			return err
		}
		imapEP, _, _ := mailbox.ParseURL("imaps://desk%40ente.it@imap.example.it/INBOX", "imap")
		imapEP.Secret = "v1:sealed"
		smtpEP, _, _ := mailbox.ParseURL("smtp://smtp.example.it", "smtp")
		m := mailbox.Mailbox{OrgID: org.ID, Address: "desk@ente.it", IMAP: imapEP, SMTP: smtpEP, Folder: "INBOX", ClosedReply: mailbox.FollowUp,
			Active: true, Created: time.Now(), Updated: time.Now()}
		if err := tx.InsertMailbox(ctx, &m); err != nil {
			return err
		}
		got, err := tx.MailboxByAddress(ctx, "desk@ente.it")
		if err != nil {
			return err
		}
		if got.IMAP != imapEP || got.SMTP != smtpEP || got.Version != 1 {
			t.Errorf("read back %+v", got)
		}
		got.PEC = true
		if err := tx.UpdateMailbox(ctx, &got); err != nil || got.Version != 2 {
			t.Errorf("update: %v version %d", err, got.Version)
		}
		if err := tx.SetMailboxPosition(ctx, m.ID, 7, 100); err != nil {
			return err
		}
		if err := tx.SetMailboxPosition(ctx, m.ID, 7, 90); err != nil {
			return err
		}
		got, _ = tx.MailboxByID(ctx, m.ID)
		if got.UIDValidity != 7 || got.Watermark != 100 {
			t.Errorf("watermark went back: %d/%d", got.UIDValidity, got.Watermark)
		}
		if err := tx.SetMailboxPosition(ctx, m.ID, 8, 5); err != nil {
			return err
		}
		got, _ = tx.MailboxByID(ctx, m.ID)
		if got.UIDValidity != 8 || got.Watermark != 5 {
			t.Errorf("new UIDVALIDITY: %d/%d", got.UIDValidity, got.Watermark)
		}
		// Received mail: unique key, text cleaned for PostgreSQL.
		in := mailbox.Inbound{MailboxID: m.ID, UIDValidity: 8, UID: 1, MessageID: "a@b", SHA256: "x", Raw: []byte{0, 1, 2},
			Subject: "nul\x00 and bad \xff utf-8", Outcome: mailbox.OutQuarantined, Received: time.Now()}
		if err := tx.InsertInbound(ctx, &in); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Unique keys (each in its own transaction: PostgreSQL aborts it).
	err = mailbox.Update(ctx, db, func(tx mailbox.Tx) error {
		m, _ := tx.MailboxByAddress(ctx, "desk@ente.it")
		return tx.InsertMailbox(ctx, &mailbox.Mailbox{OrgID: m.OrgID, Address: "desk@ente.it", IMAP: m.IMAP, SMTP: m.SMTP})
	})
	if desk.ErrorCode(err) != desk.EConflict {
		t.Errorf("duplicate address: %v", err)
	}
	err = mailbox.Update(ctx, db, func(tx mailbox.Tx) error {
		m, _ := tx.MailboxByAddress(ctx, "desk@ente.it")
		return tx.InsertInbound(ctx, &mailbox.Inbound{MailboxID: m.ID, UIDValidity: 8, UID: 1, SHA256: "y", Outcome: mailbox.OutTicket, Received: time.Now()})
	})
	if desk.ErrorCode(err) != desk.EConflict {
		t.Errorf("duplicate UID: %v", err)
	}
}

func testOutboxClaims(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now()
	err := mailbox.Update(ctx, db, func(tx mailbox.Tx) error {
		m, err := tx.MailboxByAddress(ctx, "desk@ente.it")
		if err != nil {
			return err
		}
		for i := 0; i < 30; i++ {
			o := mailbox.Outbound{MailboxID: m.ID, Kind: "ack", MessageID: fmt.Sprintf("m%d@x", i), From: "desk@ente.it", To: []string{"u@x.it"},
				Raw: []byte("x"), NextAt: now, Created: now}
			if err := tx.InsertOutbound(ctx, &o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Concurrent claimers never get the same row.
	var mu sync.Mutex
	got := map[int64]string{}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				var batch []mailbox.Outbound
				err := mailbox.Update(ctx, db, func(tx mailbox.Tx) error {
					var err error
					batch, err = tx.ClaimOutbound(ctx, fmt.Sprint("w", w), now, time.Minute, 4)
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				if len(batch) == 0 {
					return
				}
				mu.Lock()
				for _, o := range batch {
					if prev, dup := got[o.ID]; dup {
						t.Errorf("row %d claimed by %s and w%d", o.ID, prev, w)
					}
					got[o.ID] = fmt.Sprint("w", w)
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	if len(got) != 30 {
		t.Fatalf("%d rows claimed, want 30", len(got))
	}
	// Finishing needs the claim.
	err = mailbox.Update(ctx, db, func(tx mailbox.Tx) error {
		for id, holder := range got {
			ok, err := tx.FinishOutbound(ctx, id, "someone-else", mailbox.OutSent, now, "", now)
			if err != nil || ok {
				t.Errorf("finished by a non-holder: %v %v", ok, err)
			}
			if ok, err := tx.FinishOutbound(ctx, id, holder, mailbox.OutSent, now, "", now); err != nil || !ok {
				t.Errorf("finish: %v %v", ok, err)
			}
		}
		n, err := tx.CountAuto(ctx, "u@x.it", now.Add(-time.Hour))
		if n != 0 {
			t.Errorf("CountAuto %d for non-automatic mail", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testRules(t *testing.T, db *store.DB) {
	ctx := context.Background()
	err := mailbox.Update(ctx, db, func(tx mailbox.Tx) error {
		org, err := desk.DefaultOrg(ctx, tx)
		if err != nil {
			return err
		}
		rules := []route.Rule{{Name: "b", When: []route.Condition{{Field: route.FieldSubject, Any: []string{"BDNA"}}}, Then: route.Action{Queue: "triage"}},
			{Name: "a", Then: route.Action{Reply: "ack_triage"}}}
		if err := tx.ReplaceRules(ctx, org.ID, rules, time.Now()); err != nil {
			return err
		}
		back, err := tx.Rules(ctx, org.ID)
		if err != nil {
			return err
		}
		if len(back) != 2 || back[0].Name != "b" || back[0].When[0].Any[0] != "BDNA" || back[1].Then.Reply != "ack_triage" || back[0].ID == 0 {
			t.Errorf("rules %+v", back)
		}
		o := route.Office{Code: "pref_fe", Kind: "prefettura", Province: "FE", Name: "Prefettura di Ferrara", PEC: "p@pec.example.it"}
		if err := tx.PutOffice(ctx, &o, time.Now()); err != nil {
			return err
		}
		o.PEC = "q@pec.example.it"
		if err := tx.PutOffice(ctx, &o, time.Now()); err != nil {
			return err
		}
		all, err := tx.Offices(ctx, "prefettura")
		if len(all) != 1 || all[0].PEC != "q@pec.example.it" {
			t.Errorf("offices %+v", all)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
