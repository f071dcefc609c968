package desk

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// NewMessage is a reply, note or incoming message.
type NewMessage struct {
	Body        string
	Internal    bool
	Channel     Channel // how it arrived or leaves; default web/api
	Attachments []NewAttachment
	// Kind overrides the kind derived from the actor (used by mail intake
	// for incoming mail and automatic messages).
	Kind MessageKind
	// AuthorEmail/AuthorName describe an author who is not a signed-in user
	// (mail from a requester).
	AuthorEmail, AuthorName string
}

// AddMessage adds a reply or note to a ticket. Requesters may only add
// public messages to their own tickets; a requester's answer to a ticket
// waiting on them puts it back to open.
func (d *Desk) AddMessage(ctx context.Context, a Actor, number string, in NewMessage) (Message, error) {
	body, err := cleanText("body", in.Body, MaxBody, len(in.Attachments) == 0)
	if err != nil {
		return Message{}, err
	}
	for _, f := range in.Attachments {
		if int64(len(f.Data)) > d.maxAtt {
			return Message{}, &Error{Code: ETooLarge, Field: "attachments", Message: fmt.Sprintf("attachment %q is larger than %d bytes", f.Name, d.maxAtt)}
		}
	}
	if in.Channel != "" && !in.Channel.Valid() {
		return Message{}, FieldError("channel", "unknown channel %q", in.Channel)
	}
	m := Message{Body: body, Internal: in.Internal, Channel: in.Channel, AuthorID: a.UserID,
		AuthorName: firstNonEmpty(in.AuthorName, actorName(a)), AuthorEmail: firstNonEmpty(NormEmail(in.AuthorEmail), a.Email)}
	switch {
	case in.Kind != "":
		m.Kind = in.Kind
	case in.Internal:
		m.Kind = MessageNote
	case a.IsStaff() && !a.System:
		m.Kind = MessageReply
	default:
		m.Kind = MessageIncoming
	}
	if m.Kind == MessageNote {
		m.Internal = true
	}
	if m.Channel == "" {
		m.Channel = ChannelWeb
	}
	now := d.Now()
	m.Created = now
	var tid int64
	err = d.store.Update(ctx, func(tx Tx) error {
		t, err := d.visibleTicket(ctx, tx, a, number)
		if err != nil {
			return err
		}
		if m.Internal && !CanWorkTicket(a, &t) {
			return Errorf(EForbidden, "only staff can add internal notes")
		}
		if !a.System && !CanActAsRequester(a, &t) {
			return Errorf(EForbidden, "only the requester and the staff working it can write on ticket %s", t.Number)
		}
		if m.Kind == MessageReply && in.Kind == "" && !CanWorkTicket(a, &t) {
			// Staff writing on their own request elsewhere write as its requester.
			m.Kind = MessageIncoming
		}
		if t.MergedInto != 0 {
			return Errorf(EConflict, "ticket %s was merged into another ticket", t.Number)
		}
		m.TicketID = t.ID
		if err := tx.InsertMessage(ctx, &m); err != nil {
			return err
		}
		if err := d.storeAttachments(ctx, tx, t.ID, m.ID, in.Attachments, now); err != nil {
			return err
		}
		next := t
		next.Updated = now
		evs := []Event{{TicketID: t.ID, ActorID: a.UserID, ActorName: m.AuthorName, At: now, Field: string(m.Kind), New: strconv.FormatInt(m.ID, 10)}}
		if m.Kind == MessageIncoming && t.Status == StatusWaitingRequester {
			next.Status = StatusOpen
			evs = append(evs, Event{TicketID: t.ID, ActorID: a.UserID, ActorName: m.AuthorName, At: now, Field: "status", Old: string(t.Status), New: string(next.Status)})
		}
		if m.Kind == MessageReply && t.Status == StatusNew {
			next.Status = StatusOpen
			evs = append(evs, Event{TicketID: t.ID, ActorID: a.UserID, ActorName: m.AuthorName, At: now, Field: "status", Old: string(t.Status), New: string(next.Status)})
		}
		if err := tx.UpdateTicket(ctx, &t, &next); err != nil {
			return err
		}
		if err := tx.InsertEvents(ctx, evs); err != nil {
			return err
		}
		if d.txHooks.OnMessage != nil {
			if err := d.txHooks.OnMessage(ctx, tx, next, m); err != nil {
				return err
			}
		}
		if err := d.statusHook(ctx, tx, t, next); err != nil {
			return err
		}
		tid = t.ID
		return tx.Reindex(ctx, t.ID)
	})
	if err != nil {
		return Message{}, err
	}
	d.changed(tid)
	return m, nil
}

