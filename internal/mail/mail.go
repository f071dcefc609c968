// Package mail wires the e-mail channel together: the intake job that
// reads mailboxes (package intake), the outbox and its sender (package
// outbox), routing rules (package route), reply tokens (package thread)
// and the stored configuration (package mailbox). cmd/sportello builds one
// Mail with New and runs its Jobs while serving.
package mail

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sportello/sportello/internal/app"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/intake"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/outbox"
	"github.com/sportello/sportello/internal/mail/pec"
	"github.com/sportello/sportello/internal/mail/thread"
)

// Opts configures the e-mail channel.
type Opts struct {
	Store desk.Store
	// Key is the installation's secret key: it seals mailbox passwords
	// and signs reply tokens.
	Key      []byte
	Log      *slog.Logger
	Registry prometheus.Registerer
	// BaseURL is the portal's public address, shown in mail.
	BaseURL string
	Now     func() time.Time
	// OnCreated and Notify are called after commit for tickets created and
	// changed by incoming mail (desk.Opts has the same hooks).
	OnCreated func(desk.Ticket)
	Notify    func(ticketID int64)
	// Guard and AfterCreate are the desk's hooks (desk.Desk.SetHooks):
	// the guard is consulted by status changes mail makes (inside their
	// transaction); AfterCreate runs after commit for each ticket mail
	// registers.
	Guard       desk.TransitionGuard
	AfterCreate func(context.Context, desk.Ticket)
	// RootCAs verifies IMAP and SMTP server certificates (nil: system).
	RootCAs *x509.CertPool
	// Dial and Sender replace the network (tests).
	Dial   intake.Dialer
	Sender outbox.Sender
	// PlusReplyTo adds a Reply-To carrying a signed reply token as a plus
	// address (assistenza+t.2026-000123.SIG@…), for mail servers that
	// deliver user+tag@ to user@: replies thread even when the client
	// drops every reference.
	PlusReplyTo bool
	// Tune adjusts the job settings (tests use short leases and polls).
	Tune func(*intake.Opts, *outbox.WorkerOpts)
	// PEC tunes certified mail: the trust anchors provider signatures
	// are verified against (nil: not verified, only recorded as present).
	PEC pec.Options
	// PECMaxSize is the largest message sent through a PEC mailbox
	// (default outbox.DefaultPECMaxSize).
	PECMaxSize int64
	// PECProtocol registers tickets made from certified messages in the
	// protocol register (see intake.ProtocolHook).
	PECProtocol intake.ProtocolHook
}

// Mail is the e-mail channel.
type Mail struct {
	guard     desk.TransitionGuard
	Sealer    *mailbox.Sealer
	Outbox    *outbox.Outbox
	Processor *intake.Processor
	Intake    *intake.Job
	Sender    *outbox.Worker
	Reminders *outbox.Reminders
	// PECOverdue alerts on PEC mail not delivered after 24 hours.
	PECOverdue *PECOverdue
}

// New builds the e-mail channel of an app, with the app's workflow hooks:
// approval gates apply to the status changes mail makes, and tickets mail
// registers start their service's phases.
func New(a *app.App) (*Mail, error) {
	log := a.Log.With("component", "mail")
	o := Opts{Store: a.DB, Key: a.Key, Log: log, Registry: a.Metrics.Registry(), BaseURL: a.Config.BaseURL}
	if a.Workflow != nil {
		o.Guard = a.Workflow.GuardTransition
		o.AfterCreate = func(ctx context.Context, t desk.Ticket) {
			if t.ServiceID == 0 {
				return
			}
			if _, err := a.Workflow.StartPhases(ctx, desk.SystemActor, t.Number); err != nil {
				log.Error("start phases", "ticket", t.Number, "err", err)
			}
		}
	}
	if path := os.Getenv("SPORTELLO_PEC_TRUST_ANCHORS"); path != "" {
		pool, err := LoadTrustAnchors(path)
		if err != nil {
			return nil, err
		}
		o.PEC.TrustAnchors = pool
	}
	if v := os.Getenv("SPORTELLO_PEC_MAX_SIZE"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("SPORTELLO_PEC_MAX_SIZE: %q is not a size in bytes", v)
		}
		o.PECMaxSize = n
	}
	return NewWith(o)
}

