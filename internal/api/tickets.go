package api

import (
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sportello/sportello/internal/desk"
)

// Ref is a code with its display name.
type Ref struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Person is a contact in JSON.
type Person struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
}

// CauseJSON is the identified cause of a resolution.
type CauseJSON struct {
	Category string `json:"category"`
	Text     string `json:"text"`
}

// Ticket is the JSON form of a ticket.
type Ticket struct {
	Number       string     `json:"number"`
	Subject      string     `json:"subject"`
	Description  string     `json:"description"`
	Status       string     `json:"status"`
	Priority     string     `json:"priority"`
	Channel      string     `json:"channel"`
	Level        int        `json:"level"`
	Organisation Ref        `json:"organisation"`
	Service      *Ref       `json:"service"`
	Queue        *Ref       `json:"queue"`
	Requester    Person     `json:"requester"`
	Assignee     *Person    `json:"assignee"`
	Team         string     `json:"team,omitempty"`
	Tags         []string   `json:"tags"`
	Cause        *CauseJSON `json:"cause,omitempty"`
	MergedInto   string     `json:"merged_into,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	ResolvedAt   *time.Time `json:"resolved_at,omitempty"`
	Next         []string   `json:"allowed_transitions"`
	// Fields are the values of the service's own fields (single-ticket
	// reads and create only; not in lists).
	Fields []desk.FieldValue `json:"fields,omitempty"`
	// Protocol is the protocol-register number (single-ticket reads).
	Protocol string `json:"protocol,omitempty"`
}

func ticketJSON(t desk.Ticket) Ticket {
	out := Ticket{Number: t.Number, Subject: t.Subject, Description: t.Description, Status: string(t.Status),
		Priority: string(t.Priority), Channel: string(t.Channel), Level: int(t.Level),
		Organisation: Ref{Code: t.OrgCode, Name: t.OrgName},
		Requester:    Person{Email: t.Requester.Email, Name: t.Requester.Name, Phone: t.Requester.Phone},
		Team:         t.Team, CreatedAt: t.Created, UpdatedAt: t.Updated, Next: []string{}, Protocol: t.Protocol,
		Tags: append([]string{}, t.Tags...)}
	if t.ServiceCode != "" {
		out.Service = &Ref{Code: t.ServiceCode, Name: t.ServiceName}
	}
	if t.QueueCode != "" {
		out.Queue = &Ref{Code: t.QueueCode, Name: t.QueueName}
	}
	if t.AssigneeEmail != "" {
		out.Assignee = &Person{Email: t.AssigneeEmail, Name: t.AssigneeName}
	}
	if t.Cause.Category != "" || t.Cause.Text != "" {
		out.Cause = &CauseJSON{Category: t.Cause.Category, Text: t.Cause.Text}
	}
	if !t.Resolved.IsZero() {
		r := t.Resolved
		out.ResolvedAt = &r
	}
	for _, s := range desk.NextStatuses(t.Status) {
		out.Next = append(out.Next, string(s))
	}
	out.Fields = t.Fields
	return out
}

// AttachmentIn is an attachment sent inline as base64.
type AttachmentIn struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        string `json:"data"`
}

func attachmentsIn(in []AttachmentIn) ([]desk.NewAttachment, error) {
	out := make([]desk.NewAttachment, 0, len(in))
	for i, a := range in {
		data, err := base64.StdEncoding.DecodeString(a.Data)
		if err != nil {
			return nil, desk.FieldError(fmt.Sprintf("attachments[%d].data", i), "attachment data must be base64")
		}
		ct := a.ContentType
		if ct != "" {
			if _, _, err := mime.ParseMediaType(ct); err != nil {
				return nil, desk.FieldError(fmt.Sprintf("attachments[%d].content_type", i), "invalid content type %q", ct)
			}
		}
		out = append(out, desk.NewAttachment{Name: a.Name, ContentType: ct, Data: data})
	}
	return out, nil
}

type createTicketIn struct {
	Subject      string         `json:"subject"`
	Description  string         `json:"description"`
	Service      string         `json:"service"`
	Queue        string         `json:"queue"`
	Channel      string         `json:"channel"`
	Priority     string         `json:"priority"`
	Organisation string         `json:"organisation"`
	Requester    *Person        `json:"requester"`
	Attachments  []AttachmentIn `json:"attachments"`
	Tags         []string       `json:"tags"`
	// Fields are values of the service's own fields by code; when sent,
	// the service's required fields must be among them.
	Fields map[string]string `json:"fields"`
}

func (a *API) createTicket(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	var in createTicketIn
	if err := decode(r, &in); err != nil {
		return err
	}
	atts, err := attachmentsIn(in.Attachments)
	if err != nil {
		return err
	}
	nt := desk.NewTicket{OrgCode: in.Organisation, Subject: in.Subject, Description: in.Description, Service: in.Service,
		Queue: in.Queue, Channel: desk.Channel(in.Channel), Priority: desk.Priority(in.Priority), Attachments: atts,
		Fields: in.Fields, Tags: in.Tags}
	if nt.Channel == "" {
		nt.Channel = desk.ChannelAPI
	}
	if in.Requester != nil {
		nt.Requester = desk.Contact{Email: in.Requester.Email, Name: in.Requester.Name, Phone: in.Requester.Phone}
	}
	t, err := a.desk.CreateTicket(r.Context(), actor, nt)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/tickets/"+t.Number)
	writeJSON(w, http.StatusCreated, ticketJSON(t))
	return nil
}

func (a *API) getTicket(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	t, err := a.desk.Ticket(r.Context(), actor, r.PathValue("number"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ticketJSON(t))
	return nil
}

// TicketPage is a page of tickets.
type TicketPage struct {
	Items []Ticket `json:"items"`
	Next  *string  `json:"next"`
}

func (a *API) listTickets(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	qs := r.URL.Query()
	for k := range qs {
		switch k {
		case "q", "status", "queue", "service", "assignee", "channel", "organisation", "requester", "limit", "cursor", "open", "order", "tag":
		default:
			return desk.FieldError(k, "unknown parameter %q", k)
		}
	}
	in := desk.ListQuery{Text: qs.Get("q"), Queue: qs.Get("queue"), Service: qs.Get("service"), Assignee: qs.Get("assignee"),
		Channel: desk.Channel(qs.Get("channel")), OrgCode: qs.Get("organisation"), Requester: qs.Get("requester"), Cursor: qs.Get("cursor"),
		OnlyOpen: qs.Get("open") == "true", Order: desk.Order(qs.Get("order")), Tag: qs.Get("tag")}
	for _, s := range qs["status"] {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				in.Statuses = append(in.Statuses, desk.Status(p))
			}
		}
	}
	if l := qs.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return desk.FieldError("limit", "limit must be a number between 1 and 200")
		}
		in.Limit = n
	}
	page, err := a.desk.ListTickets(r.Context(), actor, in)
	if err != nil {
		return err
	}
	out := TicketPage{Items: make([]Ticket, 0, len(page.Items))}
	for _, t := range page.Items {
		out.Items = append(out.Items, ticketJSON(t))
	}
	if page.Next != "" {
		out.Next = &page.Next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type updateIn struct {
	Priority *string `json:"priority"`
	Assignee *string `json:"assignee"`
	Queue    *string `json:"queue"`
	Service  *string `json:"service"`
	Level    *int    `json:"level"`
	Team     *string `json:"team"`
	Subject  *string `json:"subject"`
	// Tags replaces the whole tag set.
	Tags     *[]string `json:"tags"`
	Protocol *string   `json:"protocol"`
}

func (a *API) updateTicket(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	var in updateIn
	if err := decode(r, &in); err != nil {
		return err
	}
	c := desk.Changes{Assignee: in.Assignee, Queue: in.Queue, Service: in.Service, Team: in.Team, Subject: in.Subject,
		Protocol: in.Protocol, Tags: in.Tags}
	if in.Priority != nil {
		p := desk.Priority(*in.Priority)
		c.Priority = &p
	}
	if in.Level != nil {
		l := desk.Level(*in.Level)
		c.Level = &l
	}
	t, err := a.desk.Update(r.Context(), actor, r.PathValue("number"), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ticketJSON(t))
	return nil
}

// Message is a reply or note in JSON.
type Message struct {
	ID          int64        `json:"id"`
	Kind        string       `json:"kind"`
	Body        string       `json:"body"`
	Internal    bool         `json:"internal"`
	Channel     string       `json:"channel"`
	Author      Person       `json:"author"`
	CreatedAt   time.Time    `json:"created_at"`
	Attachments []Attachment `json:"attachments"`
}

// Attachment is attachment metadata in JSON.
type Attachment struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	URL         string `json:"url"`
}

func attachmentJSON(number string, at desk.Attachment) Attachment {
	return Attachment{ID: at.ID, Name: at.Name, ContentType: at.ContentType, Size: at.Size, SHA256: at.SHA256,
		URL: fmt.Sprintf("/api/v1/tickets/%s/attachments/%d", number, at.ID)}
}

func messageJSON(number string, m desk.Message, atts []desk.Attachment) Message {
	out := Message{ID: m.ID, Kind: string(m.Kind), Body: m.Body, Internal: m.Internal, Channel: string(m.Channel),
		Author: Person{Email: m.AuthorEmail, Name: m.AuthorName}, CreatedAt: m.Created, Attachments: []Attachment{}}
	for _, at := range atts {
		if at.MessageID == m.ID {
			out.Attachments = append(out.Attachments, attachmentJSON(number, at))
		}
	}
	return out
}

type commentIn struct {
	Body        string         `json:"body"`
	Internal    bool           `json:"internal"`
	Attachments []AttachmentIn `json:"attachments"`
}

func (a *API) addComment(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	var in commentIn
	if err := decode(r, &in); err != nil {
		return err
	}
	atts, err := attachmentsIn(in.Attachments)
	if err != nil {
		return err
	}
	number := r.PathValue("number")
	m, err := a.desk.AddMessage(r.Context(), actor, number, desk.NewMessage{Body: in.Body, Internal: in.Internal, Channel: desk.ChannelAPI, Attachments: atts})
	if err != nil {
		return err
	}
	tl, err := a.desk.Timeline(r.Context(), actor, number)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, messageJSON(number, m, tl.Attachments))
	return nil
}

// Timeline is the messages of a ticket with its top-level attachments.
type Timeline struct {
	Messages    []Message    `json:"messages"`
	Attachments []Attachment `json:"attachments"`
	Links       []LinkJSON   `json:"links"`
}

// LinkJSON is a link to another ticket.
type LinkJSON struct {
	Kind   string `json:"kind"`
	Ticket string `json:"ticket"`
}

func (a *API) messages(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	number := r.PathValue("number")
	tl, err := a.desk.Timeline(r.Context(), actor, number)
	if err != nil {
		return err
	}
	out := Timeline{Messages: []Message{}, Attachments: []Attachment{}, Links: []LinkJSON{}}
	for _, m := range tl.Messages {
		out.Messages = append(out.Messages, messageJSON(number, m, tl.Attachments))
	}
	for _, at := range tl.Attachments {
		if at.MessageID == 0 {
			out.Attachments = append(out.Attachments, attachmentJSON(number, at))
		}
	}
	for _, l := range tl.Links {
		out.Links = append(out.Links, LinkJSON{Kind: string(l.Kind), Ticket: l.ToNumber})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Event is one history entry in JSON.
type Event struct {
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	Field string    `json:"field"`
	Old   string    `json:"old"`
	New   string    `json:"new"`
}

func (a *API) history(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	tl, err := a.desk.Timeline(r.Context(), actor, r.PathValue("number"))
	if err != nil {
		return err
	}
	out := struct {
		Items []Event `json:"items"`
	}{Items: []Event{}}
	for _, e := range tl.Events {
		out.Items = append(out.Items, Event{At: e.At, Actor: e.ActorName, Field: e.Field, Old: e.Old, New: e.New})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type transitionIn struct {
	To     string     `json:"to"`
	Cause  *CauseJSON `json:"cause"`
	Reason string     `json:"reason"`
}

func (a *API) transition(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	var in transitionIn
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.To == "" {
		return desk.FieldError("to", "field \"to\" is required: the status to move to")
	}
	ti := desk.TransitionInput{To: desk.Status(in.To), Reason: in.Reason}
	if in.Cause != nil {
		ti.Cause = desk.Cause{Category: in.Cause.Category, Text: in.Cause.Text}
	}
	t, err := a.desk.Transition(r.Context(), actor, r.PathValue("number"), ti)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ticketJSON(t))
	return nil
}

type reasonIn struct {
	Reason string `json:"reason"`
}

func (a *API) escalate(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	var in reasonIn
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := a.desk.Escalate(r.Context(), actor, r.PathValue("number"), in.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ticketJSON(t))
	return nil
}

type linkIn struct {
	Ticket string `json:"ticket"`
	Kind   string `json:"kind"`
}

func (a *API) link(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	var in linkIn
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Kind == "" {
		in.Kind = string(desk.LinkRelated)
	}
	if err := a.desk.LinkTickets(r.Context(), actor, r.PathValue("number"), in.Ticket, desk.LinkKind(in.Kind)); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, LinkJSON{Kind: in.Kind, Ticket: in.Ticket})
	return nil
}

type mergeIn struct {
	Into string `json:"into"`
}

func (a *API) merge(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	var in mergeIn
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := a.desk.Merge(r.Context(), actor, r.PathValue("number"), in.Into)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ticketJSON(t))
	return nil
}

// safeInline lists content types a browser may show inline; everything else
// is downloaded.
var safeInline = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "application/pdf": true, "text/plain": true}

func (a *API) attachment(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return desk.Errorf(desk.ENotFound, "attachment not found")
	}
	at, data, err := a.desk.Attachment(r.Context(), actor, r.PathValue("number"), id)
	if err != nil {
		return err
	}
	ServeAttachment(w, at, data)
	return nil
}

// ServeAttachment writes an attachment with a safe content type and
// Content-Disposition (shared with the web UI).
func ServeAttachment(w http.ResponseWriter, at desk.Attachment, data []byte) {
	ct, _, err := mime.ParseMediaType(at.ContentType)
	disp := "attachment"
	if err != nil || !safeInline[ct] {
		ct = "application/octet-stream"
	} else {
		disp = "inline"
	}
	if ct == "text/plain" {
		ct = "text/plain; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": desk.SafeFileName(at.Name)}))
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// setFields replaces the values of the ticket's service fields (staff).
func (a *API) setFields(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	var in struct {
		Fields map[string]string `json:"fields"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := a.desk.SetFields(r.Context(), actor, r.PathValue("number"), in.Fields)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ticketJSON(t))
	return nil
}
