package mail

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/mailbox"
)

// The PEC channel's read side (ticket page, evidence download, alerts)
// and its periodic job (no delivery after 24 hours). Intake and outbox
// handle PEC in intake/intake_pec.go and outbox/outbox_pec.go; see
// docs/pec.md.

// TicketPEC returns the PEC data of a ticket the actor may see (others
// get ENotFound). Requesters see the certification data and the delivery
// state, not the alerts.
func TicketPEC(ctx context.Context, d *desk.Desk, st desk.Store, a desk.Actor, number string) (mailbox.TicketPEC, error) {
	var out mailbox.TicketPEC
	t, err := d.Ticket(ctx, a, number)
	if err != nil {
		return out, err
	}
	err = mailbox.View(ctx, st, func(tx mailbox.Tx) error {
		ptx := mailbox.PECOf(tx)
		certs, err := ptx.PECCertsOfTicket(ctx, t.ID)
		if err != nil {
			return err
		}
		out.Certs = certs
		receipts := map[int64][]int64{}
		for _, c := range certs {
			if c.Kind == "envelope" && c.TicketID == t.ID {
				out.PEC = true
				if out.CertifiedSender == "" {
					out.CertifiedSender = c.Sender
				}
			}
			if c.OutID != 0 {
				receipts[c.OutID] = append(receipts[c.OutID], c.InID)
			}
		}
		outs, err := tx.Outbounds(ctx, t.ID, nil, 0, 200)
		if err != nil {
			return err
		}
		boxes := map[int64]bool{}
		for i := len(outs) - 1; i >= 0; i-- { // oldest first
			o := outs[i]
			pecBox, ok := boxes[o.MailboxID]
			if !ok {
				mb, err := tx.MailboxByID(ctx, o.MailboxID)
				if err != nil {
					return err
				}
				pecBox, boxes[o.MailboxID] = mb.PEC, mb.PEC
			}
			if !pecBox && len(receipts[o.ID]) == 0 {
				continue
			}
			dels, err := ptx.Deliveries(ctx, o.ID)
			if err != nil {
				return err
			}
			out.Sent = append(out.Sent, mailbox.PECSent{Outbound: o, Deliveries: dels, Receipts: receipts[o.ID]})
		}
		if desk.CanSeeInternal(a) {
			out.Alerts, err = ptx.PECAlerts(ctx, t.ID, nil, 0, 100)
		}
		return err
	})
	return out, err
}

// Evidence returns the raw message (unchanged, as received from the PEC
// provider) of a PEC message or receipt of a ticket the actor may see,
// with its certification data. Anything else is ENotFound.
func Evidence(ctx context.Context, d *desk.Desk, st desk.Store, a desk.Actor, number string, inID int64) (mailbox.Inbound, mailbox.PECCert, error) {
	var (
		in   mailbox.Inbound
		cert mailbox.PECCert
	)
	t, err := d.Ticket(ctx, a, number)
	if err != nil {
		return in, cert, err
	}
	err = mailbox.View(ctx, st, func(tx mailbox.Tx) error {
		var err error
		if cert, err = mailbox.PECOf(tx).PECCert(ctx, inID); err != nil {
			return err
		}
		belongs := cert.TicketID == t.ID
		if !belongs && cert.OutID != 0 {
			o, err := tx.OutboundByID(ctx, cert.OutID)
			if err != nil {
				return err
			}
			belongs = o.TicketID == t.ID
		}
		if !belongs {
			return desk.Errorf(desk.ENotFound, "PEC message %d not found on ticket %s", inID, number)
		}
		in, err = tx.InboundByID(ctx, inID)
		return err
	})
	if desk.IsNotFound(err) {
		err = desk.Errorf(desk.ENotFound, "PEC message %d not found on ticket %s", inID, number)
	}
	return in, cert, err
}

