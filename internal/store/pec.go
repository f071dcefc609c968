package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sportello/sportello/internal/mail/mailbox"
)

// The PEC channel's tables (migration 0070): certification data of
// received PEC messages, per-recipient delivery state of sent ones,
// delivery alerts and ticket protocol numbers. See mailbox.PECTx.

var _ mailbox.PECTx = (*q)(nil)

// ---- protocol numbers (desk.Tx)

func (t *q) TicketProtocol(ctx context.Context, ticketID int64) (string, error) {
	var p string
	err := t.row(ctx, "SELECT protocol FROM ticket_protocol WHERE ticket_id = $1", ticketID).Scan(&p)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return p, err
}

func (t *q) SetTicketProtocol(ctx context.Context, ticketID int64, protocol string, now time.Time) error {
	if protocol == "" {
		_, err := t.exec(ctx, "DELETE FROM ticket_protocol WHERE ticket_id = $1", ticketID)
		return err
	}
	_, err := t.exec(ctx, `INSERT INTO ticket_protocol (ticket_id, protocol, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (ticket_id) DO UPDATE SET protocol = excluded.protocol, updated_at = excluded.updated_at`,
		ticketID, text(protocol), us(now))
	return err
}

// ---- certification data

const pecCertCols = `in_id, COALESCE(ticket_id, 0), COALESCE(message_ref, 0), COALESCE(out_id, 0), kind, tipo, sender, daticert,
	signed, sig_status, sig_signer, sig_error, sha256, received_at`

func scanPECCert(r interface{ Scan(...any) error }) (mailbox.PECCert, error) {
	var c mailbox.PECCert
	var dc string
	var at int64
	err := r.Scan(&c.InID, &c.TicketID, &c.MessageRef, &c.OutID, &c.Kind, &c.Tipo, &c.Sender, &dc,
		&c.Signed, &c.SigStatus, &c.SigSigner, &c.SigError, &c.SHA256, &at)
	if err != nil {
		return c, err
	}
	c.Received = fromUS(at)
	if dc != "" {
		var d mailbox.Daticert
		if err := json.Unmarshal([]byte(dc), &d); err != nil {
			return c, fmt.Errorf("pec_messages %d: daticert: %w", c.InID, err)
		}
		c.Daticert = &d
	}
	return c, nil
}

