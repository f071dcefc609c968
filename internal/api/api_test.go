package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/sportello/sportello/internal/api"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store/storetest"
)

// env is an API on a real SQLite store with tokens for each role.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	fx     *storetest.Fixture
	tokens map[string]string
	router routers.Router
}

func newEnv(t *testing.T) *env {
	t.Helper()
	fx := storetest.NewFixture(t, storetest.OpenSQLite(t))
	a := api.New(api.Opts{Desk: fx.Desk, MaxBody: 2 << 20})
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, fx: fx, tokens: map[string]string{}}
	for name, actor := range map[string]desk.Actor{"admin": fx.Admin, "agent": fx.Agent, "requester": fx.Requester, "other": fx.Other, "outsider": fx.Outsider} {
		tok, _, err := fx.Desk.CreateToken(context.Background(), actor.UserID, name, 0)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[name] = tok
	}
	doc := loadDoc(t)
	doc.Servers = openapi3.Servers{{URL: srv.URL + "/api/v1"}}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	e.router = r
	return e
}

func loadDoc(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI())
	if err != nil {
		t.Fatalf("load OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("OpenAPI document invalid: %v", err)
	}
	return doc
}

// do sends a request as who ("" for no token) and checks the response
// against the OpenAPI document.
func (e *env) do(who, method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, _ := json.Marshal(b)
		rd = bytes.NewReader(buf)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[who])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			e.t.Fatalf("%s %s: response is not JSON: %s", method, path, raw)
		}
		if res.StatusCode >= 400 {
			if out["code"] == "" || out["message"] == "" {
				e.t.Fatalf("%s %s: error without code/message: %s", method, path, raw)
			}
		}
	}
	if res.StatusCode >= 500 {
		e.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	e.validate(req, res, raw)
	return res.StatusCode, out
}

// validate checks a response against the document with kin-openapi.
func (e *env) validate(req *http.Request, res *http.Response, body []byte) {
	e.t.Helper()
	route, params, err := e.router.FindRoute(req)
	if err != nil {
		if res.StatusCode == http.StatusNotFound {
			return // unknown endpoints are not in the document
		}
		e.t.Fatalf("%s %s: not in the OpenAPI document: %v", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		e.t.Fatalf("%s %s: response does not match the OpenAPI document: %v\n%s", req.Method, req.URL.Path, err, body)
	}
}

func (e *env) count(table string) int { return e.fx.Count(e.t, table) }

func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := loadDoc(t)
	if doc.OpenAPI != "3.0.3" {
		t.Fatalf("openapi = %s", doc.OpenAPI)
	}
	// Every route of the table is described, and nothing more.
	a := api.New(api.Opts{})
	for _, r := range a.Routes() {
		p := strings.TrimPrefix(r.Path, "/api/v1")
		item := doc.Paths.Find(p)
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("%s %s is not in the OpenAPI document", r.Method, r.Path)
		}
	}
}

