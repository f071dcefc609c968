package web

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/parse"
)

// The HTML version of a received e-mail, for staff: a page with the
// message's headers, the frame, and the "show remote images" switch
// (?immagini=1, a plain link, so it works without JavaScript); and the
// frame's document with its own headers (see mailhtml.go).

// mailHTMLStore is implemented by the store's transactions.
type mailHTMLStore interface {
	TicketMailHTML(ctx context.Context, ticketID int64) (map[int64]int64, error)
}

// mailVersions returns the received e-mails with an HTML body by the desk
// message they became (0: the request itself); nil when there are none or
// the store cannot tell.
func (w *Web) mailVersions(ctx context.Context, ticketID int64) map[int64]int64 {
	var out map[int64]int64
	err := w.desk.Store().View(ctx, func(tx desk.Tx) error {
		ms, ok := tx.(mailHTMLStore)
		if !ok {
			return nil
		}
		var err error
		out, err = ms.TicketMailHTML(ctx, ticketID)
		return err
	})
	if err != nil {
		w.log.Warn("web: listing a ticket's HTML mail", "ticket", ticketID, "err", err)
		return nil
	}
	return out
}

// receivedMail loads a received message of a ticket the actor may see.
// A message of another ticket is not found.
func (w *Web) receivedMail(r *http.Request, c *reqCtx) (desk.Ticket, mailbox.Inbound, error) {
	ctx := r.Context()
	t, err := w.desk.Ticket(ctx, c.Actor, r.PathValue("number"))
	if err != nil {
		return t, mailbox.Inbound{}, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return t, mailbox.Inbound{}, desk.Errorf(desk.ENotFound, "no such message")
	}
	var in mailbox.Inbound
	err = mailbox.View(ctx, w.desk.Store(), func(tx mailbox.Tx) error {
		var err error
		in, err = tx.InboundByID(ctx, id)
		return err
	})
	if err != nil {
		return t, in, err
	}
	if in.TicketID != t.ID || in.HTML == "" {
		return t, in, desk.Errorf(desk.ENotFound, "no such message")
	}
	return t, in, nil
}

// mailBody returns the message's HTML for the frame: parsed again from the
// raw message with remote images kept for this viewer, then sanitised with
// them blocked unless images is set. The raw bytes are used only when they
// give back the HTML stored at intake (a PEC envelope, for one, holds the
// certified message inside, which the intake unwrapped); otherwise the
// stored HTML is shown, whose remote images were removed at intake.
func mailBody(in mailbox.Inbound, images bool) (string, bool) {
	src := in.HTML
	if plain, err := parse.Parse(in.Raw, parse.Options{}); err == nil && plain.HTML == in.HTML {
		if m, err := parse.Parse(in.Raw, parse.Options{RemoteImages: true}); err == nil && m.HTML != "" {
			src = m.HTML
		}
	}
	return SanitizeMailHTML(src, images)
}

type mailView struct {
	Page
	Ticket    desk.Ticket
	From      string
	Subject   string
	Received  time.Time
	FrameURL  string
	ToggleURL string
	Images    bool
	HasRemote bool
}

func (w *Web) mailPage(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	t, in, err := w.receivedMail(r, c)
	if err != nil {
		return err
	}
	images := r.URL.Query().Get("immagini") == "1"
	_, remote := mailBody(in, false)
	p := w.newPage(r, c, "workspace")
	p.Title = p.T("mail.title") + " — " + t.Number
	base := "/operatore/ticket/" + t.Number + "/posta/" + strconv.FormatInt(in.ID, 10)
	v := &mailView{Page: p, Ticket: t, From: in.From, Subject: in.Subject, Received: in.Received, Images: images, HasRemote: remote,
		FrameURL: base + "/html", ToggleURL: base + "?immagini=1"}
	if images {
		v.FrameURL += "?immagini=1"
		v.ToggleURL = base
	}
	w.render(rw, r, http.StatusOK, "mail", v)
	return nil
}

func (w *Web) mailFrame(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	_, in, err := w.receivedMail(r, c)
	if err != nil {
		return err
	}
	images := r.URL.Query().Get("immagini") == "1"
	body, _ := mailBody(in, images)
	h := rw.Header()
	h.Set("Content-Security-Policy", mailFrameCSP(images))
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, err = io.WriteString(rw, mailDocument(c.Lang, in.Subject, body))
	return err
}
