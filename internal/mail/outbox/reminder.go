package outbox

import (
	"context"
	"log/slog"
	"net/mail"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/mailbox"
)

// ReminderOpts configures Reminders.
type ReminderOpts struct {
	Store  desk.Store
	Outbox *Outbox
	Log    *slog.Logger
	Now    func() time.Time
	// After is how long a ticket waits on its requester before a reminder
	// (default 3 days). One reminder is sent per waiting period.
	After time.Duration
	// Every is how often waiting tickets are looked at (default 10 minutes).
	Every time.Duration
}

// Reminders reminds requesters of tickets waiting on them. It implements
// app.Job; running it on several replicas sends each reminder once
// (the check and the enqueue share one transaction, under the ticket's
// row lock on PostgreSQL).
type Reminders struct{ o ReminderOpts }

// NewReminders returns the reminder job.
func NewReminders(o ReminderOpts) *Reminders {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After <= 0 {
		o.After = 72 * time.Hour
	}
	if o.Every <= 0 {
		o.Every = 10 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Reminders{o: o}
}

// Name implements app.Job.
func (r *Reminders) Name() string { return "mail-reminders" }

// Run sends reminders until ctx is cancelled.
func (r *Reminders) Run(ctx context.Context) error {
	t := time.NewTicker(r.o.Every)
	defer t.Stop()
	for {
		if n, err := r.RunOnce(ctx); err != nil && ctx.Err() == nil {
			r.o.Log.Error("reminders", "err", err)
		} else if n > 0 {
			r.o.Log.Info("reminders sent", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce enqueues the reminders due now and returns how many.
func (r *Reminders) RunOnce(ctx context.Context) (int, error) {
	cutoff := r.o.Now().Add(-r.o.After)
	var due []string
	var before int64
	for {
		var page []desk.Ticket
		err := r.o.Store.View(ctx, func(tx desk.Tx) error {
			var err error
			page, err = tx.Tickets(ctx, desk.TicketQuery{Statuses: []desk.Status{desk.StatusWaitingRequester}, Before: before, Limit: 500})
			return err
		})
		if err != nil {
			return 0, err
		}
		for _, t := range page {
			if t.Updated.Before(cutoff) && t.Requester.Email != "" {
				due = append(due, t.Number)
			}
		}
		if len(page) < 500 {
			break
		}
		before = page[len(page)-1].ID
	}
	sent := 0
	for _, number := range due {
		err := mailbox.Update(ctx, r.o.Store, func(tx mailbox.Tx) error {
			t, err := tx.TicketByNumber(ctx, number)
			if err != nil || t.Status != desk.StatusWaitingRequester || !t.Updated.Before(cutoff) {
				return err
			}
			last, err := tx.LastOutbound(ctx, t.ID, KindReminder)
			if err == nil && !last.Created.Before(t.Updated) {
				return nil // already reminded in this waiting period
			}
			if err != nil && !desk.IsNotFound(err) {
				return err
			}
			mb, from, ok, err := r.o.Outbox.MailboxFor(ctx, tx, t)
			if err != nil || !ok {
				return err
			}
			_, err = r.o.Outbox.Enqueue(ctx, tx, Request{Mailbox: mb, From: from, Kind: KindReminder, Ticket: &t, Generated: true,
				To: mail.Address{Name: t.Requester.Name, Address: t.Requester.Email}, Data: Data{Since: italianDate(t.Updated)}})
			if err == nil {
				sent++
			}
			return err
		})
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}
