package mail_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/intake"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/mailtest"
	"github.com/sportello/sportello/internal/mail/outbox"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/store/storetest"
)

// TestReplicas runs two complete mail channels ("replicas", each with its
// own connection pool and lease holder) on one PostgreSQL database, reading
// one mailbox and sending through one SMTP server: every message is taken
// once, every answer sent once, and when the replica reading the mailbox
// stops, the other takes over.
func TestReplicas(t *testing.T) {
	url := storetest.PostgresURL(t)
	ctx := context.Background()
	open := func() *store.DB {
		db, err := store.Open(ctx, store.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	db1, db2 := open(), open()
	d := storetest.NewDesk(t, db1, nil)
	seedDesk(t, db1, d)
	imapSrv := mailtest.StartIMAP(t)
	smtpSrv := mailtest.StartSMTP(t)

	type replica struct {
		m      *mail.Mail
		holder string
		stop   func()
	}
	start := func(db *store.DB, name string) *replica {
		r := &replica{holder: name}
		var err error
		r.m, err = mail.NewWith(mail.Opts{Store: db, Key: []byte(testKey), Tune: func(io *intake.Opts, wo *outbox.WorkerOpts) {
			fast(io, wo)
			io.Holder = name
			io.LeaseTTL = time.Second
			wo.Batch = 3 // small claims, so that both workers take part
		}})
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, j := range r.m.Jobs() {
			wg.Add(1)
			go func() { defer wg.Done(); _ = j.Run(rctx) }()
		}
		r.stop = func() { cancel(); wg.Wait() }
		t.Cleanup(r.stop)
		return r
	}
	a := start(db1, "replica-a")
	b := start(db2, "replica-b")
	mb, _, err := mail.SaveMailbox(ctx, db1, a.m.Sealer, mail.MailboxInput{Address: mail.NationalDeskAddress, IMAP: imapSrv.URL(),
		SMTP: smtpSrv.URL()}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	for i := 0; i < n; i++ {
		imapSrv.Deliver(t, mailtest.Message(fmt.Sprintf("u%d@comune.example.it", i), mail.NationalDeskAddress, fmt.Sprintf("BDNA %d", i), "testo"))
	}
	records := func() []mailbox.Inbound {
		var log []mailbox.Inbound
		err := mailbox.View(ctx, db1, func(tx mailbox.Tx) error {
			var err error
			log, err = tx.MailLog(ctx, mailbox.LogQuery{MailboxID: mb.ID, Limit: 1000})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return log
	}
	waitRecords := func(want int) {
		deadline := time.Now().Add(20 * time.Second)
		for len(records()) < want {
			if time.Now().After(deadline) {
				t.Fatalf("%d messages taken, want %d", len(records()), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitRecords(n)
	smtpSrv.Wait(t, n, 20*time.Second)

	holder := func() string {
		var h string
		_ = db1.SQL().QueryRowContext(ctx, "SELECT holder FROM leases WHERE name = $1", fmt.Sprintf("mailbox:%d", mb.ID)).Scan(&h)
		return h
	}
	first := holder()
	if first != "replica-a" && first != "replica-b" {
		t.Fatalf("lease held by %q", first)
	}
	// The reader stops; the other replica takes the mailbox over.
	reader, other := a, b
	if first == "replica-b" {
		reader, other = b, a
	}
	reader.stop()
	for i := n; i < n+10; i++ {
		imapSrv.Deliver(t, mailtest.Message(fmt.Sprintf("u%d@comune.example.it", i), mail.NationalDeskAddress, fmt.Sprintf("BDNA %d", i), "testo"))
	}
	waitRecords(n + 10)
	if h := holder(); h != other.holder {
		t.Errorf("lease held by %q after %s stopped, want %s", h, reader.holder, other.holder)
	}
	sent := smtpSrv.Wait(t, n+10, 20*time.Second)
	time.Sleep(300 * time.Millisecond)
	sent = smtpSrv.Sent()

	// Exactly once, both ways.
	seen := map[uint32]bool{}
	for _, r := range records() {
		if seen[r.UID] {
			t.Errorf("uid %d taken twice", r.UID)
		}
		seen[r.UID] = true
	}
	ids := map[string]bool{}
	for _, s := range sent {
		env := sentMessage(t, s)
		id := env.GetHeader("Message-Id")
		if ids[id] {
			t.Errorf("message %s sent twice", id)
		}
		ids[id] = true
	}
	if len(sent) != n+10 || len(seen) != n+10 {
		t.Errorf("%d answers sent, %d messages taken; want %d each", len(sent), len(seen), n+10)
	}
	var sentRows int
	err = db1.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM mail_out WHERE state = 'sent' AND attempts = 1").Scan(&sentRows)
	if err != nil || sentRows != n+10 {
		t.Errorf("%d rows sent at the first attempt (%v), want %d", sentRows, err, n+10)
	}
}
