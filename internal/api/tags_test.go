package api_test

import (
	"fmt"
	"testing"
)

// TestTagsOverHTTP: tags at creation (staff only), replaced by PATCH, shown
// in the ticket JSON, and a filter of the list.
func TestTagsOverHTTP(t *testing.T) {
	e := newEnv(t)
	code, tk := e.do("agent", "POST", "/api/v1/tickets", map[string]any{"subject": "BDNA - errore di accesso", "tags": []string{"BDNA", "accesso"}})
	if code != 201 || fmt.Sprint(tk["tags"]) != "[accesso bdna]" {
		t.Fatalf("create with tags: %d %v", code, tk["tags"])
	}
	num := tk["number"].(string)
	code, other := e.do("agent", "POST", "/api/v1/tickets", map[string]any{"subject": "Stampante"})
	if code != 201 || fmt.Sprint(other["tags"]) != "[]" {
		t.Fatalf("create without tags: %d %v", code, other["tags"])
	}
	if code, m := e.do("requester", "POST", "/api/v1/tickets", map[string]any{"subject": "x", "tags": []string{"vip"}}); code != 400 || m["code"] != "invalid_request" {
		t.Fatalf("requester tags: %d %v", code, m)
	}
	if code, m := e.do("agent", "PATCH", "/api/v1/tickets/"+num, map[string]any{"tags": []string{"due parole"}}); code != 400 || m["code"] != "invalid_request" {
		t.Fatalf("bad tag: %d %v", code, m)
	}
	code, tk = e.do("agent", "PATCH", "/api/v1/tickets/"+num, map[string]any{"tags": []string{"bdna", "Sede-2"}})
	if code != 200 || fmt.Sprint(tk["tags"]) != "[bdna sede-2]" {
		t.Fatalf("patch tags: %d %v", code, tk["tags"])
	}
	code, page := e.do("agent", "GET", "/api/v1/tickets?tag=SEDE-2", nil)
	items, _ := page["items"].([]any)
	if code != 200 || len(items) != 1 || items[0].(map[string]any)["number"] != num {
		t.Fatalf("list by tag: %d %v", code, page)
	}
	code, page = e.do("agent", "GET", "/api/v1/tickets?tag=accesso", nil)
	if items, _ := page["items"].([]any); code != 200 || len(items) != 0 {
		t.Fatalf("list by removed tag: %d %v", code, page)
	}
	if code, m := e.do("agent", "GET", "/api/v1/tickets?tag=%3Cb%3E", nil); code != 400 || m["code"] != "invalid_request" {
		t.Fatalf("bad tag filter: %d %v", code, m)
	}
}
