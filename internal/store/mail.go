package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/route"
)

// The e-mail channel's tables (migration 0020): mailboxes, desk addresses,
// leases, received mail, the outbox, threads, routing rules and the office
// directory. See package mailbox for the contract.

var _ mailbox.Tx = (*q)(nil)

// text makes a string storable on both engines: valid UTF-8 without NUL
// (PostgreSQL refuses both in TEXT columns).
func text(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "")
}

// inList returns "$k,$k+1,…" for n values starting at placeholder k.
func inList(k, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "$%d", k+i)
	}
	return b.String()
}

// ---- mailboxes

const mailboxCols = `id, org_id, address, imap_url, imap_secret, smtp_url, smtp_secret, folder, pec, closed_reply, active, version,
	created_at, updated_at, last_ok_at, last_error, last_error_at, uid_validity, uid_watermark, move_to`

func scanMailbox(r interface{ Scan(...any) error }) (mailbox.Mailbox, error) {
	var m mailbox.Mailbox
	var imapURL, imapSecret, smtpURL, smtpSecret, closed string
	var c, u, ok, errAt, uidv, wm int64
	err := r.Scan(&m.ID, &m.OrgID, &m.Address, &imapURL, &imapSecret, &smtpURL, &smtpSecret, &m.Folder, &m.PEC, &closed, &m.Active, &m.Version,
		&c, &u, &ok, &m.Health.LastError, &errAt, &uidv, &wm, &m.MoveTo)
	if err != nil {
		return m, err
	}
	m.ClosedReply = mailbox.ClosedReply(closed)
	m.Created, m.Updated, m.Health.LastOK, m.Health.LastErrorAt = fromUS(c), fromUS(u), fromUS(ok), fromUS(errAt)
	m.UIDValidity, m.Watermark = uint32(uidv), uint32(wm)
	if m.IMAP, err = mailbox.ParseStored(imapURL, imapSecret, "imap"); err != nil {
		return m, fmt.Errorf("mailbox %s: stored IMAP URL: %w", m.Address, err)
	}
	if m.SMTP, err = mailbox.ParseStored(smtpURL, smtpSecret, "smtp"); err != nil {
		return m, fmt.Errorf("mailbox %s: stored SMTP URL: %w", m.Address, err)
	}
	return m, nil
}

// storedURL is the endpoint's URL without any password marker.
func storedURL(e mailbox.Endpoint) string {
	e.Secret = ""
	return e.String()
}