// TransitionInput carries what a status change may need.
type TransitionInput struct {
	To     Status
	Cause  Cause  // recorded when resolving
	Reason string // free text recorded in history (reopen, cancel)
}

// Transition changes a ticket's status, refusing impossible moves with EConflict.
func (d *Desk) Transition(ctx context.Context, a Actor, number string, in TransitionInput) (Ticket, error) {
	if !in.To.Valid() {
		return Ticket{}, FieldError("to", "unknown status %q", in.To)
	}
	cause := Cause{Category: cleanLine(in.Cause.Category), Text: in.Cause.Text}
	if cause.Category != "" && !validCause(cause.Category) {
		return Ticket{}, FieldError("cause.category", "unknown cause category %q", cause.Category)
	}
	var err error
	if cause.Text, err = cleanText("cause.text", cause.Text, 10_000, false); err != nil {
		return Ticket{}, err
	}
	reason, err := cleanText("reason", in.Reason, 10_000, false)
	if err != nil {
		return Ticket{}, err
	}
	return d.mutateTx(ctx, a, number, func(tx Tx, t *Ticket, prev Ticket, now time.Time) ([]Event, error) {
		if !CanTransition(prev.Status, in.To) {
			return nil, Errorf(EConflict, "cannot move ticket %s from %s to %s", prev.Number, prev.Status, in.To)
		}
		if !CanWorkTicket(a, &prev) && !(CanActAsRequester(a, &prev) && requesterMayTransition(prev.Status, in.To)) {
			return nil, Errorf(EForbidden, "requesters cannot move a ticket from %s to %s", prev.Status, in.To)
		}
		if prev.MergedInto != 0 {
			return nil, Errorf(EConflict, "ticket %s was merged into another ticket", prev.Number)
		}
		if d.guard != nil {
			if err := d.guard(ctx, tx, prev, in.To); err != nil {
				return nil, err
			}
		}
		t.Status = in.To
		evs := []Event{{Field: "status", Old: string(prev.Status), New: string(in.To)}}
		switch in.To {
		case StatusResolved:
			t.Resolved = now
			if cause.Category != "" || cause.Text != "" {
				t.Cause = cause
				evs = append(evs, Event{Field: "cause", Old: prev.Cause.Category, New: cause.Category + ": " + cause.Text})
			}
		case StatusOpen:
			t.Resolved = time.Time{}
		}
		if reason != "" {
			evs = append(evs, Event{Field: "reason", New: reason})
		}
		return evs, nil
	})
}

func validCause(c string) bool { return slices.Contains(CauseCategories, c) }

// Changes are field updates made by staff; nil fields are left alone.
type Changes struct {
	Priority *Priority
	Assignee *string // e-mail; "" unassigns
	Queue    *string
	Service  *string
	Level    *Level
	Team     *string
	Subject  *string
	// Tags replaces the ticket's tag set (see NormTags).
	Tags *[]string
	// Protocol is the protocol-register number ("" clears it).
	Protocol *string
}