func TestTicketLifecycleOverHTTP(t *testing.T) {
	e := newEnv(t)
	code, tk := e.do("requester", "POST", "/api/v1/tickets", map[string]any{"subject": "BDNA - errore di accesso", "description": "Non riesco ad accedere alla BDNA dal 12 ottobre."})
	if code != 201 {
		t.Fatalf("create: %d %v", code, tk)
	}
	num := tk["number"].(string)
	if tk["status"] != "new" || tk["channel"] != "api" || tk["requester"].(map[string]any)["email"] != "utente@example.it" {
		t.Fatalf("created %v", tk)
	}
	if code, _ := e.do("agent", "GET", "/api/v1/tickets/"+num, nil); code != 200 {
		t.Fatalf("agent get: %d", code)
	}
	if code, _ := e.do("agent", "POST", "/api/v1/tickets/"+num+"/comments", map[string]any{"body": "Può inviare uno screenshot?", "internal": false}); code != 201 {
		t.Fatalf("reply: %d", code)
	}
	att := base64.StdEncoding.EncodeToString([]byte("immagine"))
	if code, m := e.do("requester", "POST", "/api/v1/tickets/"+num+"/comments", map[string]any{"body": "Ecco", "attachments": []map[string]any{{"name": "schermata.png", "content_type": "image/png", "data": att}}}); code != 201 || len(m["attachments"].([]any)) != 1 {
		t.Fatalf("reply with attachment: %d %v", code, m)
	}
	if code, _ := e.do("agent", "POST", "/api/v1/tickets/"+num+"/comments", map[string]any{"body": "verificare profilo utente", "internal": true}); code != 201 {
		t.Fatalf("note: %d", code)
	}
	_, tl := e.do("requester", "GET", "/api/v1/tickets/"+num+"/messages", nil)
	if n := len(tl["messages"].([]any)); n != 2 {
		t.Fatalf("requester sees %d messages, want 2 (no internal note)", n)
	}
	msgs := tl["messages"].([]any)
	url := msgs[1].(map[string]any)["attachments"].([]any)[0].(map[string]any)["url"].(string)
	req, _ := http.NewRequest("GET", e.srv.URL+url, nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["agent"])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "immagine" || res.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(res.Header.Get("Content-Disposition"), "schermata.png") {
		t.Fatalf("download: %q %v", body, res.Header)
	}
	if code, out := e.do("agent", "POST", "/api/v1/tickets/"+num+"/transitions", map[string]any{"to": "resolved", "cause": map[string]any{"category": "account", "text": "Utenza scaduta, rinnovata"}}); code != 200 || out["status"] != "resolved" {
		t.Fatalf("resolve: %d %v", code, out)
	}
	if code, out := e.do("requester", "POST", "/api/v1/tickets/"+num+"/transitions", map[string]any{"to": "closed"}); code != 200 || out["status"] != "closed" {
		t.Fatalf("confirm: %d %v", code, out)
	}
	_, hist := e.do("agent", "GET", "/api/v1/tickets/"+num+"/history", nil)
	var fields []string
	for _, it := range hist["items"].([]any) {
		fields = append(fields, it.(map[string]any)["field"].(string))
	}
	if got := strings.Join(fields, ","); got != "created,reply,status,incoming,note,status,cause,status" {
		t.Fatalf("history fields %s", got)
	}
	_, page := e.do("agent", "GET", "/api/v1/tickets?q=bdna&limit=10", nil)
	if items := page["items"].([]any); len(items) != 1 || page["next"] != nil {
		t.Fatalf("search: %v", page)
	}
}

