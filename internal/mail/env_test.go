package mail_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/intake"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/mailtest"
	"github.com/sportello/sportello/internal/mail/outbox"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/store/storetest"
)

const (
	deskOrg   = "ministero-interno-dippp"
	requester = "mario.rossi@comune.example.it"
	testKey   = "0123456789abcdef0123456789abcdef-test-key"
)

// env is a desk with the national desk's organisation, one mailbox on an
// in-process IMAP server and answers going to an in-process SMTP server,
// with the mail jobs running.
type env struct {
	t    *testing.T
	ctx  context.Context
	db   *store.DB
	desk *desk.Desk
	mail *mail.Mail
	imap *mailtest.IMAP
	smtp *mailtest.SMTP
	mb   mailbox.Mailbox
	stop func()
	// dove, when set, is the Dovecot folder the mailbox reads instead of
	// the in-process server (see TestDovecotScenarios).
	dove *dovecotFolder
}

func fast(io *intake.Opts, wo *outbox.WorkerOpts) {
	io.Rescan = 100 * time.Millisecond
	io.Poll = 100 * time.Millisecond
	io.IdleMax = 500 * time.Millisecond
	io.LeaseTTL = 3 * time.Second
	io.Retry = 100 * time.Millisecond
	wo.Poll = 100 * time.Millisecond
	wo.Backoff = 100 * time.Millisecond
}

// seedDesk creates the national desk's organisation with its services,
// queues, addresses, rules and office directory.
func seedDesk(t testing.TB, db *store.DB, d *desk.Desk) {
	t.Helper()
	ctx := context.Background()
	if _, err := d.CreateOrg(ctx, desk.SystemActor, desk.NewOrg{Code: deskOrg, Name: "Ministero dell'Interno - Service Desk BDNA", Province: "RM"}); err != nil {
		t.Fatal(err)
	}
	err := db.Update(ctx, func(tx desk.Tx) error {
		org, err := tx.OrgByCode(ctx, deskOrg)
		if err != nil {
			return err
		}
		queues := map[string]int64{}
		for _, q := range []string{"bdna", "informazioni", "certificati", "smistamento"} {
			x := desk.Queue{OrgID: org.ID, Code: q, Name: strings.ToUpper(q)}
			if err := tx.CreateQueue(ctx, &x); err != nil {
				return err
			}
			queues[q] = x.ID
		}
		for code, q := range map[string]string{"bdna": "bdna", "informazioni": "informazioni", "rinnovo-certificato-bdna": "certificati"} {
			if err := tx.CreateService(ctx, &desk.Service{OrgID: org.ID, Code: code, Name: code, QueueID: queues[q], Active: true}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := mail.LoadDemo(ctx, db, deskOrg, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func newEnv(t *testing.T, open func(testing.TB) *store.DB) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), db: open(t)}
	e.desk = storetest.NewDesk(t, e.db, nil)
	seedDesk(t, e.db, e.desk)
	e.imap = mailtest.StartIMAP(t)
	e.smtp = mailtest.StartSMTP(t)
	var err error
	e.mail, err = mail.NewWith(mail.Opts{Store: e.db, Key: []byte(testKey), Tune: fast})
	if err != nil {
		t.Fatal(err)
	}
	e.mb, _, err = mail.SaveMailbox(e.ctx, e.db, e.mail.Sealer, mail.MailboxInput{Address: mail.NationalDeskAddress,
		IMAP: e.imap.URL(), SMTP: e.smtp.URL()}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.start()
	return e
}

func (e *env) start() {
	ctx, cancel := context.WithCancel(e.ctx)
	var wg sync.WaitGroup
	for _, j := range e.mail.Jobs() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := j.Run(ctx); err != nil {
				e.t.Errorf("job %s: %v", j.Name(), err)
			}
		}()
	}
	e.stop = func() { cancel(); wg.Wait() }
	e.t.Cleanup(e.stop)
}

// deliver puts a message in the mailbox and waits until it is recorded.
func (e *env) deliver(raw []byte) mailbox.Inbound {
	e.t.Helper()
	if e.dove != nil {
		return e.waitInbound(e.dove.deliver(e.t, raw))
	}
	uid := e.imap.Deliver(e.t, raw)
	return e.waitInbound(uid)
}

// seen returns the UIDs of the mailbox's messages with and without \Seen.
func (e *env) seen() (seen, unseen []uint32) {
	e.t.Helper()
	if e.dove != nil {
		return e.dove.seen(e.t)
	}
	return e.imap.Seen(e.t)
}

func (e *env) waitInbound(uid uint32) mailbox.Inbound {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var found *mailbox.Inbound
		err := mailbox.View(e.ctx, e.db, func(tx mailbox.Tx) error {
			log, err := tx.MailLog(e.ctx, mailbox.LogQuery{MailboxID: e.mb.ID, Limit: 1000})
			for i := range log {
				if log[i].UID == uid {
					found = &log[i]
				}
			}
			return err
		})
		if err != nil {
			e.t.Fatal(err)
		}
		if found != nil {
			return *found
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("message %d was not taken from the mailbox", uid)
	return mailbox.Inbound{}
}

func (e *env) ticket(number string) desk.Ticket {
	e.t.Helper()
	t, err := e.desk.Ticket(e.ctx, desk.SystemActor, number)
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

func (e *env) timeline(number string) desk.Timeline {
	e.t.Helper()
	tl, err := e.desk.Timeline(e.ctx, desk.SystemActor, number)
	if err != nil {
		e.t.Fatal(err)
	}
	return tl
}

func (e *env) countTickets() int {
	e.t.Helper()
	p, err := e.desk.ListTickets(e.ctx, desk.SystemActor, desk.ListQuery{Limit: 200})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(p.Items)
}

// sentMessage parses a captured message.
func sentMessage(t testing.TB, s mailtest.Sent) *enmime.Envelope {
	t.Helper()
	env, err := enmime.ReadEnvelope(strings.NewReader(string(s.Data)))
	if err != nil {
		t.Fatalf("sent message does not parse: %v", err)
	}
	return env
}

// waitSent waits for the n-th sent message (1-based) and returns it parsed.
func (e *env) waitSent(n int) (*enmime.Envelope, mailtest.Sent) {
	e.t.Helper()
	all := e.smtp.Wait(e.t, n, 10*time.Second)
	return sentMessage(e.t, all[n-1]), all[n-1]
}

func agentActor(t testing.TB, d *desk.Desk) desk.Actor {
	t.Helper()
	u, err := d.EnsureUser(context.Background(), desk.NewUser{Email: "agente@desk.example.it", Name: "Anna Agente", Role: desk.RoleAgent, OrgCode: deskOrg})
	if err != nil {
		t.Fatal(err)
	}
	return desk.ActorFor(u)
}

// onEngines runs a test with a fresh env on SQLite and on PostgreSQL (when
// configured; see storetest).
func onEngines(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			fn(t, newEnv(t, storetest.Engines[name]))
		})
	}
}
