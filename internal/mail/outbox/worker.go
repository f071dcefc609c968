package outbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/mailbox"
)

// WorkerOpts configures a Worker.
type WorkerOpts struct {
	Store  desk.Store
	Outbox *Outbox
	Sealer *mailbox.Sealer
	Sender Sender
	Log    *slog.Logger
	// Registry receives the worker's metrics (nil: none).
	Registry prometheus.Registerer
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Batch is the number of messages claimed at once (default 20).
	Batch int
	// Lease is how long a claim lasts before another sender may take the
	// message again (default 2 minutes); it must exceed a delivery.
	Lease time.Duration
	// MaxAttempts before a message is marked failed (default 12, about a
	// day with the backoff).
	MaxAttempts int
	// Backoff is the first retry delay, doubled each time up to an hour
	// (default 30 seconds).
	Backoff time.Duration
	// Poll is how often the outbox is looked at when nothing wakes the
	// worker (default 2 seconds).
	Poll time.Duration
}

// Worker sends the outbox. Several workers (one per replica) may run on
// one database: each claims rows so that none is sent twice.
type Worker struct {
	o      WorkerOpts
	holder string
	sent   *prometheus.CounterVec
}

// NewWorker returns a Worker.
func NewWorker(o WorkerOpts) *Worker {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Batch <= 0 {
		o.Batch = 20
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 12
	}
	if o.Backoff <= 0 {
		o.Backoff = 30 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Sender == nil {
		o.Sender = &SMTP{}
	}
	w := &Worker{o: o, holder: Holder()}
	w.sent = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sportello_mail_sent_total", Help: "Outgoing mail delivery attempts by result (sent, retry, failed).",
	}, []string{"result"})
	if o.Registry != nil {
		if err := o.Registry.Register(w.sent); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				w.sent = are.ExistingCollector.(*prometheus.CounterVec)
			}
		}
	}
	return w
}

// Holder returns a name for this process in leases and claims.
func Holder() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Name implements app.Job.
func (w *Worker) Name() string { return "mail-outbox" }

// Run sends due messages until ctx is cancelled.
func (w *Worker) Run(ctx context.Context) error {
	var wake <-chan struct{}
	if w.o.Outbox != nil {
		wake = w.o.Outbox.Wake()
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-t.C:
		}
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.o.Log.Error("outbox", "err", err)
		}
		next := w.o.Poll
		if n == w.o.Batch {
			next = 0
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(next)
	}
}

// RunOnce claims and sends one batch of due messages, returning how many
// were claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	var batch []mailbox.Outbound
	err := mailbox.Update(ctx, w.o.Store, func(tx mailbox.Tx) error {
		var err error
		batch, err = tx.ClaimOutbound(ctx, w.holder, w.o.Now(), w.o.Lease, w.o.Batch)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("claim outbox: %w", err)
	}
	boxes := map[int64]mailbox.Mailbox{}
	for _, m := range batch {
		if ctx.Err() != nil {
			return len(batch), nil
		}
		mb, ok := boxes[m.MailboxID]
		if !ok {
			err := mailbox.View(ctx, w.o.Store, func(tx mailbox.Tx) error {
				var err error
				mb, err = tx.MailboxByID(ctx, m.MailboxID)
				return err
			})
			if err != nil {
				return len(batch), err
			}
			boxes[m.MailboxID] = mb
		}
		w.deliver(ctx, mb, m)
	}
	return len(batch), nil
}

func (w *Worker) deliver(ctx context.Context, mb mailbox.Mailbox, m mailbox.Outbound) {
	pass, err := w.open(mb)
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, w.o.Lease*3/4)
		err = w.o.Sender.Send(sctx, mb.SMTP, pass, m.From, m.To, m.Raw)
		cancel()
	}
	var perm *PermanentError
	permanent := errors.As(err, &perm)
	if err != nil {
		err = errors.New(mailbox.Redact(err.Error(), pass))
	}
	now := w.o.Now()
	state, next, sent, msg := mailbox.OutSent, now, now, ""
	switch {
	case err == nil:
		w.sent.WithLabelValues("sent").Inc()
		w.o.Log.Info("mail sent", "outbox", m.ID, "kind", m.Kind, "ticket", m.TicketNumber, "mailbox", mb.Address)
	case permanent || m.Attempts >= w.o.MaxAttempts:
		state, sent, msg = mailbox.OutFailed, time.Time{}, err.Error()
		w.sent.WithLabelValues("failed").Inc()
		w.o.Log.Error("mail not sent, giving up", "outbox", m.ID, "kind", m.Kind, "ticket", m.TicketNumber, "mailbox", mb.Address,
			"attempts", m.Attempts, "err", msg)
	default:
		delay := time.Duration(float64(w.o.Backoff) * math.Pow(2, float64(m.Attempts-1)))
		if delay > time.Hour || delay <= 0 {
			delay = time.Hour
		}
		state, next, sent, msg = mailbox.OutPending, now.Add(delay), time.Time{}, err.Error()
		w.sent.WithLabelValues("retry").Inc()
		w.o.Log.Warn("mail not sent, will retry", "outbox", m.ID, "kind", m.Kind, "ticket", m.TicketNumber, "mailbox", mb.Address,
			"attempts", m.Attempts, "retry_in", delay.String(), "err", msg)
	}
	// The result is recorded even while shutting down: a message sent and
	// not marked would be sent again.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err = mailbox.Update(fctx, w.o.Store, func(tx mailbox.Tx) error {
		ok, err := tx.FinishOutbound(fctx, m.ID, w.holder, state, next, msg, sent)
		if err == nil && !ok {
			w.o.Log.Warn("outbox claim expired before the send finished", "outbox", m.ID)
		}
		return err
	})
	if err != nil {
		w.o.Log.Error("record outbox result", "outbox", m.ID, "err", err)
	}
}

func (w *Worker) open(mb mailbox.Mailbox) (mailbox.Secret, error) {
	return mb.SMTPPassword(w.o.Sealer)
}
