package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/sportello/sportello/internal/desk"
)

// External identities and personal-data requests (migration 0100).

func (t *q) ExternalIdentity(ctx context.Context, source, subject string) (desk.ExternalIdentity, error) {
	e, err := scanIdentity(t.row(ctx, "SELECT "+identityCols+" FROM external_identities WHERE source = $1 AND subject = $2", source, subject))
	return e, notFound(err, "external identity")
}

const identityCols = "source, subject, user_id, department, groups, first_at, last_at"

func scanIdentity(r interface{ Scan(...any) error }) (desk.ExternalIdentity, error) {
	var e desk.ExternalIdentity
	var groups string
	var first, last int64
	err := r.Scan(&e.Source, &e.Subject, &e.UserID, &e.Department, &groups, &first, &last)
	e.Groups, e.First, e.Last = desk.SplitGroups(groups), fromUS(first), fromUS(last)
	return e, err
}

func (t *q) SaveExternalIdentity(ctx context.Context, e *desk.ExternalIdentity) error {
	_, err := t.exec(ctx, `INSERT INTO external_identities (source, subject, user_id, department, groups, first_at, last_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (source, subject) DO UPDATE SET user_id = excluded.user_id, department = excluded.department,
			groups = excluded.groups, last_at = excluded.last_at`,
		e.Source, e.Subject, e.UserID, e.Department, desk.JoinGroups(e.Groups), us(e.First), us(e.Last))
	return err
}

func (t *q) ExternalIdentities(ctx context.Context, userID int64) ([]desk.ExternalIdentity, error) {
	rows, err := t.query(ctx, "SELECT "+identityCols+" FROM external_identities WHERE user_id = $1 ORDER BY source, subject", userID)
	return scanAll(rows, err, func(r *sql.Rows) (desk.ExternalIdentity, error) { return scanIdentity(r) })
}

