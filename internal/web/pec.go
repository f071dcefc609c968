package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sportello/sportello/internal/api"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/mailbox"
)

// The PEC channel on the ticket page: the "PEC" badge and certified
// sender, the certification data of each PEC message and receipt with its
// evidence download, the delivery state of each reply sent by PEC per
// recipient, and the delivery alerts. Data comes from Opts.PEC.

// pecView is what the ticket page shows of the PEC channel.
type pecView struct {
	mailbox.TicketPEC
	Number string
}

// EvidenceURL is the workspace download of a message's raw signed bytes.
func (v *pecView) EvidenceURL(id int64) string {
	return fmt.Sprintf("/operatore/ticket/%s/pec/%d", v.Number, id)
}

// Has reports whether there is anything to show.
func (v *pecView) Has() bool {
	return v != nil && (len(v.Certs) > 0 || len(v.Sent) > 0 || len(v.Alerts) > 0)
}

// ticketPEC loads the PEC data of a ticket (nil without the PEC channel;
// an error is logged and the page shows without it).
func (w *Web) ticketPEC(ctx context.Context, a desk.Actor, number string) *pecView {
	if w.pec == nil {
		return nil
	}
	tp, err := w.pec.TicketPEC(ctx, a, number)
	if err != nil {
		w.log.Warn("web: PEC data", "ticket", number, "err", err)
		return nil
	}
	return &pecView{TicketPEC: tp, Number: number}
}

// pecEvidence downloads the raw signed message of a PEC message or
// receipt of a ticket, authorised like the ticket.
func (w *Web) pecEvidence(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if w.pec == nil {
		return desk.Errorf(desk.ENotFound, "the PEC channel is not enabled")
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return desk.Errorf(desk.ENotFound, "PEC message not found")
	}
	number := r.PathValue("number")
	in, cert, err := w.pec.Evidence(r.Context(), c.Actor, number, id)
	if err != nil {
		return err
	}
	api.ServeEvidence(rw, number, in, cert)
	return nil
}

func init() {
	for k, v := range pecTexts {
		catalogue[k] = v
	}
}

var pecTexts = map[string]texts{
	"pec.badge":                          {"PEC", "PEC"},
	"pec.badge.title":                    {"Richiesta pervenuta per posta elettronica certificata", "Request received by certified e-mail (PEC)"},
	"pec.not_certified":                  {"Non certificato", "Not certified"},
	"pec.certified_sender":               {"Mittente certificato", "Certified sender"},
	"pec.protocol":                       {"Protocollo", "Protocol number"},
	"pec.protocol.hint":                  {"Numero di protocollo assegnato alla richiesta (vuoto per toglierlo).", "Protocol-register number of the request (empty to clear it)."},
	"pec.protocol.submit":                {"Salva protocollo", "Save protocol number"},
	"pec.heading":                        {"Posta certificata (PEC)", "Certified e-mail (PEC)"},
	"pec.messages":                       {"Messaggi e ricevute", "Messages and receipts"},
	"pec.sent":                           {"Risposte inviate via PEC", "Replies sent by PEC"},
	"pec.alerts":                         {"Avvisi di consegna", "Delivery alerts"},
	"pec.kind.envelope":                  {"Busta di trasporto", "Transport envelope"},
	"pec.kind.anomaly":                   {"Busta di anomalia (non certificata)", "Anomaly envelope (not certified)"},
	"pec.kind.receipt":                   {"Ricevuta", "Receipt"},
	"pec.evidence":                       {"Scarica l'originale firmato (.eml)", "Download the signed original (.eml)"},
	"pec.provider":                       {"Gestore", "Provider"},
	"pec.identifier":                     {"Identificativo", "Identifier"},
	"pec.date":                           {"Data certificata", "Certified date"},
	"pec.recipients":                     {"Destinatari", "Recipients"},
	"pec.sha256":                         {"Impronta SHA-256", "SHA-256 digest"},
	"pec.signature":                      {"Firma del gestore", "Provider signature"},
	"pec.sig.verified":                   {"verificata", "verified"},
	"pec.sig.failed":                     {"non valida", "not valid"},
	"pec.sig.":                           {"non verificata", "not verified"},
	"pec.sig.unsigned":                   {"assente", "absent"},
	"pec.rcpt.certificato":               {"certificato", "certified"},
	"pec.rcpt.esterno":                   {"esterno", "external"},
	"pec.status.pending":                 {"in coda", "queued"},
	"pec.status.sent":                    {"inviata", "sent"},
	"pec.status.accepted":                {"accettata", "accepted"},
	"pec.status.delivered":               {"consegnata", "delivered"},
	"pec.status.partial":                 {"consegna parziale", "partly delivered"},
	"pec.status.failed":                  {"non consegnata", "failed"},
	"pec.state.sent":                     {"inviata", "sent"},
	"pec.state.accepted":                 {"accettata", "accepted"},
	"pec.state.delivered":                {"consegnata", "delivered"},
	"pec.state.warned":                   {"consegna in ritardo (preavviso)", "delivery delayed (warning)"},
	"pec.state.failed":                   {"non consegnata", "failed"},
	"pec.receipts":                       {"Ricevute", "Receipts"},
	"pec.none":                           {"nessuna", "none"},
	"event.protocol":                     {"Protocollo: da %s a %s", "Protocol number: from %s to %s"},
	"err.field.protocol":                 {"Il numero di protocollo può avere al massimo 100 caratteri.", "The protocol number can be at most 100 characters long."},
	"pec.alert.not_sent":                 {"Invio rifiutato dal gestore PEC", "Submission refused by the PEC provider"},
	"pec.tipo.posta-certificata":         {"messaggio certificato", "certified message"},
	"pec.tipo.accettazione":              {"ricevuta di accettazione", "acceptance receipt"},
	"pec.tipo.non-accettazione":          {"avviso di non accettazione", "non-acceptance notice"},
	"pec.tipo.presa-in-carico":           {"avviso di presa in carico", "taken-in-charge notice"},
	"pec.tipo.avvenuta-consegna":         {"ricevuta di avvenuta consegna", "delivery receipt"},
	"pec.tipo.errore-consegna":           {"avviso di mancata consegna", "non-delivery notice"},
	"pec.tipo.preavviso-errore-consegna": {"preavviso di mancata consegna", "delivery delay warning"},
	"pec.tipo.rilevazione-virus":         {"avviso di rilevazione virus", "virus detection notice"},
	"pec.alerts.workspace":               {"Risposte PEC non consegnate", "PEC replies not delivered"},
	"pec.alert.overdue":                  {"Nessuna ricevuta di consegna dopo 24 ore", "No delivery receipt after 24 hours"},
	"pec.alert.receipt":                  {"PEC: %s", "PEC: %s"},
}