// Update changes ticket fields, recording each change in the history.
func (d *Desk) Update(ctx context.Context, a Actor, number string, c Changes) (Ticket, error) {
	if c.Priority != nil && !c.Priority.Valid() {
		return Ticket{}, FieldError("priority", "unknown priority %q", *c.Priority)
	}
	if c.Level != nil && !c.Level.Valid() {
		return Ticket{}, FieldError("level", "level must be 1 or 2")
	}
	var tags []string
	if c.Tags != nil {
		var err error
		if tags, err = NormTags(*c.Tags); err != nil {
			return Ticket{}, err
		}
	}
	var protocol string
	if c.Protocol != nil {
		protocol = cleanLine(*c.Protocol)
		if utf8.RuneCountInString(protocol) > MaxProtocol {
			return Ticket{}, FieldError("protocol", "protocol number longer than %d characters", MaxProtocol)
		}
	}
	var subject string
	if c.Subject != nil {
		var err error
		if subject, err = cleanText("subject", cleanLine(*c.Subject), MaxSubject, true); err != nil {
			return Ticket{}, err
		}
	}
	return d.mutateTx(ctx, a, number, func(tx Tx, t *Ticket, prev Ticket, now time.Time) ([]Event, error) {
		if !CanWorkTicket(a, &prev) {
			return nil, Errorf(EForbidden, "only staff can change a ticket")
		}
		var evs []Event
		if c.Priority != nil && *c.Priority != prev.Priority {
			t.Priority = *c.Priority
			evs = append(evs, Event{Field: "priority", Old: string(prev.Priority), New: string(t.Priority)})
		}
		if c.Level != nil && *c.Level != prev.Level {
			t.Level = *c.Level
			evs = append(evs, Event{Field: "level", Old: strconv.Itoa(int(prev.Level)), New: strconv.Itoa(int(t.Level))})
		}
		if c.Subject != nil && subject != prev.Subject {
			t.Subject = subject
			evs = append(evs, Event{Field: "subject", Old: prev.Subject, New: subject})
		}
		if c.Tags != nil && JoinTags(tags) != JoinTags(prev.Tags) {
			t.Tags = tags
			evs = append(evs, Event{Field: "tags", Old: JoinTags(prev.Tags), New: JoinTags(tags)})
		}
		if c.Team != nil && cleanLine(*c.Team) != prev.Team {
			t.Team = cleanLine(*c.Team)
			evs = append(evs, Event{Field: "team", Old: prev.Team, New: t.Team})
		}
		if c.Assignee != nil {
			email := NormEmail(*c.Assignee)
			var id int64
			if email != "" {
				u, err := tx.UserByEmail(ctx, email)
				var who Actor
				if err == nil && u.Active {
					who, err = actorOf(ctx, tx, u)
				}
				if err != nil || !u.Active || !CanWorkTicket(who, &prev) {
					return nil, FieldError("assignee", "%q is not an agent of this organisation", *c.Assignee)
				}
				id = u.ID
			}
			if id != prev.AssigneeID {
				t.AssigneeID = id
				evs = append(evs, Event{Field: "assignee", Old: prev.AssigneeEmail, New: email})
			}
		}
		if c.Queue != nil && *c.Queue != prev.QueueCode {
			q, err := tx.QueueByCode(ctx, prev.OrgID, *c.Queue)
			if err != nil {
				return nil, FieldError("queue", "unknown queue %q", *c.Queue)
			}
			t.QueueID = q.ID
			evs = append(evs, Event{Field: "queue", Old: prev.QueueCode, New: q.Code})
		}
		if c.Service != nil && *c.Service != prev.ServiceCode {
			var id int64
			if *c.Service != "" {
				s, err := tx.ServiceByCode(ctx, prev.OrgID, *c.Service)
				if err != nil || !s.Active {
					return nil, FieldError("service", "unknown service %q", *c.Service)
				}
				id = s.ID
			}
			t.ServiceID = id
			evs = append(evs, Event{Field: "service", Old: prev.ServiceCode, New: *c.Service})
			if d.serviceChange != nil {
				more, err := d.serviceChange(ctx, tx, prev, *t)
				if err != nil {
					return nil, err
				}
				evs = append(evs, more...)
			}
		}
		if c.Protocol != nil {
			old, err := tx.TicketProtocol(ctx, prev.ID)
			if err != nil {
				return nil, err
			}
			if protocol != old {
				if err := tx.SetTicketProtocol(ctx, prev.ID, protocol, now); err != nil {
					return nil, err
				}
				evs = append(evs, Event{Field: "protocol", Old: old, New: protocol})
			}
		}
		return evs, nil
	})
}

// MaxProtocol bounds a protocol number.
const MaxProtocol = 100

// Escalate moves a ticket to second-level support, recording why.
func (d *Desk) Escalate(ctx context.Context, a Actor, number, reason string) (Ticket, error) {
	reason, err := cleanText("reason", reason, 10_000, false)
	if err != nil {
		return Ticket{}, err
	}
	return d.mutate(ctx, a, number, func(t *Ticket, prev Ticket, now time.Time) ([]Event, error) {
		if !CanWorkTicket(a, &prev) {
			return nil, Errorf(EForbidden, "only staff can escalate a ticket")
		}
		if prev.Level == LevelSecond {
			return nil, Errorf(EConflict, "ticket %s is already at second level", prev.Number)
		}
		if prev.Status.Final() {
			return nil, Errorf(EConflict, "ticket %s is %s", prev.Number, prev.Status)
		}
		t.Level = LevelSecond
		evs := []Event{{Field: "level", Old: "1", New: "2"}}
		if reason != "" {
			evs = append(evs, Event{Field: "reason", New: reason})
		}
		return evs, nil
	})
}

