package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/desk"
)

// TestTags: the ticket page and the workspace list show a ticket's tags,
// each a link that filters the list by it; the history tells tag changes.
func TestTags(t *testing.T) {
	h := newHarness(t)
	agent := h.actor("agente@example.it")
	tagged := h.create(agent, desk.NewTicket{Subject: "BDNA - errore di accesso", Tags: []string{"BDNA", "urgente"}})
	plain := h.create(agent, desk.NewTicket{Subject: "Stampante guasta"})
	a := h.client()
	a.login("agente@example.it")

	page := a.get("/operatore/ticket/" + tagged.Number).Body
	mustContain(t, page, "Etichette", `href="/operatore?etichetta=bdna">#bdna</a>`, `href="/operatore?etichetta=urgente">#urgente</a>`)
	mustNotContain(t, a.get("/operatore/ticket/"+plain.Number).Body, "Etichette")

	list := a.get("/operatore?stato=tutti").Body
	mustContain(t, list, tagged.Number, plain.Number, `#bdna</a>`)
	filtered := a.get("/operatore?stato=tutti&etichetta=BDNA").Body
	mustContain(t, filtered, tagged.Number, `name="etichetta" value="bdna"`)
	if strings.Contains(filtered, plain.Number) {
		t.Error("the tag filter lists an untagged ticket")
	}
	if res := a.get("/operatore?etichetta=due+parole"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("bad tag filter: %d", res.StatusCode)
	}

	tags := []string{"hardware"}
	if _, err := h.f.Desk.Update(t.Context(), agent, plain.Number, desk.Changes{Tags: &tags}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, a.get("/operatore/ticket/"+plain.Number).Body, "Etichette: da")
}
