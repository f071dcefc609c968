package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store"
)

// runTags tests ticket tags: normalised on the way in, set at creation and
// changed through the desk's update path with history, filtered by an index.
func runTags(t *testing.T, open func(testing.TB) *store.DB) {
	ctx := context.Background()
	t.Run("Tags", func(t *testing.T) {
		f := NewFixture(t, open(t))
		a := f.Create(t, f.Agent, desk.NewTicket{Subject: "BDNA - errore", Tags: []string{"BDNA", " Urgente ", "bdna"}})
		if !slices.Equal(a.Tags, []string{"bdna", "urgente"}) {
			t.Fatalf("created with tags %q", a.Tags)
		}
		b := f.Create(t, f.Agent, desk.NewTicket{Subject: "Stampante", Tags: []string{"hardware"}})
		c := f.Create(t, f.Agent, desk.NewTicket{Subject: "Senza etichette"})
		if c.Tags != nil {
			t.Fatalf("untagged ticket has %q", c.Tags)
		}
		got, err := f.Desk.Ticket(ctx, f.Agent, a.Number)
		if err != nil || !slices.Equal(got.Tags, []string{"bdna", "urgente"}) {
			t.Fatalf("read back %q, %v", got.Tags, err)
		}
		// Requesters cannot tag; bad tags are refused with the field named
		// and write nothing.
		_, err = f.Desk.CreateTicket(ctx, f.Requester, desk.NewTicket{Subject: "x", Tags: []string{"vip"}})
		wantCode(t, err, desk.EInvalid)
		for _, bad := range [][]string{{"due parole"}, {"-inizio"}, {""}, {"<b>"}, {string(make([]byte, 41))}} {
			_, err := f.Desk.Update(ctx, f.Agent, b.Number, desk.Changes{Tags: &bad})
			wantCode(t, err, desk.EInvalid)
			if e, _ := err.(*desk.Error); e == nil || e.Field != "tags" {
				t.Fatalf("tags %q: error %v does not name the field", bad, err)
			}
		}
		many := make([]string, desk.MaxTags+1)
		for i := range many {
			many[i] = string(rune('a'+i%26)) + string(rune('a'+i/26))
		}
		_, err = f.Desk.Update(ctx, f.Agent, b.Number, desk.Changes{Tags: &many})
		wantCode(t, err, desk.EInvalid)
		_, err = f.Desk.Update(ctx, f.Requester, a.Number, desk.Changes{Tags: &[]string{"x"}})
		if desk.ErrorCode(err) == "" {
			t.Fatal("a requester changed tags")
		}

		// Replace the set: history records old and new (the set a ticket
		// is created with is part of it, as its queue is).
		got, err = f.Desk.Update(ctx, f.Agent, b.Number, desk.Changes{Tags: &[]string{"Hardware", "stampanti", "sede-2"}})
		if err != nil || !slices.Equal(got.Tags, []string{"hardware", "sede-2", "stampanti"}) {
			t.Fatalf("updated tags %q, %v", got.Tags, err)
		}
		// The same set again changes nothing and records nothing.
		if _, err := f.Desk.Update(ctx, f.Agent, b.Number, desk.Changes{Tags: &[]string{"stampanti", "hardware", "sede-2"}}); err != nil {
			t.Fatal(err)
		}
		tl, _ := f.Desk.Timeline(ctx, f.Agent, b.Number)
		var hist []string
		for _, e := range tl.Events {
			if e.Field == "tags" {
				hist = append(hist, e.Old+">"+e.New)
			}
		}
		if !slices.Equal(hist, []string{"hardware>hardware sede-2 stampanti"}) {
			t.Fatalf("tag history %q", hist)
		}
		rtl, _ := f.Desk.Timeline(ctx, f.Agent, a.Number)
		if len(rtl.Events) == 0 {
			t.Fatal("no history")
		}

		list := func(tag string) []string {
			t.Helper()
			page, err := f.Desk.ListTickets(ctx, f.Agent, desk.ListQuery{Tag: tag})
			if err != nil {
				t.Fatalf("list tag %q: %v", tag, err)
			}
			var out []string
			for _, k := range page.Items {
				out = append(out, k.Number)
			}
			return out
		}
		if got := list("HARDWARE"); !slices.Equal(got, []string{b.Number}) {
			t.Fatalf("tag hardware lists %q", got)
		}
		if got := list("bdna"); !slices.Equal(got, []string{a.Number}) {
			t.Fatalf("tag bdna lists %q", got)
		}
		if got := list("nessuno"); len(got) != 0 {
			t.Fatalf("unknown tag lists %q", got)
		}
		if _, err := f.Desk.ListTickets(ctx, f.Agent, desk.ListQuery{Tag: "due parole"}); desk.ErrorCode(err) != desk.EInvalid {
			t.Fatalf("bad tag filter: %v", err)
		}
		// Removing a tag removes the ticket from that tag's list.
		if _, err := f.Desk.Update(ctx, f.Agent, b.Number, desk.Changes{Tags: &[]string{"stampanti"}}); err != nil {
			t.Fatal(err)
		}
		if got := list("hardware"); len(got) != 0 {
			t.Fatalf("removed tag still lists %q", got)
		}
		if got := list("stampanti"); !slices.Equal(got, []string{b.Number}) {
			t.Fatalf("tag stampanti lists %q", got)
		}
		if _, err := f.Desk.Update(ctx, f.Agent, b.Number, desk.Changes{Tags: &[]string{}}); err != nil {
			t.Fatal(err)
		}
		if n := f.Count(t, "ticket_tags"); n != 2 {
			t.Fatalf("%d tag rows, want 2 (ticket %s)", n, a.Number)
		}
		// Requesters do not see tag changes in the history.
		f.Create(t, f.Requester, desk.NewTicket{Subject: "mia"})
		own, err := f.Desk.ListTickets(ctx, f.Requester, desk.ListQuery{Tag: "bdna"})
		if err != nil || len(own.Items) != 0 {
			t.Fatalf("requester lists %d tagged tickets of others, %v", len(own.Items), err)
		}
	})
}