type mutation func(tx Tx, t *Ticket, prev Ticket, now time.Time) ([]Event, error)

func (d *Desk) mutate(ctx context.Context, a Actor, number string, fn func(t *Ticket, prev Ticket, now time.Time) ([]Event, error)) (Ticket, error) {
	return d.mutateTx(ctx, a, number, func(_ Tx, t *Ticket, prev Ticket, now time.Time) ([]Event, error) {
		return fn(t, prev, now)
	})
}

// mutateTx is the one path for changing a ticket: load it (visible to the
// actor), apply fn, write it with its history events, in one transaction.
// Events only need Field/Old/New; the rest is filled here.
func (d *Desk) mutateTx(ctx context.Context, a Actor, number string, fn mutation) (Ticket, error) {
	var out Ticket
	now := d.Now()
	err := d.store.Update(ctx, func(tx Tx) error {
		prev, err := d.visibleTicket(ctx, tx, a, number)
		if err != nil {
			return err
		}
		next := prev
		evs, err := fn(tx, &next, prev, now)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			out = prev
			return nil
		}
		next.Updated = now
		if err := tx.UpdateTicket(ctx, &prev, &next); err != nil {
			return err
		}
		for i := range evs {
			evs[i].TicketID, evs[i].ActorID, evs[i].ActorName, evs[i].At = prev.ID, a.UserID, actorName(a), now
		}
		if err := tx.InsertEvents(ctx, evs); err != nil {
			return err
		}
		out, err = tx.TicketByID(ctx, prev.ID)
		if err != nil {
			return err
		}
		if out.Protocol, err = tx.TicketProtocol(ctx, prev.ID); err != nil {
			return err
		}
		return d.statusHook(ctx, tx, prev, out)
	})
	if err != nil {
		return Ticket{}, err
	}
	d.changed(out.ID)
	return out, nil
}

// Timeline is everything shown on a ticket page.
type Timeline struct {
	Ticket      Ticket
	Messages    []Message
	Events      []Event
	Attachments []Attachment
	Links       []Link
}

// Timeline returns a ticket with its messages, history, attachments and
// links as the actor may see them (no internal notes for requesters).
func (d *Desk) Timeline(ctx context.Context, a Actor, number string) (Timeline, error) {
	var tl Timeline
	err := d.store.View(ctx, func(tx Tx) error {
		t, err := d.visibleTicket(ctx, tx, a, number)
		if err != nil {
			return err
		}
		if t.Fields, err = tx.TicketFields(ctx, t.ID); err != nil {
			return err
		}
		if t.Protocol, err = tx.TicketProtocol(ctx, t.ID); err != nil {
			return err
		}
		tl.Ticket = t
		internal := CanWorkTicket(a, &t)
		if tl.Messages, err = tx.Messages(ctx, t.ID, internal); err != nil {
			return err
		}
		if tl.Events, err = tx.Events(ctx, t.ID); err != nil {
			return err
		}
		if !internal {
			tl.Events = publicEvents(tl.Events)
		}
		atts, err := tx.Attachments(ctx, t.ID)
		if err != nil {
			return err
		}
		visible := map[int64]bool{0: true}
		for _, m := range tl.Messages {
			visible[m.ID] = true
		}
		for _, at := range atts {
			if visible[at.MessageID] {
				tl.Attachments = append(tl.Attachments, at)
			}
		}
		tl.Links, err = tx.Links(ctx, t.ID)
		return err
	})
	return tl, err
}

// publicEvents drops history entries that reveal internal work to requesters.
func publicEvents(evs []Event) []Event {
	out := evs[:0:0]
	for _, e := range evs {
		switch e.Field {
		case "note", "assignee", "team", "level", "queue", "tags":
			continue
		}
		out = append(out, e)
	}
	return out
}

