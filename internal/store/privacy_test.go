package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/store/storetest"
)

func TestErasePersonSQLite(t *testing.T)   { testErasePerson(t, storetest.OpenSQLite) }
func TestErasePersonPostgres(t *testing.T) { testErasePerson(t, storetest.OpenPostgres) }

var dollar = regexp.MustCompile(`\$(\d+)`)

func execSQL(t *testing.T, db *store.DB, q string, args ...any) int64 {
	t.Helper()
	if db.Dialect() == store.SQLite {
		q = dollar.ReplaceAllString(q, "?$1")
	}
	var id int64
	if err := db.SQL().QueryRow(q+" RETURNING id", args...).Scan(&id); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return id
}

// textColumns lists every text and binary column of the database's own
// tables (not the search index's internals, which are checked by searching).
func textColumns(t *testing.T, db *store.DB) map[string][]string {
	t.Helper()
	cols := map[string][]string{}
	var rows *sql.Rows
	var err error
	if db.Dialect() == store.Postgres {
		rows, err = db.SQL().Query(`SELECT table_name, column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND data_type IN ('text', 'bytea', 'character varying')`)
	} else {
		rows, err = db.SQL().Query(`SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE 'ticket_fts%' AND (p.type IN ('TEXT', 'BLOB', ''))`)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var tb, c string
		if err := rows.Scan(&tb, &c); err != nil {
			t.Fatal(err)
		}
		cols[tb] = append(cols[tb], c)
	}
	return cols
}

// findAnywhere returns "table.column (id)" for every value holding one of
// the needles (case-insensitive), outside the rows in skip.
func findAnywhere(t *testing.T, db *store.DB, needles []string, skip map[string]bool) []string {
	t.Helper()
	var found []string
	for table, cols := range textColumns(t, db) {
		for _, c := range cols {
			rows, err := db.SQL().Query(fmt.Sprintf("SELECT %s FROM %s", c, table))
			if err != nil {
				t.Fatalf("%s.%s: %v", table, c, err)
			}
			for rows.Next() {
				var v []byte
				if err := rows.Scan(&v); err != nil {
					t.Fatal(err)
				}
				low := strings.ToLower(string(v))
				for _, n := range needles {
					if strings.Contains(low, strings.ToLower(n)) && !skip[table] {
						found = append(found, fmt.Sprintf("%s.%s holds %q", table, c, n))
					}
				}
			}
			rows.Close()
		}
	}
	slices.Sort(found)
	return found
}