func (t *q) InsertMailbox(ctx context.Context, m *mailbox.Mailbox) error {
	if m.Version == 0 {
		m.Version = 1
	}
	id, err := t.insert(ctx, `INSERT INTO mailboxes (org_id, address, imap_url, imap_secret, smtp_url, smtp_secret, folder, pec, closed_reply, active, version, created_at, updated_at, move_to)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		m.OrgID, m.Address, storedURL(m.IMAP), m.IMAP.Secret, storedURL(m.SMTP), m.SMTP.Secret, m.Folder, m.PEC, string(m.ClosedReply), m.Active, m.Version,
		us(m.Created), us(m.Updated), m.MoveTo)
	if err != nil {
		return conflict(err, "a mailbox for %s already exists", m.Address)
	}
	m.ID = id
	return nil
}

func (t *q) UpdateMailbox(ctx context.Context, m *mailbox.Mailbox) error {
	var v int64
	err := t.row(ctx, `UPDATE mailboxes SET org_id=$2, address=$3, imap_url=$4, imap_secret=$5, smtp_url=$6, smtp_secret=$7, folder=$8, pec=$9,
		closed_reply=$10, active=$11, updated_at=$12, move_to=$13, version = version + 1 WHERE id=$1 RETURNING version`,
		m.ID, m.OrgID, m.Address, storedURL(m.IMAP), m.IMAP.Secret, storedURL(m.SMTP), m.SMTP.Secret, m.Folder, m.PEC, string(m.ClosedReply), m.Active,
		us(m.Updated), m.MoveTo).Scan(&v)
	if err != nil {
		return conflict(notFound(err, "mailbox"), "a mailbox for %s already exists", m.Address)
	}
	m.Version = v
	return nil
}

func (t *q) MailboxByID(ctx context.Context, id int64) (mailbox.Mailbox, error) {
	m, err := scanMailbox(t.row(ctx, "SELECT "+mailboxCols+" FROM mailboxes WHERE id = $1", id))
	return m, notFound(err, "mailbox")
}

func (t *q) MailboxByAddress(ctx context.Context, address string) (mailbox.Mailbox, error) {
	m, err := scanMailbox(t.row(ctx, "SELECT "+mailboxCols+" FROM mailboxes WHERE address = $1", address))
	return m, notFound(err, "mailbox "+address)
}

func (t *q) Mailboxes(ctx context.Context, all bool) ([]mailbox.Mailbox, error) {
	query := "SELECT " + mailboxCols + " FROM mailboxes"
	if !all {
		query += " WHERE active = TRUE"
	}
	rows, err := t.query(ctx, query+" ORDER BY address")
	return scanAll(rows, err, func(r *sql.Rows) (mailbox.Mailbox, error) { return scanMailbox(r) })
}

func (t *q) SetMailboxHealth(ctx context.Context, id int64, h mailbox.Health) error {
	_, err := t.exec(ctx, "UPDATE mailboxes SET last_ok_at=$2, last_error=$3, last_error_at=$4 WHERE id=$1",
		id, us(h.LastOK), text(h.LastError), us(h.LastErrorAt))
	return err
}

func (t *q) SetMailboxPosition(ctx context.Context, id int64, uidValidity, watermark uint32) error {
	_, err := t.exec(ctx, `UPDATE mailboxes SET uid_watermark = CASE WHEN uid_validity = $2 AND uid_watermark > $3 THEN uid_watermark ELSE $3 END,
		uid_validity = $2 WHERE id = $1`, id, int64(uidValidity), int64(watermark))
	return err
}

// ---- desk addresses

func scanAddress(r interface{ Scan(...any) error }) (mailbox.Address, error) {
	var a mailbox.Address
	var kind string
	var ra, c int64
	err := r.Scan(&a.Address, &a.OrgID, &kind, &ra, &c)
	a.Kind, a.RetiredAt, a.Created = mailbox.AddressKind(kind), fromUS(ra), fromUS(c)
	return a, err
}

func (t *q) PutAddress(ctx context.Context, a mailbox.Address) error {
	_, err := t.exec(ctx, `INSERT INTO mail_addresses (address, org_id, kind, retired_at, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (address) DO UPDATE SET org_id = excluded.org_id, kind = excluded.kind, retired_at = excluded.retired_at`,
		a.Address, a.OrgID, string(a.Kind), us(a.RetiredAt), us(a.Created))
	return err
}

func (t *q) DeleteAddress(ctx context.Context, address string) error {
	_, err := t.exec(ctx, "DELETE FROM mail_addresses WHERE address = $1", address)
	return err
}

func (t *q) AddressByEmail(ctx context.Context, address string) (mailbox.Address, error) {
	a, err := scanAddress(t.row(ctx, "SELECT address, org_id, kind, retired_at, created_at FROM mail_addresses WHERE address = $1", address))
	return a, notFound(err, "address "+address)
}

func (t *q) Addresses(ctx context.Context, orgID int64) ([]mailbox.Address, error) {
	query := "SELECT address, org_id, kind, retired_at, created_at FROM mail_addresses"
	var args []any
	if orgID != 0 {
		query += " WHERE org_id = $1"
		args = append(args, orgID)
	}
	rows, err := t.query(ctx, query+" ORDER BY address", args...)
	return scanAll(rows, err, func(r *sql.Rows) (mailbox.Address, error) { return scanAddress(r) })
}

// ---- leases

func (t *q) ClaimLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	var got string
	err := t.row(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.expires_at < $4 OR leases.holder = excluded.holder
		RETURNING holder`, name, holder, us(until), us(now)).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return got == holder, nil
}

func (t *q) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := t.exec(ctx, "DELETE FROM leases WHERE name = $1 AND holder = $2", name, holder)
	return err
}

// ---- received mail