func (t *q) DeleteExternalIdentities(ctx context.Context, userID int64) (int, error) {
	res, err := t.exec(ctx, "DELETE FROM external_identities WHERE user_id = $1", userID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (t *q) MessagesByAuthor(ctx context.Context, userID int64, email string) ([]desk.Message, error) {
	rows, err := t.query(ctx, "SELECT "+messageCols+" FROM messages WHERE author_id = $1 OR (author_email <> '' AND author_email = $2) ORDER BY id",
		userID, desk.NormEmail(email))
	return scanAll(rows, err, func(r *sql.Rows) (desk.Message, error) { return scanMessage(r) })
}

func (t *q) PersonalMail(ctx context.Context, email string, ticketIDs []int64) ([]desk.PersonalMail, error) {
	email = desk.NormEmail(email)
	if email == "" {
		return nil, nil
	}
	rows, err := t.query(ctx, `SELECT i.id, b.address, b.pec, COALESCE(i.ticket_id, 0), i.from_addr, i.recipient, i.subject, i.size, i.received_at
		FROM mail_in i JOIN mailboxes b ON b.id = i.mailbox_id WHERE LOWER(i.from_addr) = $1 ORDER BY i.id`, email)
	in, err := scanAll(rows, err, func(r *sql.Rows) (desk.PersonalMail, error) {
		m := desk.PersonalMail{Direction: "in"}
		var at int64
		err := r.Scan(&m.ID, &m.Mailbox, &m.PEC, &m.TicketID, &m.From, &m.To, &m.Subject, &m.Size, &at)
		m.At = fromUS(at)
		return m, err
	})
	if err != nil {
		return nil, err
	}
	// rcpt_to is a comma-separated list: LIKE finds candidates (an
	// address may hold "_", LIKE's wildcard), Go keeps whole addresses.
	rows, err = t.query(ctx, `SELECT o.id, b.address, b.pec, COALESCE(o.ticket_id, 0), o.mail_from, o.rcpt_to, o.subject, LENGTH(o.raw), o.created_at, o.state
		FROM mail_out o JOIN mailboxes b ON b.id = o.mailbox_id
		WHERE LOWER(o.rcpt_to) LIKE $1 ORDER BY o.id`, "%"+email+"%")
	out, err := scanAll(rows, err, func(r *sql.Rows) (desk.PersonalMail, error) {
		m := desk.PersonalMail{Direction: "out"}
		var at int64
		err := r.Scan(&m.ID, &m.Mailbox, &m.PEC, &m.TicketID, &m.From, &m.To, &m.Subject, &m.Size, &at, &m.State)
		m.At = fromUS(at)
		return m, err
	})
	if err != nil {
		return nil, err
	}
	for _, m := range out {
		for _, a := range strings.Split(m.To, ",") {
			if desk.NormEmail(a) == email {
				in = append(in, m)
				break
			}
		}
	}
	// Mail on the person's tickets that carries their address elsewhere
	// (Cc, quoted text, a forward): found by reading those rows' bytes.
	seen := map[string]bool{}
	for _, m := range in {
		seen[m.Direction+strconv.FormatInt(m.ID, 10)] = true
	}
	needle := []byte(email)
	for start := 0; start < len(ticketIDs); start += 500 {
		ids := idList(ticketIDs[start:min(start+500, len(ticketIDs))])
		for _, dir := range []string{"in", "out"} {
			query := `SELECT i.id, b.address, b.pec, COALESCE(i.ticket_id, 0), i.from_addr, i.recipient, i.subject, i.size, i.received_at, '', i.raw
				FROM mail_in i JOIN mailboxes b ON b.id = i.mailbox_id WHERE i.ticket_id IN (` + ids + `) ORDER BY i.id`
			if dir == "out" {
				query = `SELECT o.id, b.address, b.pec, COALESCE(o.ticket_id, 0), o.mail_from, o.rcpt_to, o.subject, LENGTH(o.raw), o.created_at, o.state, o.raw
					FROM mail_out o JOIN mailboxes b ON b.id = o.mailbox_id WHERE o.ticket_id IN (` + ids + `) ORDER BY o.id`
			}
			rows, err := t.x.QueryContext(ctx, t.db.rebind(query))
			more, err := scanAll(rows, err, func(r *sql.Rows) (desk.PersonalMail, error) {
				m := desk.PersonalMail{Direction: dir}
				var at int64
				var raw []byte
				err := r.Scan(&m.ID, &m.Mailbox, &m.PEC, &m.TicketID, &m.From, &m.To, &m.Subject, &m.Size, &at, &m.State, &raw)
				m.At = fromUS(at)
				if !bytes.Contains(bytes.ToLower(raw), needle) {
					m.ID = 0
				}
				return m, err
			})
			if err != nil {
				return nil, err
			}
			for _, m := range more {
				if key := dir + strconv.FormatInt(m.ID, 10); m.ID != 0 && !seen[key] {
					seen[key] = true
					in = append(in, m)
				}
			}
		}
	}
	return in, nil
}

func (t *q) RedactTicket(ctx context.Context, r desk.RedactedTicket) error {
	_, err := t.exec(ctx, `UPDATE tickets SET subject = $2, description = $3, cause_text = $4,
		requester_email = $5, requester_name = $6, requester_phone = $7 WHERE id = $1`,
		r.ID, r.Subject, r.Description, r.Cause, r.Requester.Email, r.Requester.Name, r.Requester.Phone)
	return err
}

func (t *q) RedactMessage(ctx context.Context, m desk.RedactedMessage) error {
	_, err := t.exec(ctx, "UPDATE messages SET body = $2, author_name = $3, author_email = $4 WHERE id = $1",
		m.ID, m.Body, m.AuthorName, m.AuthorEmail)
	return err
}

var emptySHA = func() string { s := sha256.Sum256(nil); return hex.EncodeToString(s[:]) }()

func (t *q) RedactAttachment(ctx context.Context, id int64, marker string) (bool, error) {
	a, err := t.AttachmentByID(ctx, id)
	if err != nil {
		return false, err
	}
	if err := t.PutBlob(ctx, emptySHA, nil); err != nil {
		return false, err
	}
	if _, err := t.exec(ctx, "UPDATE attachments SET name = $2, sha256 = $3, size = 0 WHERE id = $1", id, marker, emptySHA); err != nil {
		return false, err
	}
	if a.SHA256 == emptySHA {
		return false, nil
	}
	res, err := t.exec(ctx, "DELETE FROM blobs WHERE sha256 = $1 AND NOT EXISTS (SELECT 1 FROM attachments WHERE sha256 = $1)", a.SHA256)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (t *q) RedactMail(ctx context.Context, direction string, id int64, marker string) error {
	var err error
	switch direction {
	case "in":
		_, err = t.exec(ctx, "UPDATE mail_in SET raw = $2, html = '', from_addr = $3, subject = $3 WHERE id = $1", id, []byte{}, marker)
	case "out":
		_, err = t.exec(ctx, `UPDATE mail_out SET raw = $2, rcpt_to = $3, subject = $3,
			state = CASE WHEN state IN ('pending', 'sending') THEN 'failed' ELSE state END,
			last_error = CASE WHEN state IN ('pending', 'sending') THEN 'not sent: personal data erased' ELSE last_error END
			WHERE id = $1`, id, []byte{}, marker)
	default:
		return desk.Errorf(desk.EInvalid, "unknown mail direction %q", direction)
	}
	return err
}

func (t *q) RedactSupplierContacts(ctx context.Context, needles []string, marker string) (int, error) {
	if len(needles) == 0 {
		return 0, nil
	}
	type call struct {
		id      int64
		contact string
	}
	var conds []string
	var args []any
	for i, n := range needles {
		conds = append(conds, "LOWER(contact) LIKE $"+strconv.Itoa(i+1))
		args = append(args, "%"+strings.ToLower(n)+"%")
	}
	rows, err := t.x.QueryContext(ctx, t.db.rebind("SELECT id, contact FROM supplier_calls WHERE "+strings.Join(conds, " OR ")), args...)
	calls, err := scanAll(rows, err, func(r *sql.Rows) (call, error) {
		var c call
		return c, r.Scan(&c.id, &c.contact)
	})
	if err != nil {
		return 0, err
	}
	for _, c := range calls {
		if _, err := t.exec(ctx, "UPDATE supplier_calls SET contact = $2 WHERE id = $1", c.id, marker); err != nil {
			return 0, err
		}
	}
	return len(calls), nil
}

func (t *q) InsertRedaction(ctx context.Context, r *desk.Redaction, exempt []desk.Exemption) error {
	id, err := t.insert(ctx, "INSERT INTO redactions (user_id, actor_id, at, summary) VALUES ($1, $2, $3, $4)",
		r.UserID, nullID(r.ActorID), us(r.At), r.Summary)
	if err != nil {
		return err
	}
	r.ID = id
	for _, e := range exempt {
		if _, err := t.exec(ctx, `INSERT INTO privacy_exempt (redaction_id, kind, ref_id, reason) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`, id, e.Kind, e.RefID, e.Reason); err != nil {
			return err
		}
	}
	return nil
}

func (t *q) Redactions(ctx context.Context, userID int64) ([]desk.Redaction, error) {
	rows, err := t.query(ctx, "SELECT id, user_id, COALESCE(actor_id, 0), at, summary FROM redactions WHERE user_id = $1 ORDER BY id", userID)
	return scanAll(rows, err, func(r *sql.Rows) (desk.Redaction, error) {
		var x desk.Redaction
		var at int64
		err := r.Scan(&x.ID, &x.UserID, &x.ActorID, &at, &x.Summary)
		x.At = fromUS(at)
		return x, err
	})
}

func (t *q) Exemptions(ctx context.Context, redactionID int64) ([]desk.Exemption, error) {
	rows, err := t.query(ctx, "SELECT kind, ref_id, reason FROM privacy_exempt WHERE redaction_id = $1 ORDER BY kind, ref_id", redactionID)
	return scanAll(rows, err, func(r *sql.Rows) (desk.Exemption, error) {
		var e desk.Exemption
		return e, r.Scan(&e.Kind, &e.RefID, &e.Reason)
	})
}