// Anomaly reports whether the ticket came from an anomaly envelope (mail
// wrapped by the PEC provider, not certified).
func (v *pecView) Anomaly() bool {
	if v == nil || v.PEC {
		return false
	}
	for _, c := range v.Certs {
		if c.Kind == "anomaly" && c.OutID == 0 {
			return true
		}
	}
	return false
}

// ReceiptTipo names the receipt type of a receipt by its id.
func (v *pecView) ReceiptTipo(id int64) string {
	for _, c := range v.Certs {
		if c.InID == id {
			return c.Tipo
		}
	}
	return ""
}

// PECStatusClass is the badge class of a sent message's status.
func (p *Page) PECStatusClass(status string) string {
	switch status {
	case "delivered":
		return "bg-success"
	case "failed":
		return "bg-danger"
	case "partial":
		return "bg-warning text-dark"
	}
	return "bg-secondary"
}

// PECAlertLabel names the kind of a PEC delivery alert.
func (p *Page) PECAlertLabel(kind string) string {
	switch kind {
	case mailbox.AlertOverdue:
		return p.T("pec.alert.overdue")
	case mailbox.AlertNotSent:
		return p.T("pec.alert.not_sent")
	}
	return p.T("pec.alert.receipt", p.PECTipo(kind))
}

// PECTipo names a daticert tipo (a receipt type, or posta-certificata).
func (p *Page) PECTipo(tipo string) string {
	if _, ok := catalogue["pec.tipo."+tipo]; ok {
		return p.T("pec.tipo." + tipo)
	}
	return tipo
}

// recentPECAlerts are the PEC delivery alerts of the last 7 days of
// tickets assigned to the agent or to no one, newest first (at most 5).
func (w *Web) recentPECAlerts(ctx context.Context, a desk.Actor) []mailbox.PECAlert {
	if w.pec == nil {
		return nil
	}
	all, err := w.pec.Alerts(ctx, a, true, 5)
	if err != nil {
		w.log.Warn("web: PEC alerts", "err", err)
		return nil
	}
	var out []mailbox.PECAlert
	for _, al := range all {
		if time.Since(al.Created) < 7*24*time.Hour {
			out = append(out, al)
		}
	}
	return out
}