const inboundCols = `i.id, i.mailbox_id, i.uid_validity, i.uid, i.message_id, i.sha256, i.size, i.from_addr, i.recipient, i.subject, i.outcome,
	i.detail, COALESCE(i.ticket_id, 0), COALESCE(i.message_ref, 0), i.html, i.received_at, COALESCE(t.number, ''), COALESCE(m.address, '')`

const inboundJoins = " FROM mail_in i LEFT JOIN tickets t ON t.id = i.ticket_id LEFT JOIN mailboxes m ON m.id = i.mailbox_id"

func scanInbound(r interface{ Scan(...any) error }, extra ...any) (mailbox.Inbound, error) {
	var m mailbox.Inbound
	var uidv, uid, rcv int64
	var outcome string
	dst := []any{&m.ID, &m.MailboxID, &uidv, &uid, &m.MessageID, &m.SHA256, &m.Size, &m.From, &m.Recipient, &m.Subject, &outcome,
		&m.Detail, &m.TicketID, &m.MessageRef, &m.HTML, &rcv, &m.TicketNumber, &m.MailboxAddress}
	err := r.Scan(append(dst, extra...)...)
	m.UIDValidity, m.UID, m.Received, m.Outcome = uint32(uidv), uint32(uid), fromUS(rcv), mailbox.Outcome(outcome)
	return m, err
}