// NewWith builds the e-mail channel from explicit options.
func NewWith(o Opts) (*Mail, error) {
	if o.Store == nil || len(o.Key) == 0 {
		return nil, errors.New("mail: a store and the secret key are required")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	sealer, err := mailbox.NewSealer(o.Key)
	if err != nil {
		return nil, err
	}
	signer, err := thread.NewSigner(o.Key)
	if err != nil {
		return nil, err
	}
	ob, err := outbox.New(outbox.Opts{Signer: signer, Now: o.Now, BaseURL: o.BaseURL, Log: o.Log, PlusReplyTo: o.PlusReplyTo,
		PECMaxSize: o.PECMaxSize})
	if err != nil {
		return nil, err
	}
	pm := newPECMetrics(o.Registry)
	proc := intake.NewProcessor(intake.ProcessorOpts{Store: o.Store, Outbox: ob, Now: o.Now, Log: o.Log,
		OnCreated: o.OnCreated, Notify: o.Notify, Guard: o.Guard, AfterCreate: o.AfterCreate,
		PEC: o.PEC, OnPECAlert: pm.alert, PECProtocol: o.PECProtocol})
	dial := o.Dial
	if dial == nil {
		dial = intake.IMAPDialer(o.RootCAs)
	}
	sender := o.Sender
	if sender == nil {
		sender = &outbox.SMTP{RootCAs: o.RootCAs}
	}
	io := intake.Opts{Store: o.Store, Processor: proc, Sealer: sealer, Dial: dial, Log: o.Log, Registry: o.Registry, Now: o.Now}
	wo := outbox.WorkerOpts{Store: o.Store, Outbox: ob, Sealer: sealer, Sender: sender, Log: o.Log, Registry: o.Registry, Now: o.Now}
	if o.Tune != nil {
		o.Tune(&io, &wo)
	}
	return &Mail{
		guard:     o.Guard,
		Sealer:    sealer,
		Outbox:    ob,
		Processor: proc,
		Intake:    intake.NewJob(io),
		Sender:    outbox.NewWorker(wo),
		Reminders: outbox.NewReminders(outbox.ReminderOpts{Store: o.Store, Outbox: ob, Log: o.Log, Now: o.Now}),
		PECOverdue: &PECOverdue{store: o.Store, now: nowOr(o.Now), log: o.Log, every: 10 * time.Minute, after: 24 * time.Hour,
			metric: pm.alert},
	}, nil
}

// Jobs are the background jobs serve runs: the intake, the outbox sender
// and the waiting-on-you reminders.
func (m *Mail) Jobs() []app.Job { return []app.Job{m.Intake, m.Sender, m.Reminders, m.PECOverdue} }

func nowOr(f func() time.Time) func() time.Time {
	if f == nil {
		return time.Now
	}
	return f
}

// EnqueueReply puts an agent's public reply in the outbox; see
// outbox.Outbox.EnqueueReply.
func (m *Mail) EnqueueReply(ctx context.Context, tx desk.Tx, t desk.Ticket, msg desk.Message) error {
	return m.Outbox.EnqueueReply(ctx, tx, t, msg)
}

// EnqueueStatus sends the mail a status change calls for; see
// outbox.Outbox.EnqueueStatus.
func (m *Mail) EnqueueStatus(ctx context.Context, tx desk.Tx, prev, next desk.Ticket) error {
	return m.Outbox.EnqueueStatus(ctx, tx, prev, next)
}

// Reply adds a message to a ticket as desk.Desk.AddMessage does and, in the
// same transaction, puts a staff reply in the outbox. It stands in for a
// domain hook until desk.Desk calls EnqueueReply itself (see docs/mail.md).
func (m *Mail) Reply(ctx context.Context, st desk.Store, a desk.Actor, number string, in desk.NewMessage) (desk.Message, error) {
	var msg desk.Message
	err := st.Update(ctx, func(tx desk.Tx) error {
		d := m.bound(tx)
		var err error
		if msg, err = d.AddMessage(ctx, a, number, in); err != nil {
			return err
		}
		t, err := tx.TicketByNumber(ctx, number)
		if err != nil {
			return err
		}
		return m.Outbox.EnqueueReply(ctx, tx, t, msg)
	})
	return msg, err
}

// Transition changes a ticket's status as desk.Desk.Transition does and, in
// the same transaction, puts the mail the change calls for (a resolution
// asking to confirm) in the outbox. It stands in for a domain hook.
func (m *Mail) Transition(ctx context.Context, st desk.Store, a desk.Actor, number string, in desk.TransitionInput) (desk.Ticket, error) {
	var next desk.Ticket
	err := st.Update(ctx, func(tx desk.Tx) error {
		prev, err := tx.TicketByNumber(ctx, number)
		if err != nil {
			return err
		}
		d := m.bound(tx)
		if next, err = d.Transition(ctx, a, number, in); err != nil {
			return err
		}
		return m.Outbox.EnqueueStatus(ctx, tx, prev, next)
	})
	return next, err
}

// bound returns a desk running inside tx, with the approval guard.
func (m *Mail) bound(tx desk.Tx) *desk.Desk {
	d := desk.New(desk.Opts{Store: mailbox.Bind(tx)})
	if m.guard != nil {
		d.SetHooks(m.guard)
	}
	return d
}