// PECAlerts lists the PEC delivery alerts for an agent's workspace: of the
// tickets of the agent's organisation (every organisation for an
// installation administrator), only those assigned to the agent or to no
// one when mine is set. Requesters get EForbidden.
func PECAlerts(ctx context.Context, st desk.Store, a desk.Actor, mine bool, limit int) ([]mailbox.PECAlert, error) {
	if !a.IsStaff() {
		return nil, desk.Errorf(desk.EForbidden, "only staff see PEC alerts")
	}
	var orgs []int64
	if s := desk.TicketScope(a); s.OrgIDs != nil {
		orgs = s.OrgIDs
	}
	var assignee int64
	if mine {
		assignee = a.UserID
	}
	var out []mailbox.PECAlert
	err := mailbox.View(ctx, st, func(tx mailbox.Tx) error {
		var err error
		out, err = mailbox.PECOf(tx).PECAlerts(ctx, 0, orgs, assignee, limit)
		return err
	})
	return out, err
}

// PECService adapts the functions above to the API (api.PECService).
type PECService struct {
	Desk  *desk.Desk
	Store desk.Store
}

func (s PECService) TicketPEC(ctx context.Context, a desk.Actor, number string) (mailbox.TicketPEC, error) {
	return TicketPEC(ctx, s.Desk, s.Store, a, number)
}

func (s PECService) Evidence(ctx context.Context, a desk.Actor, number string, id int64) (mailbox.Inbound, mailbox.PECCert, error) {
	return Evidence(ctx, s.Desk, s.Store, a, number, id)
}

func (s PECService) Alerts(ctx context.Context, a desk.Actor, mine bool, limit int) ([]mailbox.PECAlert, error) {
	return PECAlerts(ctx, s.Store, a, mine, limit)
}

// pecMetrics counts PEC delivery alerts by kind.
type pecMetrics struct{ alerts *prometheus.CounterVec }

func newPECMetrics(reg prometheus.Registerer) *pecMetrics {
	m := &pecMetrics{alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sportello_pec_alerts_total",
		Help: "PEC delivery alerts raised (non-acceptance, non-delivery, virus, delay warning, no delivery after 24 hours), by kind.",
	}, []string{"kind"})}
	if reg != nil {
		if err := reg.Register(m.alerts); err != nil {
			if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
				m.alerts = are.ExistingCollector.(*prometheus.CounterVec)
			}
		}
	}
	return m
}

func (m *pecMetrics) alert(a mailbox.PECAlert) { m.alerts.WithLabelValues(a.Kind).Inc() }

// PECOverdue raises an alert when a message sent through a PEC mailbox has
// not been delivered to every recipient 24 hours after it was sent (the
// provider's final non-delivery notice is due by then). It implements
// app.Job; on several replicas each alert is raised once (unique per
// message and kind).
type PECOverdue struct {
	store  desk.Store
	now    func() time.Time
	log    *slog.Logger
	every  time.Duration
	after  time.Duration
	metric func(mailbox.PECAlert)
}

// Name implements app.Job.
func (j *PECOverdue) Name() string { return "pec-overdue" }

