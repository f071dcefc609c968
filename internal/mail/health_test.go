package mail_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/intake"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/mailtest"
	"github.com/sportello/sportello/internal/mail/outbox"
	"github.com/sportello/sportello/internal/store/storetest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A mailbox added while the jobs run is read within seconds (the
// Contract says 10); an unreachable one shows its error on the mailbox
// row, in the metrics and in the log, never its password.
func TestMailboxHotAddAndHealth(t *testing.T) {
	ctx := context.Background()
	db := storetest.OpenSQLite(t)
	d := storetest.NewDesk(t, db, nil)
	seedDesk(t, db, d)
	reg := prometheus.NewRegistry()
	var logs syncBuffer
	m, err := mail.NewWith(mail.Opts{Store: db, Key: []byte(testKey), Registry: reg,
		Log: slog.New(slog.NewJSONHandler(&logs, nil)), Tune: func(io *intake.Opts, wo *outbox.WorkerOpts) {
			fast(io, wo)
			io.Rescan = time.Second
			io.StaleAfter = time.Second
		}})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, j := range m.Jobs() {
		wg.Add(1)
		go func() { defer wg.Done(); _ = j.Run(rctx) }()
	}
	defer func() { cancel(); wg.Wait() }()

	// A mailbox whose server does not answer, with a password.
	const secret = "S3greto-Non-Loggare"
	broken, _, err := mail.SaveMailbox(ctx, db, m.Sealer, mail.MailboxInput{Address: "rotta@desk.example.it",
		IMAP: "imap://desk:" + secret + "@127.0.0.1:1/INBOX", SMTP: "smtp://u:" + secret + "@127.0.0.1:1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// A working one, added now: read within seconds.
	srv := mailtest.StartIMAP(t)
	uid := srv.Deliver(t, mailtest.Message(requester, mail.NationalDeskAddress, "BDNA - aggiunta a caldo", "testo"))
	added := time.Now()
	good, _, err := mail.SaveMailbox(ctx, db, m.Sealer, mail.MailboxInput{Address: mail.NationalDeskAddress, IMAP: srv.URL(), SMTP: "smtp://127.0.0.1:1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for {
		var n int
		_ = mailbox.View(ctx, db, func(tx mailbox.Tx) error {
			taken, err := tx.InboundTaken(ctx, good.ID, 1, []uint32{uid})
			n = len(taken)
			return err
		})
		if n == 1 {
			break
		}
		if time.Since(added) > 10*time.Second {
			t.Fatal("a mailbox added while serving was not read within 10 seconds")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("read %s after being added", time.Since(added).Round(10*time.Millisecond))

	deadline := time.Now().Add(10 * time.Second)
	for {
		var mb mailbox.Mailbox
		_ = mailbox.View(ctx, db, func(tx mailbox.Tx) error {
			var err error
			mb, err = tx.MailboxByID(ctx, broken.ID)
			return err
		})
		if mb.Health.LastError != "" && metricValue(reg, "sportello_mailbox_errors_total", mb.Address) > 0 && strings.Contains(logs.String(), "not read for too long") {
			if !strings.Contains(mb.Health.LastError, "127.0.0.1:1") {
				t.Errorf("last error %q", mb.Health.LastError)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no error recorded: %+v; log:\n%s", mb.Health, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if metricValue(reg, "sportello_mailbox_last_read_age_seconds", "rotta@desk.example.it") < 1 ||
		metricValue(reg, "sportello_mailbox_last_read_age_seconds", mail.NationalDeskAddress) > 5 {
		t.Error("the age gauge does not tell the broken mailbox from the working one")
	}
	if strings.Contains(logs.String(), secret) {
		t.Error("the password appears in the log")
	}
	var all []mailbox.Mailbox
	_ = mailbox.View(ctx, db, func(tx mailbox.Tx) error {
		var err error
		all, err = tx.Mailboxes(ctx, true)
		return err
	})
	for _, mb := range all {
		for _, s := range []string{mb.Health.LastError, mb.IMAP.String(), mb.SMTP.String(), mb.IMAP.Secret, mb.SMTP.Secret} {
			if strings.Contains(s, secret) {
				t.Errorf("password stored or shown in clear: %q", s)
			}
		}
	}
}

// metricValue returns the value of a counter or gauge series labelled with
// the mailbox address (-1 if absent).
func metricValue(reg *prometheus.Registry, name, address string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "mailbox" && l.GetValue() == address {
					if m.GetCounter() != nil {
						return m.GetCounter().GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}
