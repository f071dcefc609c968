package web

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sportello/sportello/internal/desk"
)

// timeline is the one chronological list of a ticket page: messages in and
// out, internal notes and history events, each message with its files.
type timeline struct {
	Entries []entry
	// FilesBase is the URL prefix of the ticket's attachments.
	FilesBase string
}

// entry is one item of the timeline: a message or an event.
type entry struct {
	At      time.Time
	Kind    string // incoming, reply, note, system or event
	Author  string
	Message *desk.Message
	Files   []desk.Attachment
	// Text describes an event in the page's language.
	Text string
	// MailURL links the HTML version of a received e-mail (staff only).
	MailURL string
	seq     int64
}

// IsMessage reports whether the entry is a message rather than an event.
func (e entry) IsMessage() bool { return e.Message != nil }

// messageFields are the history events that only record a message; the
// message itself is in the timeline.
var messageFields = map[string]bool{
	string(desk.MessageIncoming): true, string(desk.MessageReply): true,
	string(desk.MessageNote): true, string(desk.MessageSystem): true,
}

// buildTimeline merges a ticket's messages and events, oldest first (the
// order of a conversation).
func buildTimeline(p *Page, tl desk.Timeline, base string, ph *phasesView) timeline {
	files := map[int64][]desk.Attachment{}
	for _, a := range tl.Attachments {
		if a.MessageID != 0 {
			files[a.MessageID] = append(files[a.MessageID], a)
		}
	}
	var out []entry
	for i := range tl.Messages {
		m := &tl.Messages[i]
		out = append(out, entry{At: m.Created, Kind: string(m.Kind), Author: firstNonEmpty(m.AuthorName, m.AuthorEmail),
			Message: m, Files: files[m.ID], seq: m.ID})
	}
	for _, e := range tl.Events {
		if messageFields[e.Field] {
			continue
		}
		out = append(out, entry{At: e.At, Kind: "event", Author: e.ActorName, Text: eventText(p, ph, e), seq: e.ID})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		// At the same instant, messages before the events they caused.
		if out[i].IsMessage() != out[j].IsMessage() {
			return out[i].IsMessage()
		}
		return out[i].seq < out[j].seq
	})
	return timeline{Entries: out, FilesBase: base}
}

// eventText renders a history event as a sentence.
func eventText(p *Page, ph *phasesView, e desk.Event) string {
	if s, ok := phaseEventText(p, ph, e); ok {
		return s
	}
	none := p.T("value.none")
	val := func(s string) string {
		if s == "" {
			return none
		}
		return s
	}
	switch e.Field {
	case "created":
		return p.T("event.created", p.ChannelLabel(desk.Channel(e.New)))
	case "status":
		return p.T("event.status", p.StatusLabel(desk.Status(e.Old)), p.StatusLabel(desk.Status(e.New)))
	case "priority":
		return p.T("event.priority", p.PriorityLabel(desk.Priority(e.Old)), p.PriorityLabel(desk.Priority(e.New)))
	case "level":
		o, _ := strconv.Atoi(e.Old)
		n, _ := strconv.Atoi(e.New)
		return p.T("event.level", p.LevelLabel(desk.Level(o)), p.LevelLabel(desk.Level(n)))
	case "assignee":
		return p.T("event.assignee", val(e.Old), val(e.New))
	case "queue", "service", "team", "subject", "protocol", "tags":
		return p.T("event."+e.Field, val(e.Old), val(e.New))
	case "cause":
		cat, text, _ := strings.Cut(e.New, ": ")
		s := p.T("event.cause", p.CauseLabel(cat))
		if text = strings.TrimSpace(text); text != "" {
			s += " — " + text
		}
		return s
	case "reason":
		return p.T("event.reason", e.New)
	case "link":
		kind, num, _ := strings.Cut(e.New, " ")
		return p.T("event.link", p.LinkLabel(desk.LinkKind(kind)), num)
	case "merged_into":
		return p.T("event.merged_into", e.New)
	case "merged_from":
		return p.T("event.merged_from", e.New)
	case "fields":
		return p.T("event.fields", e.New)
	}
	return p.T("event.other", e.Field, val(e.Old), val(e.New))
}

// publicVersion summarises what a requester sees of a ticket, so that a
// live stream tells them about changes they can see and nothing else.
func (w *Web) publicVersion(tl desk.Timeline) string {
	return fmt.Sprintf("%s.%d.%d", tl.Ticket.Status, len(tl.Messages), len(tl.Events))
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