func (t *q) InboundTaken(ctx context.Context, mailboxID int64, uidValidity uint32, uids []uint32) ([]uint32, error) {
	var out []uint32
	for len(uids) > 0 {
		n := min(len(uids), 500)
		chunk := uids[:n]
		uids = uids[n:]
		args := []any{mailboxID, int64(uidValidity)}
		for _, u := range chunk {
			args = append(args, int64(u))
		}
		rows, err := t.query(ctx, "SELECT uid FROM mail_in WHERE mailbox_id = $1 AND uid_validity = $2 AND uid IN ("+inList(3, n)+")", args...)
		got, err := scanAll(rows, err, func(r *sql.Rows) (uint32, error) {
			var v int64
			err := r.Scan(&v)
			return uint32(v), err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

func (t *q) SameInbound(ctx context.Context, messageID, sha string) (int64, error) {
	if messageID == "" {
		return 0, nil
	}
	var id int64
	err := t.row(ctx, "SELECT id FROM mail_in WHERE message_id = $1 AND message_id <> '' AND sha256 = $2 ORDER BY id LIMIT 1", text(messageID), sha).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

func (t *q) KnownMessageIDs(ctx context.Context, ids []string) (map[string]map[string]int64, map[string]bool, error) {
	inbound, outbound := map[string]map[string]int64{}, map[string]bool{}
	byStored := map[string][]string{} // stored form → ids as given
	for _, id := range ids {
		if id != "" {
			byStored[text(id)] = append(byStored[text(id)], id)
		}
	}
	stored := make([]any, 0, len(byStored))
	for s := range byStored {
		stored = append(stored, s)
	}
	for len(stored) > 0 {
		chunk := stored[:min(len(stored), 200)]
		stored = stored[len(chunk):]
		list := inList(1, len(chunk))
		// "message_id <> ''" lets both engines use the partial index.
		rows, err := t.query(ctx, `SELECT 'i', message_id, sha256, id FROM mail_in WHERE message_id IN (`+list+`) AND message_id <> ''
			UNION ALL SELECT 'o', message_id, '', id FROM mail_out WHERE message_id IN (`+list+`)`, chunk...)
		if err != nil {
			return nil, nil, err
		}
		for rows.Next() {
			var kind, mid, sum string
			var id int64
			if err := rows.Scan(&kind, &mid, &sum, &id); err != nil {
				rows.Close()
				return nil, nil, err
			}
			for _, given := range byStored[mid] {
				if kind == "o" {
					outbound[given] = true
					continue
				}
				if inbound[given] == nil {
					inbound[given] = map[string]int64{}
				}
				if first, ok := inbound[given][sum]; !ok || id < first {
					inbound[given][sum] = id
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
	}
	return inbound, outbound, nil
}

func (t *q) InsertInbound(ctx context.Context, m *mailbox.Inbound) error {
	raw := m.Raw
	if raw == nil {
		raw = []byte{}
	}
	id, err := t.insert(ctx, `INSERT INTO mail_in (mailbox_id, uid_validity, uid, message_id, sha256, size, raw, from_addr, recipient, subject,
		outcome, detail, ticket_id, message_ref, html, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		m.MailboxID, int64(m.UIDValidity), int64(m.UID), text(m.MessageID), m.SHA256, m.Size, raw, text(m.From), text(m.Recipient), text(m.Subject),
		string(m.Outcome), text(m.Detail), nullID(m.TicketID), nullID(m.MessageRef), text(m.HTML), us(m.Received))
	if err != nil {
		return conflict(err, "message %d of mailbox %d was already taken", m.UID, m.MailboxID)
	}
	m.ID = id
	return nil
}

func (t *q) InboundByID(ctx context.Context, id int64) (mailbox.Inbound, error) {
	var raw []byte
	m, err := scanInbound(t.row(ctx, "SELECT "+inboundCols+", i.raw"+inboundJoins+" WHERE i.id = $1", id), &raw)
	m.Raw = raw
	return m, notFound(err, "received message")
}

func (t *q) TicketsByMessageID(ctx context.Context, ids []string) (map[string]int64, error) {
	out := map[string]int64{}
	var clean []any
	for _, id := range ids {
		if id != "" && len(clean) < 200 {
			clean = append(clean, text(id))
		}
	}
	if len(clean) == 0 {
		return out, nil
	}
	list := inList(1, len(clean))
	// "message_id <> ''" lets both engines use the partial index.
	rows, err := t.query(ctx, `SELECT message_id, ticket_id FROM mail_in WHERE message_id IN (`+list+`) AND message_id <> '' AND ticket_id IS NOT NULL
		UNION ALL SELECT message_id, ticket_id FROM mail_out WHERE message_id IN (`+list+`) AND ticket_id IS NOT NULL`, clean...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var mid string
		var tid int64
		if err := rows.Scan(&mid, &tid); err != nil {
			return nil, err
		}
		out[mid] = tid
	}
	return out, rows.Err()
}

func (t *q) ThreadIDs(ctx context.Context, ticketID int64, limit int) ([]string, error) {
	rows, err := t.query(ctx, `SELECT message_id, received_at FROM mail_in WHERE ticket_id = $1 AND message_id <> ''
		UNION ALL SELECT message_id, created_at FROM mail_out WHERE ticket_id = $1 ORDER BY 2`, ticketID)
	ids, err := scanAll(rows, err, func(r *sql.Rows) (string, error) {
		var id string
		var at int64
		err := r.Scan(&id, &at)
		return id, err
	})
	if err != nil || limit <= 0 || len(ids) <= limit {
		return ids, err
	}
	return append(ids[:1:1], ids[len(ids)-(limit-1):]...), nil
}

func (t *q) MailLog(ctx context.Context, lq mailbox.LogQuery) ([]mailbox.Inbound, error) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if lq.MailboxID != 0 {
		conds = append(conds, "i.mailbox_id = "+arg(lq.MailboxID))
	}
	if len(lq.Outcomes) > 0 {
		var ph []string
		for _, o := range lq.Outcomes {
			ph = append(ph, arg(string(o)))
		}
		conds = append(conds, "i.outcome IN ("+strings.Join(ph, ",")+")")
	}
	if lq.OrgIDs != nil {
		conds = append(conds, "m.org_id IN ("+idList(lq.OrgIDs)+")")
	}
	if lq.Before > 0 {
		conds = append(conds, "i.id < "+arg(lq.Before))
	}
	query := "SELECT " + inboundCols + inboundJoins
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	limit := lq.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := t.query(ctx, query+fmt.Sprintf(" ORDER BY i.id DESC LIMIT %d", limit), args...)
	return scanAll(rows, err, func(r *sql.Rows) (mailbox.Inbound, error) { return scanInbound(r) })
}

// ---- threads

func (t *q) PutThread(ctx context.Context, th mailbox.Thread) error {
	_, err := t.exec(ctx, `INSERT INTO mail_threads (ticket_id, mailbox_id, address) VALUES ($1, $2, $3)
		ON CONFLICT (ticket_id) DO UPDATE SET mailbox_id = excluded.mailbox_id, address = excluded.address`, th.TicketID, th.MailboxID, text(th.Address))
	return err
}

func (t *q) ThreadOf(ctx context.Context, ticketID int64) (mailbox.Thread, error) {
	var th mailbox.Thread
	err := t.row(ctx, "SELECT ticket_id, mailbox_id, address FROM mail_threads WHERE ticket_id = $1", ticketID).Scan(&th.TicketID, &th.MailboxID, &th.Address)
	return th, notFound(err, "mail thread")
}

// ---- outbox

const outboundCols = `o.id, o.mailbox_id, COALESCE(o.ticket_id, 0), COALESCE(o.message_ref, 0), o.kind, o.auto, o.message_id, o.mail_from, o.rcpt_to,
	o.subject, o.state, o.attempts, o.next_at, o.claimed_by, o.last_error, o.created_at, o.sent_at, COALESCE(t.number, '')`

const outboundJoins = " FROM mail_out o LEFT JOIN tickets t ON t.id = o.ticket_id"

func scanOutbound(r interface{ Scan(...any) error }, extra ...any) (mailbox.Outbound, error) {
	var m mailbox.Outbound
	var rcpt, state string
	var next, c, s int64
	dst := []any{&m.ID, &m.MailboxID, &m.TicketID, &m.MessageRef, &m.Kind, &m.Auto, &m.MessageID, &m.From, &rcpt,
		&m.Subject, &state, &m.Attempts, &next, &m.ClaimedBy, &m.LastError, &c, &s, &m.TicketNumber}
	err := r.Scan(append(dst, extra...)...)
	m.To = strings.Split(rcpt, ",")
	m.State, m.NextAt, m.Created, m.Sent = mailbox.OutState(state), fromUS(next), fromUS(c), fromUS(s)
	return m, err
}

func (t *q) InsertOutbound(ctx context.Context, m *mailbox.Outbound) error {
	if m.State == "" {
		m.State = mailbox.OutPending
	}
	id, err := t.insert(ctx, `INSERT INTO mail_out (mailbox_id, ticket_id, message_ref, kind, auto, message_id, mail_from, rcpt_to, subject, raw, state,
		attempts, next_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $13)`,
		m.MailboxID, nullID(m.TicketID), nullID(m.MessageRef), m.Kind, m.Auto, m.MessageID, m.From, strings.Join(m.To, ","), text(m.Subject), m.Raw,
		string(m.State), us(m.NextAt), us(m.Created))
	if err != nil {
		return conflict(err, "message %s is already in the outbox", m.MessageID)
	}
	m.ID = id
	return nil
}

func (t *q) ClaimOutbound(ctx context.Context, holder string, now time.Time, lease time.Duration, limit int) ([]mailbox.Outbound, error) {
	lock := ""
	if t.db.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := t.query(ctx, `UPDATE mail_out SET state = 'sending', claimed_by = $1, next_at = $2, attempts = attempts + 1
		WHERE id IN (SELECT id FROM mail_out WHERE state IN ('pending', 'sending') AND next_at <= $3 ORDER BY next_at, id LIMIT $4`+lock+`)
		RETURNING id`, holder, us(now.Add(lease)), us(now), limit)
	ids, err := scanAll(rows, err, func(r *sql.Rows) (int64, error) {
		var id int64
		err := r.Scan(&id)
		return id, err
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := make([]mailbox.Outbound, 0, len(ids))
	for _, id := range ids {
		m, err := t.OutboundByID(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func (t *q) FinishOutbound(ctx context.Context, id int64, holder string, state mailbox.OutState, nextAt time.Time, lastError string, sent time.Time) (bool, error) {
	res, err := t.exec(ctx, `UPDATE mail_out SET state = $3, next_at = $4, last_error = $5, sent_at = $6, claimed_by = ''
		WHERE id = $1 AND claimed_by = $2 AND state = 'sending'`, id, holder, string(state), us(nextAt), text(lastError), us(sent))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (t *q) OutboundByMessageID(ctx context.Context, messageID string) (mailbox.Outbound, error) {
	var raw []byte
	m, err := scanOutbound(t.row(ctx, "SELECT "+outboundCols+", o.raw"+outboundJoins+" WHERE o.message_id = $1", text(messageID)), &raw)
	m.Raw = raw
	return m, notFound(err, "sent message")
}

func (t *q) OutboundByID(ctx context.Context, id int64) (mailbox.Outbound, error) {
	var raw []byte
	m, err := scanOutbound(t.row(ctx, "SELECT "+outboundCols+", o.raw"+outboundJoins+" WHERE o.id = $1", id), &raw)
	m.Raw = raw
	return m, notFound(err, "sent message")
}

func (t *q) Outbounds(ctx context.Context, ticketID int64, states []mailbox.OutState, before int64, limit int) ([]mailbox.Outbound, error) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if ticketID != 0 {
		conds = append(conds, "o.ticket_id = "+arg(ticketID))
	}
	if len(states) > 0 {
		var ph []string
		for _, s := range states {
			ph = append(ph, arg(string(s)))
		}
		conds = append(conds, "o.state IN ("+strings.Join(ph, ",")+")")
	}
	if before > 0 {
		conds = append(conds, "o.id < "+arg(before))
	}
	query := "SELECT " + outboundCols + outboundJoins
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := t.query(ctx, query+fmt.Sprintf(" ORDER BY o.id DESC LIMIT %d", limit), args...)
	return scanAll(rows, err, func(r *sql.Rows) (mailbox.Outbound, error) { return scanOutbound(r) })
}

func (t *q) InsertOutEvent(ctx context.Context, e *mailbox.OutEvent) error {
	id, err := t.insert(ctx, "INSERT INTO mail_out_events (out_id, in_id, kind, detail, at) VALUES ($1, $2, $3, $4, $5)",
		e.OutID, nullID(e.InID), e.Kind, text(e.Detail), us(e.At))
	e.ID = id
	return err
}

func (t *q) OutEvents(ctx context.Context, outID int64) ([]mailbox.OutEvent, error) {
	rows, err := t.query(ctx, "SELECT id, out_id, COALESCE(in_id, 0), kind, detail, at FROM mail_out_events WHERE out_id = $1 ORDER BY id", outID)
	return scanAll(rows, err, func(r *sql.Rows) (mailbox.OutEvent, error) {
		var e mailbox.OutEvent
		var at int64
		err := r.Scan(&e.ID, &e.OutID, &e.InID, &e.Kind, &e.Detail, &at)
		e.At = fromUS(at)
		return e, err
	})
}

func (t *q) SetOutboundState(ctx context.Context, id int64, state mailbox.OutState, lastError string) error {
	_, err := t.exec(ctx, "UPDATE mail_out SET state = $2, last_error = $3 WHERE id = $1", id, string(state), text(lastError))
	return err
}

func (t *q) CountAuto(ctx context.Context, rcpt string, since time.Time) (int, error) {
	var n int
	err := t.row(ctx, "SELECT COUNT(*) FROM mail_out WHERE rcpt_to = $1 AND auto = TRUE AND created_at >= $2", rcpt, us(since)).Scan(&n)
	return n, err
}

func (t *q) CountAutoMany(ctx context.Context, rcpts []string, since time.Time) (map[string]int, error) {
	out := map[string]int{}
	for len(rcpts) > 0 {
		chunk := rcpts[:min(len(rcpts), 200)]
		rcpts = rcpts[len(chunk):]
		args := []any{us(since)}
		for _, r := range chunk {
			args = append(args, r)
		}
		rows, err := t.query(ctx, "SELECT rcpt_to, COUNT(*) FROM mail_out WHERE rcpt_to IN ("+inList(2, len(chunk))+
			") AND auto = TRUE AND created_at >= $1 GROUP BY rcpt_to", args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var r string
			var n int
			if err := rows.Scan(&r, &n); err != nil {
				rows.Close()
				return nil, err
			}
			out[r] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *q) LastOutbound(ctx context.Context, ticketID int64, kind string) (mailbox.Outbound, error) {
	m, err := scanOutbound(t.row(ctx, "SELECT "+outboundCols+outboundJoins+" WHERE o.ticket_id = $1 AND o.kind = $2 ORDER BY o.id DESC LIMIT 1", ticketID, kind))
	return m, notFound(err, "sent message")
}

// ---- rules and directory

func (t *q) Rules(ctx context.Context, orgID int64) ([]route.Rule, error) {
	rows, err := t.query(ctx, "SELECT id, position, rule FROM mail_rules WHERE org_id = $1 ORDER BY position, id", orgID)
	return scanAll(rows, err, func(r *sql.Rows) (route.Rule, error) {
		var id int64
		var pos int
		var js string
		if err := r.Scan(&id, &pos, &js); err != nil {
			return route.Rule{}, err
		}
		var rule route.Rule
		if err := json.Unmarshal([]byte(js), &rule); err != nil {
			return route.Rule{}, fmt.Errorf("routing rule %d: %w", id, err)
		}
		rule.ID, rule.OrgID, rule.Position = id, orgID, pos
		return rule, nil
	})
}

func (t *q) ReplaceRules(ctx context.Context, orgID int64, rules []route.Rule, now time.Time) error {
	if _, err := t.exec(ctx, "DELETE FROM mail_rules WHERE org_id = $1", orgID); err != nil {
		return err
	}
	for i := range rules {
		r := rules[i]
		r.ID = 0
		js, err := json.Marshal(r)
		if err != nil {
			return err
		}
		id, err := t.insert(ctx, "INSERT INTO mail_rules (org_id, position, name, rule, updated_at) VALUES ($1, $2, $3, $4, $5)",
			orgID, i+1, text(r.Name), string(js), us(now))
		if err != nil {
			return err
		}
		rules[i].ID, rules[i].OrgID, rules[i].Position = id, orgID, i+1
	}
	return nil
}

func (t *q) PutOffice(ctx context.Context, o *route.Office, now time.Time) error {
	id, err := t.insert(ctx, `INSERT INTO office_directory (code, kind, province, name, pec, email, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (code) DO UPDATE SET kind = excluded.kind, province = excluded.province, name = excluded.name, pec = excluded.pec,
		email = excluded.email, updated_at = excluded.updated_at`,
		text(o.Code), text(o.Kind), text(o.Province), text(o.Name), text(o.PEC), text(o.Email), us(now))
	o.ID = id
	return err
}

func (t *q) DeleteOffice(ctx context.Context, code string) error {
	_, err := t.exec(ctx, "DELETE FROM office_directory WHERE code = $1", code)
	return err
}

func (t *q) Offices(ctx context.Context, kind string) ([]route.Office, error) {
	query := "SELECT id, code, kind, province, name, pec, email FROM office_directory"
	var args []any
	if kind != "" {
		query += " WHERE kind = $1"
		args = append(args, kind)
	}
	rows, err := t.query(ctx, query+" ORDER BY province, name", args...)
	return scanAll(rows, err, func(r *sql.Rows) (route.Office, error) {
		var o route.Office
		err := r.Scan(&o.ID, &o.Code, &o.Kind, &o.Province, &o.Name, &o.PEC, &o.Email)
		return o, err
	})
}

// ---- savepoints

func savepointName(name string) (string, error) {
	if name == "" || len(name) > 32 {
		return "", fmt.Errorf("bad savepoint name %q", name)
	}
	for _, r := range name {
		if !(r == '_' || r >= 'a' && r <= 'z') {
			return "", fmt.Errorf("bad savepoint name %q", name)
		}
	}
	return name, nil
}

func (t *q) Savepoint(ctx context.Context, name string) error {
	n, err := savepointName(name)
	if err != nil {
		return err
	}
	_, err = t.x.ExecContext(ctx, "SAVEPOINT "+n)
	return err
}

func (t *q) RollbackTo(ctx context.Context, name string) error {
	n, err := savepointName(name)
	if err != nil {
		return err
	}
	_, err = t.x.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+n)
	return err
}

func (t *q) Release(ctx context.Context, name string) error {
	n, err := savepointName(name)
	if err != nil {
		return err
	}
	_, err = t.x.ExecContext(ctx, "RELEASE SAVEPOINT "+n)
	return err
}
