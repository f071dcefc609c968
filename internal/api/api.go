// Package api is the REST API under /api/v1: JSON in and out, bearer
// tokens, errors as {code, message}. It calls the desk domain for every
// rule; this package only translates HTTP to domain calls and back.
package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/httpstatus"
	"github.com/sportello/sportello/internal/workflow"
)

// Opts configures the API.
type Opts struct {
	Desk   *desk.Desk
	Logger *slog.Logger
	// MaxBody bounds request bodies (default 32 MiB, enough for base64 attachments).
	MaxBody int64
	// Workflow, when set, enables phases, approvals, supplier calls and
	// catalogue import/export.
	Workflow *workflow.Engine
	// PEC, when set, enables the PEC routes (certification data,
	// evidence download, delivery alerts).
	PEC PECService
}

// API serves /api/v1.
type API struct {
	desk    *desk.Desk
	log     *slog.Logger
	maxBody int64
	mux     *http.ServeMux
	wf      *workflow.Engine
	pec     PECService
}

// New builds the API and its route table.
func New(o Opts) *API {
	a := &API{desk: o.Desk, log: o.Logger, maxBody: o.MaxBody, mux: http.NewServeMux(), wf: o.Workflow, pec: o.PEC}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.maxBody <= 0 {
		a.maxBody = 32 << 20
	}
	a.routes()
	return a
}

// Route is one entry of the route table, kept as data so that tests (the
// authorisation matrix) can enumerate every route.
type Route struct {
	Method, Path string
	Public       bool
	// Scope is the token scope the route needs; zero means read for GET
	// and write for everything else (see RequiredScope).
	Scope   desk.TokenScope
	handler func(http.ResponseWriter, *http.Request, desk.Actor) error
}

// RequiredScope is the token scope a route needs.
func (r Route) RequiredScope() desk.TokenScope {
	switch {
	case r.Scope != 0:
		return r.Scope
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return desk.ScopeRead
	}
	return desk.ScopeWrite
}

// Routes returns the route table.
func (a *API) Routes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/openapi.json", Public: true},
		{Method: "GET", Path: "/api/v1/me", handler: a.me},
		{Method: "GET", Path: "/api/v1/tickets", handler: a.listTickets},
		{Method: "POST", Path: "/api/v1/tickets", handler: a.createTicket},
		{Method: "GET", Path: "/api/v1/tickets/{number}", handler: a.getTicket},
		{Method: "PATCH", Path: "/api/v1/tickets/{number}", handler: a.updateTicket},
		{Method: "GET", Path: "/api/v1/tickets/{number}/messages", handler: a.messages},
		{Method: "GET", Path: "/api/v1/tickets/{number}/history", handler: a.history},
		{Method: "POST", Path: "/api/v1/tickets/{number}/comments", handler: a.addComment},
		{Method: "POST", Path: "/api/v1/tickets/{number}/transitions", handler: a.transition},
		{Method: "POST", Path: "/api/v1/tickets/{number}/escalate", handler: a.escalate},
		{Method: "PUT", Path: "/api/v1/tickets/{number}/fields", handler: a.setFields},
		{Method: "POST", Path: "/api/v1/tickets/{number}/links", handler: a.link},
		{Method: "POST", Path: "/api/v1/tickets/{number}/merge", handler: a.merge},
		{Method: "GET", Path: "/api/v1/tickets/{number}/attachments/{id}", handler: a.attachment},
		{Method: "GET", Path: "/api/v1/tickets/{number}/phases", handler: a.phases},
		{Method: "POST", Path: "/api/v1/tickets/{number}/phases/{code}/complete", handler: a.completePhase},
		{Method: "POST", Path: "/api/v1/tickets/{number}/phases/{code}/skip", handler: a.skipPhase},
		{Method: "POST", Path: "/api/v1/tickets/{number}/approval", handler: a.approval},
		{Method: "POST", Path: "/api/v1/tickets/{number}/supplier-calls", handler: a.callSupplier},
		{Method: "POST", Path: "/api/v1/tickets/{number}/supplier-calls/{id}/resolve", handler: a.supplierResolved},
		{Method: "POST", Path: "/api/v1/tickets/{number}/verification", handler: a.verification},
		{Method: "GET", Path: "/api/v1/catalogue", handler: a.exportCatalogue},
		{Method: "PUT", Path: "/api/v1/catalogue", Scope: desk.ScopeAdmin, handler: a.importCatalogue},
		{Method: "GET", Path: "/api/v1/users", handler: a.findUsers},
		{Method: "POST", Path: "/api/v1/users", Scope: desk.ScopeAdmin, handler: a.createUser},
		{Method: "GET", Path: "/api/v1/queues", handler: a.queues},
		{Method: "GET", Path: "/api/v1/services", handler: a.services},
		{Method: "GET", Path: "/api/v1/organisations", handler: a.organisations},
		{Method: "POST", Path: "/api/v1/organisations", Scope: desk.ScopeAdmin, handler: a.createOrganisation},
		{Method: "GET", Path: "/api/v1/users/{email}/memberships", Scope: desk.ScopeAdmin, handler: a.memberships},
		{Method: "POST", Path: "/api/v1/users/{email}/memberships", Scope: desk.ScopeAdmin, handler: a.addMembership},
		{Method: "DELETE", Path: "/api/v1/users/{email}/memberships/{id}", Scope: desk.ScopeAdmin, handler: a.removeMembership},
		{Method: "GET", Path: "/api/v1/tokens", handler: a.tokens},
		{Method: "POST", Path: "/api/v1/tokens", Scope: desk.ScopeAdmin, handler: a.createToken},
		{Method: "DELETE", Path: "/api/v1/tokens/{id}", Scope: desk.ScopeAdmin, handler: a.revokeToken},
		{Method: "GET", Path: "/api/v1/tickets/{number}/pec", handler: a.ticketPEC},
		{Method: "GET", Path: "/api/v1/tickets/{number}/pec/evidence/{id}", handler: a.pecEvidence},
		{Method: "GET", Path: "/api/v1/pec/alerts", handler: a.pecAlerts},
		{Method: "GET", Path: "/api/v1/mailboxes", Scope: desk.ScopeAdmin, handler: a.mailboxes},
		{Method: "GET", Path: "/api/v1/audit", Scope: desk.ScopeAdmin, handler: a.auditLog},
		{Method: "GET", Path: "/api/v1/privacy/people/{person}", Scope: desk.ScopeAdmin, handler: a.personalData},
		{Method: "POST", Path: "/api/v1/privacy/people/{person}/erasure", Scope: desk.ScopeAdmin, handler: a.erasePerson},
	}
}

