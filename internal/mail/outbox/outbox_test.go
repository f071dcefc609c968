package outbox_test

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/mailtest"
	"github.com/sportello/sportello/internal/mail/outbox"
	"github.com/sportello/sportello/internal/mail/thread"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/store/storetest"
)

func TestEncode(t *testing.T) {
	raw, err := outbox.Encode(outbox.Mail{FromName: "Ministero dell'Interno", From: "assistenza@desk.example.it",
		To: []mail.Address{{Name: "Niccolò Rossi", Address: "n.rossi@comune.example.it"}}, Subject: "[#2026-000001] Città\r\nBcc: evil@example.com",
		Text: "Perché sì.\n", MessageID: "t.2026-000001.x.y@desk.example.it", InReplyTo: "orig@client", References: []string{"a@b", "orig@client"},
		Auto: true, Date: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
		Attachments: []outbox.File{{Name: "nota.txt", ContentType: "text/plain", Data: []byte("allegato")}}})
	if err != nil {
		t.Fatal(err)
	}
	env, err := enmime.ReadEnvelope(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]string{
		"Message-Id":               "<t.2026-000001.x.y@desk.example.it>",
		"In-Reply-To":              "<orig@client>",
		"References":               "<a@b> <orig@client>",
		"Auto-Submitted":           "auto-replied",
		"X-Auto-Response-Suppress": "All",
		"Subject":                  "[#2026-000001] Città Bcc: evil@example.com",
		"Bcc":                      "",
	}
	for h, want := range checks {
		if got := env.GetHeader(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if env.Text != "Perché sì.\n" && env.Text != "Perché sì." {
		t.Errorf("text %q", env.Text)
	}
	if len(env.Attachments) != 1 || string(env.Attachments[0].Content) != "allegato" {
		t.Errorf("attachments %+v", env.Attachments)
	}
	if strings.Contains(string(raw), "\nBcc:") {
		t.Error("header injection through the subject")
	}
}

func TestTemplates(t *testing.T) {
	ts, err := outbox.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range outbox.Kinds {
		subj, body, err := ts.Render(k, outbox.Data{Requester: "Mario", Number: "2026-000009", Subject: "Oggetto", DeskName: "Desk",
			DeskAddress: "d@x.it", RetiredAddress: "old@x.it", Body: "corpo"})
		if err != nil {
			t.Errorf("%s: %v", k, err)
			continue
		}
		if subj == "" || strings.Contains(body, "<no value>") {
			t.Errorf("%s: subject %q body:\n%s", k, subj, body)
		}
		if k != outbox.KindReply && (!strings.Contains(body, "Gentile") || !strings.Contains(body, "Dear")) {
			t.Errorf("%s: not in Italian and English:\n%s", k, body)
		}
	}
}

// outboxEnv is a store with one mailbox and an outbox row to send.
type outboxEnv struct {
	ctx context.Context
	db  *store.DB
	ob  *outbox.Outbox
	mb  mailbox.Mailbox
	s   *mailbox.Sealer
}

func newOutboxEnv(t *testing.T, open func(testing.TB) *store.DB, smtpURL string) *outboxEnv {
	t.Helper()
	e := &outboxEnv{ctx: context.Background(), db: open(t)}
	storetest.NewDesk(t, e.db, nil)
	key := []byte("0123456789abcdef0123456789abcdef")
	signer, _ := thread.NewSigner(key)
	var err error
	if e.ob, err = outbox.New(outbox.Opts{Signer: signer}); err != nil {
		t.Fatal(err)
	}
	e.s, _ = mailbox.NewSealer(key)
	imapEP, _, _ := mailbox.ParseURL("imap://u@127.0.0.1:1/INBOX", "imap")
	smtpEP, pass, err := mailbox.ParseURL(smtpURL, "smtp")
	if err != nil {
		t.Fatal(err)
	}
	err = mailbox.Update(e.ctx, e.db, func(tx mailbox.Tx) error {
		org, err := desk.DefaultOrg(e.ctx, tx)
		if err != nil {
			return err
		}
		e.mb = mailbox.Mailbox{OrgID: org.ID, Address: "desk@ente.example.it", IMAP: imapEP, SMTP: smtpEP, Folder: "INBOX",
			ClosedReply: mailbox.FollowUp, Active: true, Created: time.Now(), Updated: time.Now()}
		if err := e.mb.SetPasswords(e.s, "", pass); err != nil {
			return err
		}
		return tx.InsertMailbox(e.ctx, &e.mb)
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *outboxEnv) enqueue(t *testing.T, n int) {
	t.Helper()
	err := mailbox.Update(e.ctx, e.db, func(tx mailbox.Tx) error {
		for i := 0; i < n; i++ {
			if _, err := e.ob.Enqueue(e.ctx, tx, outbox.Request{Mailbox: e.mb, Kind: outbox.KindInfo, To: mail.Address{Address: "u@example.it"},
				Data: outbox.Data{Subject: "prova"}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *outboxEnv) states(t *testing.T) map[mailbox.OutState]int {
	t.Helper()
	out := map[mailbox.OutState]int{}
	err := mailbox.View(e.ctx, e.db, func(tx mailbox.Tx) error {
		all, err := tx.Outbounds(e.ctx, 0, nil, 0, 1000)
		for _, m := range all {
			out[m.State]++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWorkerRetriesAndGivesUp(t *testing.T) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			srv := mailtest.StartSMTP(t)
			e := newOutboxEnv(t, storetest.Engines[name], srv.URL())
			var calls atomic.Int32
			srv.Fail = func() error {
				if calls.Add(1) <= 2 {
					return mailtest.TempFail
				}
				return nil
			}
			e.enqueue(t, 1)
			now := time.Now()
			clock := func() time.Time { return now }
			w := outbox.NewWorker(outbox.WorkerOpts{Store: e.db, Outbox: e.ob, Sealer: e.s, Now: clock, Backoff: time.Minute})
			// Fails twice (4xx): retried after 1 minute, then after 2.
			start := now
			for i, r := range []struct {
				at   time.Duration
				want int
			}{{0, 1}, {30 * time.Second, 0}, {61 * time.Second, 1}, {120 * time.Second, 0}, {182 * time.Second, 1}} {
				now = start.Add(r.at)
				n, err := w.RunOnce(e.ctx)
				if err != nil || n != r.want {
					t.Fatalf("round %d: claimed %d (%v), want %d", i, n, err, r.want)
				}
			}
			if st := e.states(t); st[mailbox.OutSent] != 1 || len(srv.Sent()) != 1 {
				t.Fatalf("states %v, %d delivered", st, len(srv.Sent()))
			}
			// A permanent refusal fails at once.
			srv.Fail = func() error { return mailtest.PermFail }
			e.enqueue(t, 1)
			now = time.Now()
			if _, err := w.RunOnce(e.ctx); err != nil {
				t.Fatal(err)
			}
			if st := e.states(t); st[mailbox.OutFailed] != 1 {
				t.Fatalf("states %v after a 5xx", st)
			}
		})
	}
}

// A sender that crashes after sending and before recording leaves the row
// claimed; after the claim expires it is sent again with the same bytes
// (the same Message-ID), once.
func TestResendAfterCrashKeepsMessageID(t *testing.T) {
	srv := mailtest.StartSMTP(t)
	e := newOutboxEnv(t, storetest.OpenSQLite, srv.URL())
	e.enqueue(t, 1)
	now := time.Now()
	err := mailbox.Update(e.ctx, e.db, func(tx mailbox.Tx) error {
		claimed, err := tx.ClaimOutbound(e.ctx, "crashed-process", now, time.Minute, 10)
		if len(claimed) != 1 {
			t.Fatalf("claimed %d", len(claimed))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	w := outbox.NewWorker(outbox.WorkerOpts{Store: e.db, Outbox: e.ob, Sealer: e.s, Now: func() time.Time { return now }})
	if n, _ := w.RunOnce(e.ctx); n != 0 {
		t.Fatal("a claimed row was taken before its claim expired")
	}
	now = now.Add(2 * time.Minute)
	if n, _ := w.RunOnce(e.ctx); n != 1 {
		t.Fatal("the expired claim was not taken over")
	}
	if n, _ := w.RunOnce(e.ctx); n != 0 {
		t.Fatal("sent twice")
	}
	var id string
	_ = mailbox.View(e.ctx, e.db, func(tx mailbox.Tx) error {
		all, err := tx.Outbounds(e.ctx, 0, nil, 0, 10)
		id = all[0].MessageID
		return err
	})
	got := srv.Sent()
	if len(got) != 1 || !strings.Contains(string(got[0].Data), "<"+id+">") {
		t.Errorf("delivered %d, Message-ID %s", len(got), id)
	}
}

func TestSMTPTLS(t *testing.T) {
	cfg, roots := mailtest.TLS(t)
	for _, implicit := range []bool{false, true} {
		srv := mailtest.StartSMTPTLS(t, cfg, implicit)
		scheme := "smtp"
		if implicit {
			scheme = "smtps"
		}
		ep, pass, err := mailbox.ParseURL(scheme+"://desk%40ente.it:segreto@"+srv.Addr, "smtp")
		if err != nil {
			t.Fatal(err)
		}
		s := &outbox.SMTP{RootCAs: roots}
		for i := 0; i < 2; i++ { // the second time STARTTLS is known
			if err := s.Send(context.Background(), ep, pass, "desk@ente.it", []string{"u@example.it"}, []byte("Subject: x\r\n\r\nciao\r\n")); err != nil {
				t.Fatalf("%s: %v", scheme, err)
			}
		}
		got := srv.Sent()
		if len(got) != 2 || got[0].Auth != "desk@ente.it" {
			t.Errorf("%s: %+v", scheme, got)
		}
		// An untrusted certificate is refused.
		err = (&outbox.SMTP{}).Send(context.Background(), ep, pass, "desk@ente.it", []string{"u@example.it"}, []byte("x"))
		if err == nil {
			t.Errorf("%s: untrusted certificate accepted", scheme)
		}
	}
	// No TLS offered: the password is not sent in clear to a remote host.
	plain := mailtest.StartSMTP(t)
	ep, pass, _ := mailbox.ParseURL("smtp://u:segreto@"+plain.Addr, "smtp")
	ep.Host = "localhost.invalid"
	err := (&outbox.SMTP{}).Send(context.Background(), ep, pass, "a@b.it", []string{"c@d.it"}, []byte("x"))
	var perm *outbox.PermanentError
	if err == nil || (!errors.As(err, &perm) && !strings.Contains(err.Error(), "connect")) {
		t.Errorf("clear-text password: %v", err)
	}
}