func (t *q) InsertPECCert(ctx context.Context, c *mailbox.PECCert) error {
	dc := ""
	if c.Daticert != nil {
		b, err := json.Marshal(cleanDaticert(*c.Daticert))
		if err != nil {
			return err
		}
		dc = string(b)
	}
	_, err := t.exec(ctx, `INSERT INTO pec_messages (in_id, ticket_id, message_ref, out_id, kind, tipo, sender, daticert,
		signed, sig_status, sig_signer, sig_error, sha256, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		c.InID, nullID(c.TicketID), nullID(c.MessageRef), nullID(c.OutID), c.Kind, text(c.Tipo), text(c.Sender), text(dc),
		c.Signed, c.SigStatus, text(c.SigSigner), text(c.SigError), c.SHA256, us(c.Received))
	return conflict(err, "certification data of received message %d already recorded", c.InID)
}

// cleanDaticert makes every string storable on both engines (see text):
// a NUL would otherwise survive as \u0000 inside the JSON.
func cleanDaticert(d mailbox.Daticert) mailbox.Daticert {
	for _, p := range []*string{&d.Tipo, &d.Errore, &d.Mittente, &d.Risposte, &d.Oggetto, &d.Gestore, &d.Zona, &d.ID, &d.MsgID,
		&d.RicevutaTipo, &d.Consegna, &d.ErroreEsteso} {
		*p = text(*p)
	}
	d.Destinatari = append([]mailbox.PECRecipient(nil), d.Destinatari...)
	for i := range d.Destinatari {
		d.Destinatari[i].Address, d.Destinatari[i].Kind = text(d.Destinatari[i].Address), text(d.Destinatari[i].Kind)
	}
	d.Ricezione = append([]string(nil), d.Ricezione...)
	for i := range d.Ricezione {
		d.Ricezione[i] = text(d.Ricezione[i])
	}
	return d
}

func (t *q) PECCertsOfTicket(ctx context.Context, ticketID int64) ([]mailbox.PECCert, error) {
	rows, err := t.query(ctx, "SELECT "+pecCertCols+` FROM pec_messages WHERE ticket_id = $1
		OR out_id IN (SELECT id FROM mail_out WHERE ticket_id = $1) ORDER BY in_id`, ticketID)
	return scanAll(rows, err, func(r *sql.Rows) (mailbox.PECCert, error) { return scanPECCert(r) })
}

func (t *q) PECCert(ctx context.Context, inID int64) (mailbox.PECCert, error) {
	c, err := scanPECCert(t.row(ctx, "SELECT "+pecCertCols+" FROM pec_messages WHERE in_id = $1", inID))
	return c, notFound(err, "certification data")
}

// ---- delivery state

func (t *q) PutDelivery(ctx context.Context, d mailbox.PECDelivery) error {
	_, err := t.exec(ctx, `INSERT INTO pec_delivery (out_id, recipient, state, detail, in_id, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (out_id, recipient) DO UPDATE SET state = excluded.state, detail = excluded.detail, in_id = excluded.in_id,
		updated_at = excluded.updated_at`,
		d.OutID, text(d.Recipient), string(d.State), text(d.Detail), nullID(d.InID), us(d.Updated))
	return err
}

func (t *q) Deliveries(ctx context.Context, outID int64) ([]mailbox.PECDelivery, error) {
	rows, err := t.query(ctx, `SELECT out_id, recipient, state, detail, COALESCE(in_id, 0), updated_at FROM pec_delivery
		WHERE out_id = $1 ORDER BY recipient`, outID)
	return scanAll(rows, err, func(r *sql.Rows) (mailbox.PECDelivery, error) {
		var d mailbox.PECDelivery
		var state string
		var at int64
		err := r.Scan(&d.OutID, &d.Recipient, &state, &d.Detail, &d.InID, &at)
		d.State, d.Updated = mailbox.DeliveryState(state), fromUS(at)
		return d, err
	})
}

// ---- alerts

func (t *q) InsertPECAlert(ctx context.Context, a *mailbox.PECAlert) (bool, error) {
	var id int64
	err := t.row(ctx, `INSERT INTO pec_alerts (ticket_id, out_id, assignee_id, kind, recipient, detail, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (out_id, kind, recipient) DO NOTHING RETURNING id`,
		a.TicketID, a.OutID, nullID(a.AssigneeID), a.Kind, text(a.Recipient), text(a.Detail), us(a.Created)).Scan(&id)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	a.ID = id
	return true, nil
}

func (t *q) PECAlerts(ctx context.Context, ticketID int64, orgIDs []int64, assigneeID int64, limit int) ([]mailbox.PECAlert, error) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if ticketID != 0 {
		conds = append(conds, "a.ticket_id = "+arg(ticketID))
	} else {
		// The workspace drops warnings that the delivery has since
		// answered: a delay warning or an overdue message whose
		// recipients were all delivered after all.
		conds = append(conds, `NOT (a.kind IN ('preavviso-errore-consegna', 'overdue') AND NOT EXISTS (SELECT 1 FROM pec_delivery d
			WHERE d.out_id = a.out_id AND d.state <> 'delivered' AND (a.recipient = '' OR d.recipient = a.recipient)))`)
	}
	if orgIDs != nil {
		if len(orgIDs) == 0 {
			return nil, nil
		}
		var ph []string
		for _, id := range orgIDs {
			ph = append(ph, arg(id))
		}
		conds = append(conds, "t.org_id IN ("+strings.Join(ph, ",")+")")
	}
	if assigneeID != 0 {
		conds = append(conds, "(a.assignee_id = "+arg(assigneeID)+" OR a.assignee_id IS NULL)")
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	query := `SELECT a.id, a.ticket_id, a.out_id, COALESCE(a.assignee_id, 0), a.kind, a.recipient, a.detail, a.created_at, t.number, t.subject
		FROM pec_alerts a JOIN tickets t ON t.id = a.ticket_id`
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := t.query(ctx, query+fmt.Sprintf(" ORDER BY a.id DESC LIMIT %d", limit), args...)
	return scanAll(rows, err, func(r *sql.Rows) (mailbox.PECAlert, error) {
		var a mailbox.PECAlert
		var at int64
		err := r.Scan(&a.ID, &a.TicketID, &a.OutID, &a.AssigneeID, &a.Kind, &a.Recipient, &a.Detail, &at, &a.TicketNumber, &a.Subject)
		a.Created = fromUS(at)
		return a, err
	})
}

func (t *q) OverduePEC(ctx context.Context, from, to time.Time, limit int) ([]mailbox.Outbound, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := t.query(ctx, "SELECT "+outboundCols+outboundJoins+` JOIN mailboxes mb ON mb.id = o.mailbox_id
		WHERE mb.pec = TRUE AND o.state = 'sent' AND o.sent_at >= $1 AND o.sent_at < $2
		AND EXISTS (SELECT 1 FROM pec_delivery d WHERE d.out_id = o.id AND d.state NOT IN ('delivered', 'failed'))
		AND NOT EXISTS (SELECT 1 FROM pec_alerts a WHERE a.out_id = o.id AND a.kind = 'overdue')
		ORDER BY o.id LIMIT `+fmt.Sprint(limit), us(from), us(to))
	return scanAll(rows, err, func(r *sql.Rows) (mailbox.Outbound, error) { return scanOutbound(r) })
}

func (t *q) UnsentPEC(ctx context.Context, since time.Time, limit int) ([]mailbox.Outbound, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := t.query(ctx, "SELECT "+outboundCols+outboundJoins+` JOIN mailboxes mb ON mb.id = o.mailbox_id
		WHERE mb.pec = TRUE AND o.state = 'failed' AND o.created_at >= $1
		AND NOT EXISTS (SELECT 1 FROM pec_alerts a WHERE a.out_id = o.id AND a.kind = 'not-sent')
		ORDER BY o.id LIMIT `+fmt.Sprint(limit), us(since))
	return scanAll(rows, err, func(r *sql.Rows) (mailbox.Outbound, error) { return scanOutbound(r) })
}
