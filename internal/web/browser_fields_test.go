package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/browsertest"
	"github.com/sportello/sportello/internal/desk"
)

// TestBrowserServiceFields: an employee asks for a firewall rule in the
// portal, whose form shows what the service needs; a refused value is
// shown by its field; the agent sees the values on the ticket page, and on
// the phone registration form only the chosen service's fields show. The
// IT manager finds the request in the list waiting for approval. Every
// page is checked with axe.
func TestBrowserServiceFields(t *testing.T) {
	h, _ := newWorkflowHarness(t)
	tr := newTour(t, h)
	b := tr.b

	tr.login("mario.rossi@provincia.brindisi.it")
	tr.open("/richieste/nuova?servizio=sicurezza-informatica")
	tr.check("portal-new-request-fields")
	b.FillLabel("Oggetto", "Apertura porta 443 verso il portale SUAP")
	b.FillLabel("Tipo di richiesta", "Regola firewall (creazione, modifica o cancellazione)")
	b.FillLabel("Sorgente", "10.1.2.0/24")
	b.FillLabel("Destinazione", "suap.example.it")
	b.FillLabel("Porta", "https")
	b.FillLabel("Motivazione", "Accesso del fornitore al portale SUAP")
	if st := b.Submit("#new-request"); st != http.StatusUnprocessableEntity {
		t.Fatalf("bad port: %d", st)
	}
	tr.check("")
	if msg := b.Text("#f-sicurezza-informatica-porta-error"); msg != "Indica un numero, ad esempio 443." {
		t.Errorf("port error: %q", msg)
	}
	if v := b.Value("#f-sicurezza-informatica-sorgente"); v != "10.1.2.0/24" {
		t.Errorf("typed value lost: %q", v)
	}
	b.Fill("#f-sicurezza-informatica-porta", "")
	b.FillLabel("Porta", "443")
	if st := b.Submit("#new-request"); st != http.StatusOK {
		t.Fatalf("request: %d", st)
	}
	if txt := b.Text(".sp-field-values"); !strings.Contains(txt, "443") || !strings.Contains(txt, "Regola firewall") {
		t.Errorf("values on the request page: %q", txt)
	}
	tr.check("portal-request-fields")
	number := strings.TrimPrefix(b.URL()[len(tr.base):], "/richieste/")
	tr.logout()

	tr.login("luigi.settembrini@provincia.brindisi.it")
	tr.open("/operatore/approvazioni")
	tr.check("approvals")
	if st := b.ClickAndWait(`a[href^="/operatore/ticket/` + number + `"]`); st != http.StatusOK {
		t.Fatalf("open from the approvals list: %d", st)
	}
	if txt := b.Text(".sp-field-values"); !strings.Contains(txt, "10.1.2.0/24") {
		t.Errorf("values on the ticket page: %q", txt)
	}
	tr.logout()

	tr.login("antonio.pugliese@provincia.brindisi.it")
	tr.open("/operatore/chiamata")
	visible := `[...document.querySelectorAll("fieldset[data-sp-service]")].filter(f => !f.hidden).map(f => f.dataset.spService).join(",")`
	if got := browsertest.Eval[string](b, visible); got != "" {
		t.Errorf("fieldsets shown before a service is chosen: %q", got)
	}
	b.FillLabel("Cerca per telefono, e-mail o nome", "rossi")
	b.WaitVisible(`#caller-results fieldset`)
	b.Click(`#caller-results input[value="mario.rossi@provincia.brindisi.it"]`)
	b.FillLabel("Servizio", "Installazione e configurazione dispositivi hardware (stampanti di rete, stampanti locali, fotocopiatori) ed aggiornamento sito web")
	if got := browsertest.Eval[string](b, visible); got != "dispositivi-hardware-sito-web" {
		t.Errorf("fieldsets shown: %q", got)
	}
	tr.check("call-fields")
	b.FillLabel("Oggetto", "Fotocopiatore bloccato")
	b.Fill("#f-dispositivi-hardware-sito-web-dispositivo", "Fotocopiatore")
	b.Fill("#f-dispositivi-hardware-sito-web-ubicazione", "Ragioneria, primo piano")
	if st := b.Submit("#register"); st != http.StatusOK {
		t.Fatalf("register: %d", st)
	}
	n := b.Text("#ticket-number")
	tk, err := h.f.Desk.Ticket(context.Background(), h.actor("antonio.pugliese@provincia.brindisi.it"), n)
	if err != nil || len(tk.Fields) != 2 || tk.Fields[0].Value != "fotocopiatore" || tk.Fields[1].Text != "Ragioneria, primo piano" {
		t.Fatalf("registered ticket fields %+v %v", tk.Fields, err)
	}
	if tk.Channel != desk.ChannelPhone {
		t.Errorf("channel %s", tk.Channel)
	}
	tr.noConsoleErrors("/richieste/nuova")
}
