package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sportello runs one command line in-process and returns its exit code and
// outputs.
func sportello(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestWholeProduct runs the commands a new user runs: demo, token, serve,
// then creates a ticket with the API, finds it by search and reads its
// history, and checks the public pages.
func TestWholeProduct(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-product test")
	}
	data := t.TempDir()
	t.Setenv("SPORTELLO_DATABASE_URL", "")
	t.Setenv("SPORTELLO_SECRET_KEY", "")
	code, out, errOut := sportello(t, "demo", "--data", data, "--tickets", "40")
	if code != 0 || !strings.Contains(out, "admin@demo.example.it") || !strings.Contains(out, "utente@demo.example.it") {
		t.Fatalf("demo: %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := sportello(t, "demo", "--data", data); code != 0 || !strings.Contains(errOut, "già presenti") {
		t.Fatalf("second demo is not idempotent: %d %s", code, errOut)
	}
	code, tok, errOut := sportello(t, "token", "create", "--data", data, "--user", "agente@demo.example.it", "--role", "agent")
	tok = strings.TrimSpace(tok)
	if code != 0 || !strings.HasPrefix(tok, "spt_") || strings.Contains(tok, "\n") {
		t.Fatalf("token: %d %q %s", code, tok, errOut)
	}
	if _, err := os.Stat(filepath.Join(data, "secret.key")); err != nil {
		t.Fatalf("no generated secret key: %v", err)
	}

	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		var o, e bytes.Buffer
		done <- run(ctx, []string{"serve", "--data", data, "--addr", addr}, &o, &e)
	}()
	base := "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(base + "/healthz")
		if err == nil && res.StatusCode == 200 {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server never became healthy")
		}
		time.Sleep(20 * time.Millisecond)
	}
	call := func(method, path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}
	code, tk := call("POST", "/api/v1/tickets", `{"subject":"BDNA - errore di accesso","description":"Credenziali rifiutate dal portale","requester":{"email":"mario.rossi@comune.example.it","name":"Mario Rossi"}}`)
	if code != 201 {
		t.Fatalf("create: %d %v", code, tk)
	}
	num := tk["number"].(string)
	_, page := call("GET", "/api/v1/tickets?q=credenziali", "")
	if items := page["items"].([]any); len(items) == 0 || items[0].(map[string]any)["number"] != num {
		t.Fatalf("search did not find %s: %v", num, page)
	}
	// A staff reply and a resolution go through the e-mail hooks.
	if code, out := call("POST", "/api/v1/tickets/"+num+"/comments", `{"body":"Abbiamo ripristinato le credenziali."}`); code != 201 {
		t.Fatalf("reply: %d %v", code, out)
	}
	if code, out := call("POST", "/api/v1/tickets/"+num+"/transitions", `{"to":"resolved","cause":{"category":"account","text":"Password scaduta"}}`); code != 200 {
		t.Fatalf("resolve: %d %v", code, out)
	}
	_, hist := call("GET", "/api/v1/tickets/"+num+"/history", "")
	if len(hist["items"].([]any)) == 0 {
		t.Fatal("no history")
	}
	for path, want := range map[string]string{
		"/":                              "<html",
		"/login":                         "password",
		"/trasparenza/procedimenti":      "Dr. Luigi Settembrini",
		"/trasparenza/procedimenti.csv":  "Sussiste pregiudizio",
		"/trasparenza/procedimenti.json": "Gestione tecnica telefonia fissa",
		"/api/v1/openapi.json":           `"openapi"`,
		"/metrics":                       "sportello_tickets_created_total",
	} {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("GET %s: %d, body lacks %q", path, res.StatusCode, want)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff header", path)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited with %d", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not shut down")
	}

	// Backup while nothing runs, and the copy opens.
	code, out, errOut = sportello(t, "backup", "--data", data, "--out", filepath.Join(t.TempDir(), "copia.db"))
	if code != 0 || !strings.HasSuffix(strings.TrimSpace(out), "copia.db") {
		t.Fatalf("backup: %d %s %s", code, out, errOut)
	}
	if code, out, _ := sportello(t, "migrate", "--data", data); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %d %s", code, out)
	}
}

func TestHelpAndUsage(t *testing.T) {
	for _, c := range commands() {
		args := []string{c.name, "--help"}
		code, _, errOut := sportello(t, args...)
		if code != 0 || !strings.Contains(strings.ToLower(errOut), "uso") {
			t.Errorf("%s --help: exit %d, output %q", c.name, code, errOut)
		}
	}
	if code, _, errOut := sportello(t, "nonesiste"); code != 2 || !strings.Contains(errOut, "sconosciuto") {
		t.Errorf("unknown command: %d %s", code, errOut)
	}
	if code, _, _ := sportello(t, "token", "create", "--user", "x@example.it"); code != 2 {
		t.Errorf("token without role: exit %d, want 2", code)
	}
	if code, _, errOut := sportello(t, "serve", "--data", t.TempDir(), "extra"); code != 2 {
		t.Errorf("stray argument: %d %s", code, errOut)
	}
	t.Setenv("SPORTELLO_DATABASE_URL", "mysql://nope")
	if code, _, errOut := sportello(t, "migrate", "--data", t.TempDir()); code != 1 || !strings.Contains(errOut, "postgres://") {
		t.Errorf("bad database URL: %d %s", code, errOut)
	}

}