// Attachment returns an attachment's metadata and content if the actor may see it.
func (d *Desk) Attachment(ctx context.Context, a Actor, number string, id int64) (Attachment, []byte, error) {
	var at Attachment
	var data []byte
	err := d.store.View(ctx, func(tx Tx) error {
		t, err := d.visibleTicket(ctx, tx, a, number)
		if err != nil {
			return err
		}
		at, err = tx.AttachmentByID(ctx, id)
		if err != nil || at.TicketID != t.ID {
			return Errorf(ENotFound, "attachment not found")
		}
		if at.MessageID != 0 && !CanWorkTicket(a, &t) {
			ms, err := tx.Messages(ctx, t.ID, false)
			if err != nil {
				return err
			}
			ok := false
			for _, m := range ms {
				ok = ok || m.ID == at.MessageID
			}
			if !ok {
				return Errorf(ENotFound, "attachment not found")
			}
		}
		data, err = tx.Blob(ctx, at.SHA256)
		return err
	})
	return at, data, err
}

// LinkTickets relates two tickets (both ways are visible from either side).
func (d *Desk) LinkTickets(ctx context.Context, a Actor, number, other string, kind LinkKind) error {
	if !kind.Valid() || kind == LinkMerged {
		return FieldError("kind", "unknown link kind %q", kind)
	}
	if number == other {
		return FieldError("ticket", "a ticket cannot be linked to itself")
	}
	now := d.Now()
	_, err := d.mutateTx(ctx, a, number, func(tx Tx, t *Ticket, prev Ticket, _ time.Time) ([]Event, error) {
		if !CanWorkTicket(a, &prev) {
			return nil, Errorf(EForbidden, "only staff can link tickets")
		}
		o, err := d.visibleTicket(ctx, tx, a, other)
		if err != nil {
			return nil, FieldError("ticket", "ticket %s not found", other)
		}
		if err := tx.InsertLink(ctx, Link{FromID: prev.ID, ToID: o.ID, Kind: kind, Created: now}); err != nil {
			return nil, err
		}
		return []Event{{Field: "link", New: string(kind) + " " + o.Number}}, nil
	})
	return err
}

// Merge folds source into target: its messages and attachments move to the
// target, the source is closed with a pointer to the target, and both
// histories record it.
func (d *Desk) Merge(ctx context.Context, a Actor, source, target string) (Ticket, error) {
	if source == target {
		return Ticket{}, FieldError("target", "a ticket cannot be merged into itself")
	}
	var targetID int64
	now := d.Now()
	_, err := d.mutateTx(ctx, a, source, func(tx Tx, t *Ticket, prev Ticket, _ time.Time) ([]Event, error) {
		if !CanWorkTicket(a, &prev) {
			return nil, Errorf(EForbidden, "only staff can merge tickets")
		}
		if prev.MergedInto != 0 {
			return nil, Errorf(EConflict, "ticket %s is already merged", prev.Number)
		}
		tg, err := d.visibleTicket(ctx, tx, a, target)
		if err != nil {
			return nil, FieldError("target", "ticket %s not found", target)
		}
		if tg.MergedInto != 0 || tg.OrgID != prev.OrgID {
			return nil, Errorf(EConflict, "ticket %s cannot receive a merge", tg.Number)
		}
		if err := tx.MoveMessages(ctx, prev.ID, tg.ID); err != nil {
			return nil, err
		}
		if err := tx.InsertLink(ctx, Link{FromID: prev.ID, ToID: tg.ID, Kind: LinkMerged, Created: now}); err != nil {
			return nil, err
		}
		tgNext := tg
		tgNext.Updated = now
		if err := tx.UpdateTicket(ctx, &tg, &tgNext); err != nil {
			return nil, err
		}
		if err := tx.InsertEvents(ctx, []Event{{TicketID: tg.ID, ActorID: a.UserID, ActorName: actorName(a), At: now, Field: "merged_from", New: prev.Number}}); err != nil {
			return nil, err
		}
		if err := tx.Reindex(ctx, tg.ID); err != nil {
			return nil, err
		}
		if err := tx.Reindex(ctx, prev.ID); err != nil {
			return nil, err
		}
		targetID = tg.ID
		t.MergedInto = tg.ID
		evs := []Event{{Field: "merged_into", New: tg.Number}}
		if !prev.Status.Final() {
			t.Status = StatusClosed
			evs = append(evs, Event{Field: "status", Old: string(prev.Status), New: string(StatusClosed)})
		}
		return evs, nil
	})
	if err != nil {
		return Ticket{}, err
	}
	d.changed(targetID)
	var out Ticket
	err = d.store.View(ctx, func(tx Tx) error {
		out, err = tx.TicketByID(ctx, targetID)
		return err
	})
	return out, err
}