func TestBadInputIsRefusedCleanly(t *testing.T) {
	e := newEnv(t)
	_, tk := e.do("agent", "POST", "/api/v1/tickets", map[string]any{"subject": "Esistente"})
	num := tk["number"].(string)
	tickets, events, users, messages := e.count("tickets"), e.count("events"), e.count("users"), e.count("messages")
	big := base64.StdEncoding.EncodeToString(make([]byte, 1<<20+1))
	cases := []struct {
		name, who, method, path string
		body                    any
		status                  int
		code                    string
	}{
		{"no token", "", "GET", "/api/v1/tickets", nil, 401, "unauthorized"},
		{"invalid JSON", "agent", "POST", "/api/v1/tickets", `{"subject": "x",`, 400, "invalid_request"},
		{"not an object", "agent", "POST", "/api/v1/tickets", `[1,2]`, 400, "invalid_request"},
		{"unknown field", "agent", "POST", "/api/v1/tickets", map[string]any{"subject": "x", "urgenza": 3}, 400, "invalid_request"},
		{"wrong type", "agent", "POST", "/api/v1/tickets", map[string]any{"subject": 42}, 400, "invalid_request"},
		{"two objects", "agent", "POST", "/api/v1/tickets", `{"subject":"a"}{"subject":"b"}`, 400, "invalid_request"},
		{"empty body", "agent", "POST", "/api/v1/tickets", "", 400, "invalid_request"},
		{"missing subject", "agent", "POST", "/api/v1/tickets", map[string]any{"description": "x"}, 400, "invalid_request"},
		{"unknown service", "agent", "POST", "/api/v1/tickets", map[string]any{"subject": "x", "service": "teletrasporto", "requester": map[string]any{"email": "nuovo@example.it"}}, 400, "invalid_request"},
		{"bad priority", "agent", "POST", "/api/v1/tickets", map[string]any{"subject": "x", "priority": "subito"}, 400, "invalid_request"},
		{"bad base64", "agent", "POST", "/api/v1/tickets", map[string]any{"subject": "x", "attachments": []map[string]any{{"name": "a", "data": "***"}}}, 400, "invalid_request"},
		{"oversize body", "agent", "POST", "/api/v1/tickets", map[string]any{"subject": "x", "description": strings.Repeat("a", 3<<20)}, 413, "too_large"},
		{"attachment too large", "agent", "POST", "/api/v1/tickets/" + num + "/comments", map[string]any{"body": "x", "attachments": []map[string]any{{"name": "a.bin", "data": big}}}, 413, "too_large"},
		{"missing ticket", "agent", "GET", "/api/v1/tickets/2026-999999", nil, 404, "not_found"},
		{"malformed number", "agent", "GET", "/api/v1/tickets/..%2f..%2fetc", nil, 404, "not_found"},
		{"impossible transition", "agent", "POST", "/api/v1/tickets/" + num + "/transitions", map[string]any{"to": "closed"}, 409, "conflict"},
		{"unknown status", "agent", "POST", "/api/v1/tickets/" + num + "/transitions", map[string]any{"to": "chiuso"}, 400, "invalid_request"},
		{"missing to", "agent", "POST", "/api/v1/tickets/" + num + "/transitions", map[string]any{}, 400, "invalid_request"},
		{"other requester's ticket", "other", "GET", "/api/v1/tickets/" + num, nil, 404, "not_found"},
		{"other organisation's ticket", "outsider", "GET", "/api/v1/tickets/" + num, nil, 404, "not_found"},
		{"requester internal note", "requester", "POST", "/api/v1/tickets/" + num + "/comments", map[string]any{"body": "x", "internal": true}, 404, "not_found"},
		{"requester changes priority", "requester", "PATCH", "/api/v1/tickets/" + num, map[string]any{"priority": "urgent"}, 404, "not_found"},
		{"requester looks people up", "requester", "GET", "/api/v1/users?q=a", nil, 403, "forbidden"},
		{"agent creates user", "agent", "POST", "/api/v1/users", map[string]any{"email": "x@example.it", "role": "agent"}, 403, "forbidden"},
		{"bad limit", "agent", "GET", "/api/v1/tickets?limit=0", nil, 400, "invalid_request"},
		{"bad cursor", "agent", "GET", "/api/v1/tickets?cursor=abc", nil, 400, "invalid_request"},
		{"unknown parameter", "agent", "GET", "/api/v1/tickets?stato=open", nil, 400, "invalid_request"},
		{"unknown endpoint", "agent", "GET", "/api/v1/nothing", nil, 404, "not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			code, out := e.do(c.who, c.method, c.path, c.body)
			if code != c.status || out["code"] != c.code {
				t.Fatalf("got %d %v, want %d %s", code, out, c.status, c.code)
			}
		})
	}
	e.t = t
	if e.count("tickets") != tickets || e.count("events") != events || e.count("users") != users || e.count("messages") != messages {
		t.Fatal("a refused request left rows behind")
	}
	// A bad token gets 401 too.
	e.tokens["forged"] = "spt_forged"
	if code, _ := e.do("forged", "GET", "/api/v1/tickets", nil); code != 401 {
		t.Fatalf("forged token: %d", code)
	}
}

func TestPagination(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 5; i++ {
		e.do("agent", "POST", "/api/v1/tickets", map[string]any{"subject": fmt.Sprintf("richiesta %d", i), "channel": "phone"})
	}
	var seen []string
	path := "/api/v1/tickets?limit=2"
	for {
		_, page := e.do("agent", "GET", path, nil)
		for _, it := range page["items"].([]any) {
			seen = append(seen, it.(map[string]any)["number"].(string))
		}
		if page["next"] == nil {
			break
		}
		path = "/api/v1/tickets?limit=2&cursor=" + page["next"].(string)
	}
	if len(seen) != 5 || seen[0] < seen[4] {
		t.Fatalf("pages %v, want 5 newest first", seen)
	}
}

// FuzzDecodeTicket posts arbitrary bodies: the answer is 201 or a 4xx JSON
// error, never a 500.
func FuzzDecodeTicket(f *testing.F) {
	for _, s := range []string{`{"subject":"x"}`, `{"subject":1}`, `{`, `[]`, `null`, `{"subject":"x","requester":{"email":"a@b.it"}}`,
		`{"subject":"x","attachments":[{"name":"a","data":"YQ=="}]}`, `{"subject":"\u0000"}`, `{"subject":"x"}{}`} {
		f.Add(s)
	}
	fx := storetest.NewFixture(f, storetest.OpenSQLite(f))
	tok, _, err := fx.Desk.CreateToken(context.Background(), fx.Agent.UserID, "fuzz", 0)
	if err != nil {
		f.Fatal(err)
	}
	h := api.New(api.Opts{Desk: fx.Desk, MaxBody: 1 << 16})
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/api/v1/tickets", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 201 && (rec.Code < 400 || rec.Code >= 500) {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("non-JSON answer for %q", body)
		}
	})
}
