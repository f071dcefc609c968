package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/desk"
)

// TestSavedViewsAndOrders: the workspace counts its views from the
// maintained counters, saves the current filter as a personal view (a
// shared one only for approvers and administrators), deletes it, and sorts
// the list by priority, keeping the order across pages.
func TestSavedViewsAndOrders(t *testing.T) {
	h := newHarness(t)
	agentA := h.actor("agente@example.it")
	me := "agente@example.it"
	var urgent desk.Ticket
	for i, p := range []desk.Priority{"normal", "urgent", "low", "high", "normal"} {
		k := h.create(agentA, desk.NewTicket{Subject: "Richiesta " + string(p), Priority: p, Requester: desk.Contact{Email: "utente@example.it"}})
		if i < 2 {
			if _, err := h.f.Desk.Update(t.Context(), agentA, k.Number, desk.Changes{Assignee: &me}); err != nil {
				t.Fatal(err)
			}
		}
		if p == "urgent" {
			urgent = k
		}
	}
	agent := h.client()
	agent.login("agente@example.it")
	ws := agent.get("/operatore").Body
	mustContain(t, ws, `Assegnati a me <span class="badge bg-primary">2</span>`, `Non assegnati <span class="badge bg-primary">3</span>`,
		`Tutti, anche chiusi <span class="badge bg-primary">5</span>`, "Nessuna vista salvata.")
	mustNotContain(t, ws, `id="view-shared"`)

	// Sorted by priority: the urgent ticket first, the order kept on the next page.
	list := agent.get("/operatore?ordine=priorita").Body
	first := regexp.MustCompile(`data-sp-item-link>([0-9-]+)<`).FindStringSubmatch(list)
	if first == nil || first[1] != urgent.Number {
		t.Fatalf("first by priority: %v", first)
	}
	mustContain(t, list, "<caption>Ticket, dal più urgente</caption>", `<option value="priorita" selected>Priorità</option>`)

	res := agent.post("/operatore/viste", url.Values{"name": {"Mie per priorità"}, "query": {"assegnatario=me&ordine=priorita&cursore=t1&pagina=2"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/operatore?assegnatario=me&ordine=priorita" {
		t.Fatalf("save view: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	ws = agent.get(res.Header.Get("Location")).Body
	mustContain(t, ws, `Vista «Mie per priorità» salvata.`, `<a href="/operatore?assegnatario=me&amp;ordine=priorita" aria-current="page">Mie per priorità`,
		`<span class="badge bg-primary">2</span></a></li>`)
	// A word search has no count.
	if res := agent.post("/operatore/viste", url.Values{"name": {"Stampanti"}, "query": {"q=stampante"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save search view: %d", res.StatusCode)
	}
	mustContain(t, agent.get("/operatore").Body, `Stampanti`, "ricerca per parole: senza conteggio")
	// Sharing is for approvers and administrators; a duplicate name is refused by the form.
	res = agent.post("/operatore/viste", url.Values{"name": {"Per tutti"}, "query": {"stato=tutti"}, "shared": {"1"}})
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("agent shares: %d", res.StatusCode)
	}
	res = agent.post("/operatore/viste", url.Values{"name": {"mie per PRIORITÀ"}, "query": {"stato=tutti"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(res.Body, `id="view-name-error"`) || !strings.Contains(res.Body, `<details class="sp-save-view mb-3" open>`) {
		t.Fatalf("duplicate name: %d", res.StatusCode)
	}
	admin := h.client()
	admin.login("admin@example.it")
	mustContain(t, admin.get("/operatore").Body, `id="view-shared"`)
	if res := admin.post("/operatore/viste", url.Values{"name": {"Tutto l'ente"}, "query": {"stato=tutti"}, "shared": {"1"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin shares: %d", res.StatusCode)
	}
	ws = agent.get("/operatore").Body
	mustContain(t, ws, "Tutto l&#39;ente <span class=\"visually-hidden\">(condivisa)</span>")
	// The agent may delete their own views, not the shared one.
	ids := regexp.MustCompile(`action="/operatore/viste/(\d+)/elimina"`).FindAllStringSubmatch(ws, -1)
	if len(ids) != 2 {
		t.Fatalf("delete buttons: %v", ids)
	}
	for _, id := range ids {
		if res := agent.post("/operatore/viste/"+id[1]+"/elimina", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("delete: %d", res.StatusCode)
		}
	}
	ws = agent.get("/operatore").Body
	mustNotContain(t, ws, "Mie per priorità", "ricerca per parole: senza conteggio")
	mustContain(t, ws, "Tutto l&#39;ente")
}

// TestPagesCompressed: pages are sent gzip-compressed to clients that take
// it, and plain to the others.
func TestPagesCompressed(t *testing.T) {
	h := newHarness(t)
	for _, enc := range []string{"gzip", ""} {
		req, _ := http.NewRequest("GET", h.srv.URL+"/", nil)
		if enc != "" {
			req.Header.Set("Accept-Encoding", enc)
		} else {
			req.Header.Set("Accept-Encoding", "identity")
		}
		res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if got := res.Header.Get("Content-Encoding"); got != enc {
			t.Fatalf("Accept-Encoding %q: Content-Encoding %q", enc, got)
		}
		if !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Accept-Encoding") {
			t.Errorf("no Vary: %v", res.Header)
		}
		if enc == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		mustContain(t, string(body), "<!doctype html>")
	}
}