// Run checks every 10 minutes until ctx is cancelled.
func (j *PECOverdue) Run(ctx context.Context) error {
	t := time.NewTicker(j.every)
	defer t.Stop()
	for {
		if n, err := j.RunOnce(ctx); err != nil && ctx.Err() == nil {
			j.log.Error("pec overdue", "err", err)
		} else if n > 0 {
			j.log.Warn("PEC messages without delivery after 24 hours", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce raises the overdue alerts due now and returns how many.
func (j *PECOverdue) RunOnce(ctx context.Context) (int, error) { return j.RunAt(ctx, j.now()) }

// RunAt raises the alerts due at time now (tests move the clock): PEC
// messages sent more than 24 hours ago and not delivered to every
// recipient, and PEC messages the outbox gave up sending.
func (j *PECOverdue) RunAt(ctx context.Context, now time.Time) (int, error) {
	now = now.UTC().Truncate(time.Microsecond)
	var due, unsent []mailbox.Outbound
	err := mailbox.View(ctx, j.store, func(tx mailbox.Tx) error {
		var err error
		// Messages older than 30 days were dealt with (or never will be).
		ptx := mailbox.PECOf(tx)
		if due, err = ptx.OverduePEC(ctx, now.Add(-30*24*time.Hour), now.Add(-j.after), 500); err != nil {
			return err
		}
		unsent, err = ptx.UnsentPEC(ctx, now.Add(-30*24*time.Hour), 500)
		return err
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range append(due, unsent...) {
		if o.TicketID == 0 {
			continue
		}
		var raised *mailbox.PECAlert
		err := mailbox.Update(ctx, j.store, func(tx mailbox.Tx) error {
			raised = nil
			a, body, ok, err := j.alertFor(ctx, tx, o, now)
			if err != nil || !ok {
				return err
			}
			if ok, err := mailbox.PECOf(tx).InsertPECAlert(ctx, &a); err != nil || !ok {
				return err
			}
			dk := desk.New(desk.Opts{Store: mailbox.Bind(tx), Now: func() time.Time { return now }})
			if _, err := dk.AddMessage(ctx, desk.SystemActor, a.TicketNumber, desk.NewMessage{Internal: true, Body: body}); err != nil {
				return err
			}
			raised = &a
			return nil
		})
		if err != nil {
			return n, err
		}
		if raised != nil {
			n++
			if j.metric != nil {
				j.metric(*raised)
			}
		}
	}
	return n, nil
}

// alertFor works out the alert a sent message calls for now (re-read in
// the transaction: a receipt may have arrived meanwhile), with the text of
// the note on its ticket; ok is false when none is due any more.
func (j *PECOverdue) alertFor(ctx context.Context, tx mailbox.Tx, o mailbox.Outbound, now time.Time) (mailbox.PECAlert, string, bool, error) {
	cur, err := tx.OutboundByID(ctx, o.ID)
	if err != nil {
		return mailbox.PECAlert{}, "", false, err
	}
	t, err := tx.TicketByID(ctx, o.TicketID)
	if err != nil {
		return mailbox.PECAlert{}, "", false, err
	}
	a := mailbox.PECAlert{TicketID: t.ID, OutID: o.ID, AssigneeID: t.AssigneeID, Created: now, TicketNumber: t.Number, Subject: t.Subject}
	if cur.State == mailbox.OutFailed {
		a.Kind = mailbox.AlertNotSent
		a.Recipient = strings.Join(cur.To, ", ")
		a.Detail = "il gestore PEC non ha accettato l'invio / the PEC provider refused the submission: " + cur.LastError
		body := fmt.Sprintf("Avviso PEC / PEC alert: messaggio non inviato / message not sent\nMessaggio / message: %s\nDestinatari / recipients: %s\n%s",
			cur.Subject, a.Recipient, cur.LastError)
		return a, body, true, nil
	}
	dels, err := mailbox.PECOf(tx).Deliveries(ctx, o.ID)
	if err != nil {
		return a, "", false, err
	}
	var waiting []string
	for _, d := range dels {
		if !d.State.Final() {
			waiting = append(waiting, d.Recipient)
		}
	}
	if len(waiting) == 0 || cur.State != mailbox.OutSent {
		return a, "", false, nil
	}
	a.Kind = mailbox.AlertOverdue
	a.Detail = "nessuna ricevuta di consegna dopo 24 ore / no delivery receipt after 24 hours: " + strings.Join(waiting, ", ")
	body := fmt.Sprintf("Avviso PEC / PEC alert: nessuna ricevuta di avvenuta consegna dopo 24 ore / no delivery receipt after 24 hours\nMessaggio / message: %s (inviato / sent %s)\nIn attesa / waiting: %s",
		cur.Subject, cur.Sent.In(rome()).Format("02/01/2006 15:04"), strings.Join(waiting, ", "))
	return a, body, true, nil
}

// LoadTrustAnchors reads the PEM certificates PEC provider signatures must
// chain to (the AgID list of PEC providers, or a test CA).
func LoadTrustAnchors(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("PEC trust anchors: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("PEC trust anchors: no PEM certificate in %s", path)
	}
	return pool, nil
}
