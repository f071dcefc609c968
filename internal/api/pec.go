package api

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/mailbox"
)

// PECService is the PEC channel as the API needs it (implemented by
// mail.PECService). Without one the PEC routes answer 404.
type PECService interface {
	TicketPEC(ctx context.Context, a desk.Actor, number string) (mailbox.TicketPEC, error)
	Evidence(ctx context.Context, a desk.Actor, number string, id int64) (mailbox.Inbound, mailbox.PECCert, error)
	Alerts(ctx context.Context, a desk.Actor, mine bool, limit int) ([]mailbox.PECAlert, error)
}

// PECCert is the certification data of a PEC message or receipt in JSON.
type PECCert struct {
	ID          int64             `json:"id"`
	Kind        string            `json:"kind"`
	Tipo        string            `json:"tipo"`
	Certified   bool              `json:"certified"`
	Sender      string            `json:"sender"`
	Daticert    *mailbox.Daticert `json:"daticert"`
	Signed      bool              `json:"signed"`
	Signature   string            `json:"signature"`
	Signer      string            `json:"signer,omitempty"`
	SigError    string            `json:"signature_error,omitempty"`
	SHA256      string            `json:"sha256"`
	ReceivedAt  time.Time         `json:"received_at"`
	EvidenceURL string            `json:"evidence_url"`
}

// PECDelivery is the delivery state of a sent PEC message for a recipient.
type PECDelivery struct {
	Recipient string    `json:"recipient"`
	State     string    `json:"state"`
	Detail    string    `json:"detail"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PECSent is a message sent through a PEC mailbox with its receipts.
type PECSent struct {
	MessageID  string        `json:"message_id"`
	Kind       string        `json:"kind"`
	Subject    string        `json:"subject"`
	From       string        `json:"from"`
	Status     string        `json:"status"`
	CreatedAt  time.Time     `json:"created_at"`
	SentAt     *time.Time    `json:"sent_at"`
	Error      string        `json:"error,omitempty"`
	Deliveries []PECDelivery `json:"deliveries"`
	Receipts   []int64       `json:"receipts"`
}

// PECAlert is a delivery alert in JSON.
type PECAlert struct {
	ID        int64     `json:"id"`
	Ticket    string    `json:"ticket"`
	Subject   string    `json:"subject"`
	Kind      string    `json:"kind"`
	Recipient string    `json:"recipient"`
	Detail    string    `json:"detail"`
	CreatedAt time.Time `json:"created_at"`
}

// TicketPEC is the PEC data of a ticket in JSON.
type TicketPEC struct {
	PEC             bool       `json:"pec"`
	CertifiedSender string     `json:"certified_sender"`
	Messages        []PECCert  `json:"messages"`
	Sent            []PECSent  `json:"sent"`
	Alerts          []PECAlert `json:"alerts"`
}

func pecAlertJSON(a mailbox.PECAlert) PECAlert {
	return PECAlert{ID: a.ID, Ticket: a.TicketNumber, Subject: a.Subject, Kind: a.Kind, Recipient: a.Recipient, Detail: a.Detail, CreatedAt: a.Created}
}

// EvidenceURL is where the raw signed message of a PEC message or receipt
// of a ticket is downloaded.
func EvidenceURL(number string, id int64) string {
	return fmt.Sprintf("/api/v1/tickets/%s/pec/evidence/%d", number, id)
}

// TicketPECJSON converts a ticket's PEC data (shared with the web UI).
func TicketPECJSON(number string, tp mailbox.TicketPEC) TicketPEC {
	out := TicketPEC{PEC: tp.PEC, CertifiedSender: tp.CertifiedSender, Messages: []PECCert{}, Sent: []PECSent{}, Alerts: []PECAlert{}}
	for _, c := range tp.Certs {
		sig := c.SigStatus
		switch {
		case !c.Signed:
			sig = "unsigned"
		case sig == "":
			sig = "not_verified"
		}
		out.Messages = append(out.Messages, PECCert{ID: c.InID, Kind: c.Kind, Tipo: c.Tipo, Certified: c.Certified(), Sender: c.Sender,
			Daticert: c.Daticert, Signed: c.Signed, Signature: sig, Signer: c.SigSigner, SigError: c.SigError, SHA256: c.SHA256,
			ReceivedAt: c.Received, EvidenceURL: EvidenceURL(number, c.InID)})
	}
	for _, s := range tp.Sent {
		o := s.Outbound
		ps := PECSent{MessageID: o.MessageID, Kind: o.Kind, Subject: o.Subject, From: o.From, Status: s.Status(), CreatedAt: o.Created,
			Error: o.LastError, Deliveries: []PECDelivery{}, Receipts: s.Receipts}
		if ps.Receipts == nil {
			ps.Receipts = []int64{}
		}
		if !o.Sent.IsZero() {
			t := o.Sent
			ps.SentAt = &t
		}
		for _, d := range s.Deliveries {
			ps.Deliveries = append(ps.Deliveries, PECDelivery{Recipient: d.Recipient, State: string(d.State), Detail: d.Detail, UpdatedAt: d.Updated})
		}
		out.Sent = append(out.Sent, ps)
	}
	for _, a := range tp.Alerts {
		out.Alerts = append(out.Alerts, pecAlertJSON(a))
	}
	return out
}

func (a *API) pecService() (PECService, error) {
	if a.pec == nil {
		return nil, desk.Errorf(desk.ENotFound, "the PEC channel is not enabled on this server")
	}
	return a.pec, nil
}

func (a *API) ticketPEC(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	svc, err := a.pecService()
	if err != nil {
		return err
	}
	number := r.PathValue("number")
	tp, err := svc.TicketPEC(r.Context(), actor, number)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, TicketPECJSON(number, tp))
	return nil
}

func (a *API) pecEvidence(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	svc, err := a.pecService()
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return desk.Errorf(desk.ENotFound, "PEC message not found")
	}
	number := r.PathValue("number")
	in, cert, err := svc.Evidence(r.Context(), actor, number, id)
	if err != nil {
		return err
	}
	ServeEvidence(w, number, in, cert)
	return nil
}

// ServeEvidence writes the raw signed message as a .eml download, exactly
// as received, with its SHA-256 (shared with the web UI).
func ServeEvidence(w http.ResponseWriter, number string, in mailbox.Inbound, cert mailbox.PECCert) {
	name := fmt.Sprintf("pec-%s-%d-%s.eml", number, in.ID, cert.Kind)
	if cert.Tipo != "" && cert.Kind == "receipt" {
		name = fmt.Sprintf("pec-%s-%d-%s.eml", number, in.ID, cert.Tipo)
	}
	h := w.Header()
	h.Set("Content-Type", "message/rfc822")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Content-SHA256", in.SHA256)
	h.Set("Content-Length", strconv.Itoa(len(in.Raw)))
	_, _ = w.Write(in.Raw)
}

func (a *API) pecAlerts(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	svc, err := a.pecService()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	mine := false
	switch q.Get("mine") {
	case "", "false", "0":
	case "true", "1":
		mine = true
	default:
		return desk.FieldError("mine", "mine must be true or false")
	}
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return desk.FieldError("limit", "limit must be between 1 and 500")
		}
		limit = n
	}
	alerts, err := svc.Alerts(r.Context(), actor, mine, limit)
	if err != nil {
		return err
	}
	out := struct {
		Items []PECAlert `json:"items"`
	}{Items: []PECAlert{}}
	for _, al := range alerts {
		out.Items = append(out.Items, pecAlertJSON(al))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Mailbox is a connected mailbox in JSON (never with its passwords).
type Mailbox struct {
	Address     string     `json:"address"`
	Org         string     `json:"organisation"`
	PEC         bool       `json:"pec"`
	IMAP        string     `json:"imap"`
	SMTP        string     `json:"smtp"`
	Folder      string     `json:"folder"`
	MoveTo      string     `json:"move_to,omitempty"`
	Active      bool       `json:"active"`
	LastOK      *time.Time `json:"last_ok_at"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
}