func (a *API) routes() {
	for _, r := range a.Routes() {
		pattern := r.Method + " " + r.Path
		if r.Path == "/api/v1/openapi.json" {
			a.mux.HandleFunc(pattern, serveOpenAPI)
			continue
		}
		a.mux.Handle(pattern, a.authed(r.RequiredScope(), r.handler))
	}
	a.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, desk.Errorf(desk.ENotFound, "no such endpoint: %s %s", r.Method, r.URL.Path), a.log)
	})
}

// Pattern returns the route pattern matching r ("" if none), for metrics.
func (a *API) Pattern(r *http.Request) string {
	_, p := a.mux.Handler(r)
	return p
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	a.mux.ServeHTTP(w, r)
}

type ctxKey struct{}

// ActorFrom returns the authenticated actor of a request.
func ActorFrom(ctx context.Context) (desk.Actor, bool) {
	a, ok := ctx.Value(ctxKey{}).(desk.Actor)
	return a, ok
}

// authed resolves the bearer token and runs h, writing its error if any.
func (a *API) authed(scope desk.TokenScope, h func(http.ResponseWriter, *http.Request, desk.Actor) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sportello"`)
			writeError(w, desk.Errorf(desk.EUnauthorized, "missing bearer token: send Authorization: Bearer TOKEN (create one with 'sportello token create')"), a.log)
			return
		}
		actor, err := a.desk.TokenActor(r.Context(), strings.TrimSpace(tok))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sportello", error="invalid_token"`)
			writeError(w, err, a.log)
			return
		}
		if !actor.Allows(scope) {
			writeError(w, desk.Errorf(desk.EForbidden, "this token lacks the %s scope", scope), a.log)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, actor))
		r.Body = http.MaxBytesReader(w, r.Body, a.maxBody)
		if err := h(w, r, actor); err != nil {
			writeError(w, err, a.log)
		}
	})
}

// ErrorBody is the JSON shape of every error.
type ErrorBody struct {
	Code    desk.Code `json:"code"`
	Message string    `json:"message"`
	Field   string    `json:"field,omitempty"`
	ID      string    `json:"error_id,omitempty"`
}

func writeError(w http.ResponseWriter, err error, log *slog.Logger) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = &desk.Error{Code: desk.ETooLarge, Message: fmt.Sprintf("request body larger than %d bytes", mbe.Limit)}
	}
	code := desk.ErrorCode(err)
	body := ErrorBody{Code: code, Message: desk.ErrorMessage(err)}
	var de *desk.Error
	if errors.As(err, &de) {
		body.Field = de.Field
	}
	if code == desk.EInternal || errors.Is(err, context.DeadlineExceeded) {
		body.ID = newErrorID()
		body.Message = "internal error; quote error id " + body.ID + " to the administrator"
		log.Error("api internal error", "error_id", body.ID, "err", err)
	}
	writeJSON(w, httpstatus.Of(code), body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// decode reads one JSON object strictly: unknown fields, trailing data and
// wrong types are invalid_request errors that name the problem.
func decode(r *http.Request, v any) error {
	// Any declared type is read as JSON (curl -d sends a form type by
	// default); only multipart bodies, which cannot be JSON, are refused.
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		return desk.Errorf(desk.EInvalid, "send a JSON body (Content-Type: application/json); attachments go base64 in the attachments field")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return desk.Errorf(desk.EInvalid, "request body must hold exactly one JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return desk.Errorf(desk.EInvalid, "request body is empty: send a JSON object")
	case errors.As(err, &se):
		return desk.Errorf(desk.EInvalid, "malformed JSON at byte %d", se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return desk.Errorf(desk.EInvalid, "malformed JSON: unexpected end of input")
	case errors.As(err, &te):
		return &desk.Error{Code: desk.EInvalid, Field: te.Field, Message: fmt.Sprintf("field %q must be %s", te.Field, jsonKind(te.Type.Kind().String()))}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &desk.Error{Code: desk.EInvalid, Field: f, Message: fmt.Sprintf("unknown field %q", f)}
	}
	return desk.Errorf(desk.EInvalid, "invalid JSON: %v", err)
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "a number"
}