// testErasePerson: a requester's data is exported, then erased; tickets,
// history and the maintained statistics stay; the person's name, e-mail and
// phone are found nowhere (search included) except the PEC evidence the law
// requires to keep, which is listed as exempt.
func testErasePerson(t *testing.T, open func(testing.TB) *store.DB) {
	ctx := context.Background()
	db := open(t)
	f := storetest.NewFixture(t, db)
	d := f.Desk
	ugo, err := d.EnsureUser(ctx, desk.NewUser{Email: "utente@example.it", Name: "Ugo Fantozzi", Phone: "0831 565353", Role: desk.RoleRequester})
	if err != nil {
		t.Fatal(err)
	}
	req := desk.ActorFor(ugo)
	t1 := f.Create(t, req, desk.NewTicket{Subject: "Stampante bloccata", Description: "Sono Ugo Fantozzi, stanza 12, tel. 0831-565353.",
		Channel: desk.ChannelWeb, Service: "stampanti", Attachments: []desk.NewAttachment{{Name: "foto-fantozzi.jpg", ContentType: "image/jpeg", Data: []byte("JPEG di Fantozzi")}}})
	if _, err := d.AddMessage(ctx, f.Agent, t1.Number, desk.NewMessage{Body: "Gentile Ugo Fantozzi, passiamo domani. La richiamiamo al 0831.565353."}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddMessage(ctx, req, t1.Number, desk.NewMessage{Body: "Grazie, sono in ufficio fino alle 14.",
		Attachments: []desk.NewAttachment{{Name: "log.txt", Data: []byte("log privato di utente@example.it")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddMessage(ctx, f.Agent, t1.Number, desk.NewMessage{Body: "Toner sostituito.", Internal: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Transition(ctx, f.Agent, t1.Number, desk.TransitionInput{To: desk.StatusResolved}); err != nil {
		t.Fatal(err)
	}
	// Registered by an agent during a phone call.
	t2 := f.Create(t, f.Agent, desk.NewTicket{Subject: "Password scaduta", Description: "Chiama Ugo Fantozzi dal 0831 565353.", Channel: desk.ChannelPhone,
		Requester: desk.Contact{Email: "utente@example.it", Name: "Ugo Fantozzi", Phone: "0831 565353"}})
	// Arrived by PEC: its certified envelope is evidence the law keeps.
	t3 := f.Create(t, desk.SystemActor, desk.NewTicket{Subject: "Istanza via PEC", Description: "Istanza di Ugo Fantozzi.", Channel: desk.ChannelPEC,
		Requester:   desk.Contact{Email: "utente@example.it", Name: "Ugo Fantozzi"},
		Attachments: []desk.NewAttachment{{Name: "daticert.xml", ContentType: "application/xml", Data: []byte("<postacert>utente@example.it</postacert>")}}})
	// Someone else's ticket, which nothing may touch.
	other := f.Create(t, f.Other, desk.NewTicket{Subject: "Monitor sfarfallante", Description: "Il monitor sfarfalla.", Channel: desk.ChannelWeb})

	// Mail: one received from Ugo, one sent to him, one still queued, and
	// one received on the PEC mailbox.
	now := f.Clock.Now().UnixMicro()
	org := f.Agent.OrgID
	mb := execSQL(t, db, `INSERT INTO mailboxes (org_id, address, imap_url, smtp_url, pec, created_at, updated_at) VALUES ($1, 'desk@example.it', 'imap://x', 'smtp://x', FALSE, $2, $2)`, org, now)
	pec := execSQL(t, db, `INSERT INTO mailboxes (org_id, address, imap_url, smtp_url, pec, created_at, updated_at) VALUES ($1, 'desk@pec.example.it', 'imaps://x', 'smtps://x', TRUE, $2, $2)`, org, now)
	in1 := execSQL(t, db, `INSERT INTO mail_in (mailbox_id, uid_validity, uid, sha256, size, raw, from_addr, recipient, subject, outcome, ticket_id, received_at)
		VALUES ($1, 1, 1, 'x', 40, $2, 'utente@example.it', 'desk@example.it', 'Stampante - Ugo Fantozzi', 'ticket', $3, $4)`, mb, []byte("From: Ugo Fantozzi <utente@example.it>\r\n\r\nciao"), t1.ID, now)
	inPEC := execSQL(t, db, `INSERT INTO mail_in (mailbox_id, uid_validity, uid, sha256, size, raw, from_addr, recipient, subject, outcome, ticket_id, received_at)
		VALUES ($1, 1, 2, 'y', 40, $2, 'utente@example.it', 'desk@pec.example.it', 'POSTA CERTIFICATA: Istanza', 'ticket', $3, $4)`, pec, []byte("From: Ugo Fantozzi <utente@example.it>\r\n\r\nistanza"), t3.ID, now)
	out1 := execSQL(t, db, `INSERT INTO mail_out (mailbox_id, ticket_id, kind, message_id, mail_from, rcpt_to, subject, raw, state, next_at, created_at, sent_at)
		VALUES ($1, $2, 'reply', '<a@x>', 'desk@example.it', 'utente@example.it', 'Re: Stampante', $3, 'sent', 0, $4, $4)`, mb, t1.ID, []byte("To: Ugo Fantozzi <utente@example.it>\r\n\r\nGentile Ugo Fantozzi"), now)
	out2 := execSQL(t, db, `INSERT INTO mail_out (mailbox_id, ticket_id, kind, message_id, mail_from, rcpt_to, subject, raw, state, next_at, created_at)
		VALUES ($1, $2, 'resolved', '<b@x>', 'desk@example.it', 'capo@example.it,utente@example.it', 'Risolto', $3, 'pending', 0, $4)`, mb, t1.ID, []byte("To: utente@example.it\r\n\r\nrisolto"), now)
	// The PEC message's certification data, and the protocol number the
	// request was registered under: evidence and references the law keeps.
	execSQLNoID(t, db, `INSERT INTO pec_messages (in_id, ticket_id, kind, tipo, sender, daticert, sha256, received_at)
		VALUES ($1, $2, 'transport', 'posta-certificata', 'utente@example.it', '{"mittente":"utente@example.it"}', 'y', $3)`, inPEC, t3.ID, now)
	if err := db.Update(ctx, func(tx desk.Tx) error {
		return tx.SetTicketProtocol(ctx, t3.ID, "PROT-2026-0042", f.Clock.Now())
	}); err != nil {
		t.Fatal(err)
	}
	// A colleague's message on Ugo's ticket with him in Cc, and one that
	// does not name him (which stays as it is).
	inCc := execSQL(t, db, `INSERT INTO mail_in (mailbox_id, uid_validity, uid, sha256, size, raw, from_addr, recipient, subject, outcome, ticket_id, received_at)
		VALUES ($1, 1, 3, 'z', 40, $2, 'capo@example.it', 'desk@example.it', 'Re: Stampante', 'ticket', $3, $4)`, mb, []byte("From: capo@example.it\r\nCc: UTENTE@example.it\r\n\r\nsollecito"), t1.ID, now)
	inOther := execSQL(t, db, `INSERT INTO mail_in (mailbox_id, uid_validity, uid, sha256, size, raw, from_addr, recipient, subject, outcome, ticket_id, received_at)
		VALUES ($1, 1, 4, 'w', 40, $2, 'capo@example.it', 'desk@example.it', 'Re: Stampante', 'ticket', $3, $4)`, mb, []byte("From: capo@example.it\r\n\r\nse ne occupa il secondo livello"), t1.ID, now)
	execSQL(t, db, `INSERT INTO supplier_calls (ticket_id, supplier, contact, called_at) VALUES ($1, 'Stampe Srl', 'Ugo Fantozzi, 0831 565353', $2)`, t1.ID, now)
	// A token Ugo could still use.
	tok, _, err := d.CreateToken(ctx, ugo.ID, "script", 0)
	if err != nil {
		t.Fatal(err)
	}

	// The export holds everything.
	p, err := d.PersonalData(ctx, f.Admin, "utente@example.it")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tickets) != 3 || len(p.Messages) != 1 || len(p.Attachments) != 3 || len(p.Mail) != 5 || p.User.Phone != "0831 565353" {
		t.Fatalf("export: %d tickets, %d messages, %d attachments, %d mails", len(p.Tickets), len(p.Messages), len(p.Attachments), len(p.Mail))
	}
	// Only administrators of the person's organisation may ask.
	if _, err := d.PersonalData(ctx, f.Agent, "utente@example.it"); desk.ErrorCode(err) != desk.ENotFound {
		t.Fatalf("agent export: %v", err)
	}
	if _, err := d.ErasePerson(ctx, f.Outsider, "utente@example.it"); desk.ErrorCode(err) != desk.ENotFound {
		t.Fatalf("outsider erase: %v", err)
	}
	if _, err := d.ErasePerson(ctx, f.Admin, "admin@example.it"); desk.ErrorCode(err) != desk.EForbidden {
		t.Fatalf("self-erasure: %v", err)
	}

	countsBefore := counts(t, db)
	rows := map[string]int{}
	for _, tb := range []string{"tickets", "messages", "attachments", "events", "mail_in", "mail_out", "approvals", "users"} {
		rows[tb] = f.Count(t, tb)
	}
	otherBefore, err := d.Ticket(ctx, f.Admin, other.Number)
	if err != nil {
		t.Fatal(err)
	}
	if page, _ := d.ListTickets(ctx, f.Admin, desk.ListQuery{Text: "Fantozzi"}); len(page.Items) != 3 {
		t.Fatalf("before: search finds %d tickets", len(page.Items))
	}

	rep, err := d.ErasePerson(ctx, f.Admin, "utente@example.it")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Tickets != 3 || rep.Messages != 1 || rep.OtherMessages != 1 || rep.Attachments != 2 || rep.BlobsDeleted != 2 ||
		rep.MailIn != 2 || rep.MailOut != 2 || rep.SupplierCalls != 1 || rep.Tokens != 1 || len(rep.Exempt) != 3 {
		t.Fatalf("report %+v", rep)
	}
	var kinds []string
	for _, e := range rep.Exempt {
		kinds = append(kinds, fmt.Sprintf("%s:%d", e.Kind, e.RefID))
	}
	slices.Sort(kinds)
	if strings.Join(kinds, " ") != fmt.Sprintf("attachment:%d mail_in:%d protocol:%d", firstAttachment(t, db, t3.ID), inPEC, t3.ID) {
		t.Fatalf("exempt %v", kinds)
	}

	// Statistics, tickets and the shape of history are intact: the same
	// counters, the same rows, one history entry per ticket saying a
	// redaction happened.
	if after := counts(t, db); !slices.Equal(after, countsBefore) {
		t.Fatalf("counters changed:\n%v\n%v", countsBefore, after)
	}
	for tb, n := range rows {
		want := n
		if tb == "events" {
			want = n + 3
		}
		if got := f.Count(t, tb); got != want {
			t.Errorf("%s: %d rows, want %d", tb, got, want)
		}
	}
	for _, k := range []desk.Ticket{t1, t2, t3} {
		got, err := d.Ticket(ctx, f.Admin, k.Number)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != map[string]desk.Status{t1.Number: desk.StatusResolved}[k.Number] && got.Status != desk.StatusNew && got.Status != desk.StatusOpen {
			t.Errorf("%s: status %s", k.Number, got.Status)
		}
		if got.QueueID != k.QueueID || got.ServiceID != k.ServiceID || got.Channel != k.Channel || !got.Created.Equal(k.Created) || got.RequesterID != ugo.ID {
			t.Errorf("%s changed beyond its personal data: %+v", k.Number, got)
		}
		if got.Requester.Name != desk.RedactedMarker || got.Requester.Email != "" || got.Description != desk.RedactedMarker {
			t.Errorf("%s: requester %+v, description %q", k.Number, got.Requester, got.Description)
		}
		evs, err := func() (evs []desk.Event, err error) {
			err = db.View(ctx, func(tx desk.Tx) error { evs, err = tx.Events(ctx, k.ID); return err })
			return
		}()
		if err != nil || evs[len(evs)-1].Field != "redaction" || evs[len(evs)-1].New != fmt.Sprintf("personal data of user:%d", ugo.ID) {
			t.Errorf("%s: last event %+v %v", k.Number, evs[len(evs)-1], err)
		}
	}
	if otherAfter, _ := d.Ticket(ctx, f.Admin, other.Number); otherAfter.Description != otherBefore.Description || otherAfter.Requester != otherBefore.Requester {
		t.Fatal("another person's ticket changed")
	}

	// Nothing of Ugo is left: not his name, e-mail, phone or files,
	// anywhere in the database, except the PEC evidence (kept, exempt)
	// and the audit log (the record of who did what, append-only).
	needles := []string{"Fantozzi", "utente@example.it", "565353", "JPEG di Fantozzi", "log privato"}
	found := findAnywhere(t, db, needles, map[string]bool{"audit_log": true})
	var unexpected []string
	for _, s := range found {
		if !strings.HasPrefix(s, "mail_in.") && !strings.HasPrefix(s, "blobs.") && !strings.HasPrefix(s, "pec_messages.") {
			unexpected = append(unexpected, s)
		}
	}
	if len(unexpected) > 0 {
		t.Fatalf("personal data left after erasure:\n%s", strings.Join(unexpected, "\n"))
	}
	// What remains in mail_in and blobs is exactly the PEC evidence.
	var raw1, rawPEC []byte
	_ = db.SQL().QueryRow(rebindQ(db, "SELECT raw FROM mail_in WHERE id = $1"), in1).Scan(&raw1)
	_ = db.SQL().QueryRow(rebindQ(db, "SELECT raw FROM mail_in WHERE id = $1"), inPEC).Scan(&rawPEC)
	if len(raw1) != 0 || !strings.Contains(string(rawPEC), "Fantozzi") {
		t.Fatalf("mail_in: ordinary raw %q, PEC raw %q", raw1, rawPEC)
	}
	var rawCc, rawOther []byte
	_ = db.SQL().QueryRow(rebindQ(db, "SELECT raw FROM mail_in WHERE id = $1"), inCc).Scan(&rawCc)
	_ = db.SQL().QueryRow(rebindQ(db, "SELECT raw FROM mail_in WHERE id = $1"), inOther).Scan(&rawOther)
	if len(rawCc) != 0 || !strings.Contains(string(rawOther), "secondo livello") {
		t.Fatalf("colleagues' mail: with Ugo in Cc %q, without %q", rawCc, rawOther)
	}
	var protocol string
	_ = db.SQL().QueryRow(rebindQ(db, "SELECT protocol FROM ticket_protocol WHERE ticket_id = $1"), t3.ID).Scan(&protocol)
	if protocol != "PROT-2026-0042" {
		t.Fatalf("protocol reference lost: %q", protocol)
	}
	var state string
	_ = db.SQL().QueryRow(rebindQ(db, "SELECT state FROM mail_out WHERE id = $1"), out2).Scan(&state)
	if state != "failed" {
		t.Fatalf("a queued message to the erased person would still be sent: %s", state)
	}
	_ = out1
	// Search no longer finds him either.
	for _, q := range []string{"Fantozzi", "565353", "fantozzi"} {
		if page, err := d.ListTickets(ctx, f.Admin, desk.ListQuery{Text: q}); err != nil || len(page.Items) != 0 {
			t.Fatalf("search %q after erasure: %d tickets %v", q, len(page.Items), err)
		}
	}
	if page, _ := d.ListTickets(ctx, f.Admin, desk.ListQuery{Text: "Stampante"}); len(page.Items) != 1 {
		t.Fatalf("the ticket's subject is still searchable: %d", len(page.Items))
	}
	// The account is disabled, its token dead; the export now shows the
	// erasure and the exemptions.
	if _, err := d.TokenActor(ctx, tok); desk.ErrorCode(err) != desk.EUnauthorized {
		t.Fatalf("token after erasure: %v", err)
	}
	if _, err := d.Authenticate(ctx, "utente@example.it", "anything"); desk.ErrorCode(err) != desk.EUnauthorized {
		t.Fatal("erased person can log in")
	}
	p2, err := d.PersonalData(ctx, f.Admin, fmt.Sprintf("user:%d", ugo.ID))
	if err != nil {
		t.Fatal(err)
	}
	if !p2.User.Redacted || p2.User.Active || len(p2.Redactions) != 1 || len(p2.Exemptions) != 3 {
		t.Fatalf("after: %+v", p2)
	}
	log, err := d.AuditLog(ctx, f.Admin, desk.AuditFilter{Action: "redact"})
	if err != nil || len(log) != 1 || log[0].Target != fmt.Sprintf("user:%d", ugo.ID) {
		t.Fatalf("erasure not audited: %+v %v", log, err)
	}
	// Erasing again is harmless.
	if _, err := d.ErasePerson(ctx, f.Admin, fmt.Sprintf("user:%d", ugo.ID)); err != nil {
		t.Fatal(err)
	}
	if after := counts(t, db); !slices.Equal(after, countsBefore) {
		t.Fatal("counters changed at the second erasure")
	}
}

func execSQLNoID(t *testing.T, db *store.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.SQL().Exec(rebindQ(db, q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// firstAttachment returns the id of the ticket's first attachment (the PEC one).
func firstAttachment(t *testing.T, db *store.DB, ticketID int64) int64 {
	t.Helper()
	var id int64
	if err := db.SQL().QueryRow(rebindQ(db, "SELECT MIN(id) FROM attachments WHERE ticket_id = $1"), ticketID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func rebindQ(db *store.DB, q string) string {
	if db.Dialect() == store.SQLite {
		return dollar.ReplaceAllString(q, "?$1")
	}
	return q
}

// counts renders every maintained statistic for comparison: the queue
// counters, and the dashboard's open and daily statistics (shards summed).
func counts(t *testing.T, db *store.DB) []string {
	t.Helper()
	var out []string
	for _, q := range []string{
		"SELECT 'open', org_id, status, channel, service_id, queue_id, SUM(n) FROM stat_open GROUP BY org_id, status, channel, service_id, queue_id",
		"SELECT 'daily', org_id, day, channel, service_id, queue_id, SUM(opened), SUM(responded), SUM(resolved), SUM(response_secs), SUM(resolution_secs) " +
			"FROM stat_daily GROUP BY org_id, day, channel, service_id, queue_id",
	} {
		rows, err := db.SQL().Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%v/", v)
			}
			out = append(out, b.String())
		}
		rows.Close()
	}
	if len(out) == 0 {
		t.Fatal("no dashboard statistics to compare")
	}
	err := db.View(context.Background(), func(tx desk.Tx) error {
		cs, err := tx.CountTickets(context.Background(), nil)
		for _, c := range cs {
			out = append(out, fmt.Sprintf("%d/%d/%s=%d", c.OrgID, c.QueueID, c.Status, c.N))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