// mailboxes lists the connected mailboxes an administrator may see, with
// their PEC flag and health; passwords never appear (endpoints print
// without them). Connecting one is `sportello mailbox add … [--pec]`.
func (a *API) mailboxes(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	var orgs map[int64]bool
	switch {
	case actor.System || actor.InstallationAdmin:
	case actor.Role == desk.RoleAdmin && actor.OrgID != 0:
		orgs = map[int64]bool{actor.OrgID: true}
	default:
		return desk.Errorf(desk.EForbidden, "only administrators see the mailboxes")
	}
	out := struct {
		Items []Mailbox `json:"items"`
	}{Items: []Mailbox{}}
	err := mailbox.View(r.Context(), a.desk.Store(), func(tx mailbox.Tx) error {
		all, err := tx.Mailboxes(r.Context(), true)
		if err != nil {
			return err
		}
		codes := map[int64]string{}
		for _, m := range all {
			if orgs != nil && !orgs[m.OrgID] {
				continue
			}
			if _, ok := codes[m.OrgID]; !ok {
				o, err := tx.OrgByID(r.Context(), m.OrgID)
				if err != nil {
					return err
				}
				codes[m.OrgID] = o.Code
			}
			mb := Mailbox{Address: m.Address, Org: codes[m.OrgID], PEC: m.PEC, IMAP: m.IMAP.String(), SMTP: m.SMTP.String(),
				Folder: m.Folder, MoveTo: m.MoveTo, Active: m.Active, LastError: m.Health.LastError}
			if t := m.Health.LastOK; !t.IsZero() {
				mb.LastOK = &t
			}
			if t := m.Health.LastErrorAt; !t.IsZero() {
				mb.LastErrorAt = &t
			}
			out.Items = append(out.Items, mb)
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
