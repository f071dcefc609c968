package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/app"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/mailtest"
)

// mailboxCmd runs "sportello mailbox …" in-process.
func mailboxCmd(t *testing.T, args ...string) (error, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errOut}
	err := cmdMailbox(context.Background(), env, args)
	return err, out.String(), errOut.String()
}

func TestMailboxCommand(t *testing.T) {
	data := t.TempDir()
	t.Setenv("SPORTELLO_DATABASE_URL", "")
	t.Setenv("SPORTELLO_SECRET_KEY", "")
	const secret = "p@ss:w/rd%"
	imapURL := "imap://desk%40ente.it:p%40ss%3Aw%2Frd%25@127.0.0.1:1143/INBOX"
	err, out, errOut := mailboxCmd(t, "add", "--data", data, "--address", "Desk@Ente.it", "--imap", imapURL,
		"--smtp", "smtp://127.0.0.1:1587", "--retired", "vecchio@ente.it@2020-10-12,altro@ente.it", "--serves", "info@ente.it")
	if err != nil || !strings.Contains(out, "desk@ente.it") || !strings.Contains(out, "collegata") {
		t.Fatalf("add: %v\n%s\n%s", err, out, errOut)
	}
	if strings.Contains(out+errOut, "w/rd") || strings.Contains(out+errOut, "p%40ss") {
		t.Fatalf("password printed:\n%s%s", out, errOut)
	}
	err, out, _ = mailboxCmd(t, "list", "--data", data)
	if err != nil || !strings.Contains(out, "imap://desk%40ente.it:***@127.0.0.1:1143/INBOX") || strings.Contains(out, secret) ||
		!strings.Contains(out, "vecchio@ente.it") || !strings.Contains(out, "2020-10-12") || !strings.Contains(out, "info@ente.it") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	// The same address again updates it; a URL without password keeps it.
	err, out, _ = mailboxCmd(t, "add", "--data", data, "--address", "desk@ente.it", "--imap", "imap://desk%40ente.it@127.0.0.1:1143/Desk",
		"--smtp", "smtps://127.0.0.1:1465", "--pec", "--move-to", "Desk/Elaborati")
	if err != nil || !strings.Contains(out, "aggiornata") || !strings.Contains(out, "Desk") || !strings.Contains(out, "processed mail moves to folder Desk/Elaborati") {
		t.Fatalf("update: %v\n%s", err, out)
	}
	// The folder for processed mail must be another folder.
	if err, _, _ := mailboxCmd(t, "add", "--data", data, "--address", "desk@ente.it", "--imap", "imap://desk%40ente.it@127.0.0.1:1143/Desk",
		"--smtp", "smtps://127.0.0.1:1465", "--move-to", "Desk"); err == nil || !strings.Contains(err.Error(), "another folder") {
		t.Fatalf("moving to the folder read: %v", err)
	}
	_, out, _ = mailboxCmd(t, "list", "--data", data)
	if !strings.Contains(out, ":***@127.0.0.1:1143/Desk → Desk/Elaborati") || !strings.Contains(out, "true") {
		t.Fatalf("after update:\n%s", out)
	}
	// Bad URLs are refused without repeating the password.
	err, _, _ = mailboxCmd(t, "add", "--data", data, "--address", "x@ente.it", "--imap", "imap://u:topsecret@host:bad/", "--smtp", "smtp://h")
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("bad URL: %v", err)
	}
	// Rules: export, import, validation.
	rules := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(rules, []byte(`[{"name":"BDNA","when":[{"field":"subject","any":["BDNA"]}],"then":{"priority":"high"}},
		{"name":"rest","then":{"reply":"ack_triage"}}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err, out, _ := mailboxCmd(t, "rules", "import", "--data", data, rules); err != nil || !strings.Contains(out, "2 regole") {
		t.Fatalf("import: %v %s", err, out)
	}
	if err, out, _ := mailboxCmd(t, "rules", "export", "--data", data); err != nil || !strings.Contains(out, `"BDNA"`) || !strings.Contains(out, `"ack_triage"`) {
		t.Fatalf("export: %v %s", err, out)
	}
	if err := os.WriteFile(rules, []byte(`[{"name":"bad","then":{"priority":"asap"}}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err, _, _ := mailboxCmd(t, "rules", "import", "--data", data, rules); err == nil || !strings.Contains(err.Error(), "asap") {
		t.Fatalf("invalid rule accepted: %v", err)
	}
	// Offices from an IPA-like CSV.
	csvFile := filepath.Join(t.TempDir(), "enti.csv")
	if err := os.WriteFile(csvFile, []byte("Codice_IPA;Denominazione_ente;Provincia;Mail1;Tipo_Mail1\n"+
		"pref_fe;Prefettura di Ferrara;FE;protocollo.preffe@pec.interno.it;Pec\ncomune;Comune di Ferrara;FE;c@pec.it;Pec\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err, out, _ := mailboxCmd(t, "offices", "import", "--data", data, "--match", "prefettura", csvFile); err != nil || !strings.Contains(out, "1 uffici") {
		t.Fatalf("offices import: %v %s", err, out)
	}
	if err, out, _ := mailboxCmd(t, "offices", "list", "--data", data); err != nil || !strings.Contains(out, "protocollo.preffe@pec.interno.it") {
		t.Fatalf("offices list: %v %s", err, out)
	}
	if err, out, _ := mailboxCmd(t, "log", "--data", data, "--quarantine"); err != nil || !strings.Contains(out, "OUTCOME") {
		t.Fatalf("log: %v %s", err, out)
	}
	// Remove.
	if err, out, _ := mailboxCmd(t, "remove", "--data", data, "desk@ente.it"); err != nil || !strings.Contains(out, "scollegata") {
		t.Fatalf("remove: %v %s", err, out)
	}
	if _, out, _ := mailboxCmd(t, "list", "--data", data); strings.Contains(strings.Split(out, "Indirizzi")[0], "desk@ente.it") {
		t.Fatalf("removed mailbox still listed:\n%s", out)
	}
	if err, _, _ := mailboxCmd(t, "remove", "--data", data, "desk@ente.it"); err == nil {
		t.Fatal("removing twice succeeds")
	}
	if err, _, errOut := mailboxCmd(t); err == nil || !strings.Contains(errOut, "mailbox add") {
		t.Fatalf("usage: %v %s", err, errOut)
	}
}

// TestMailboxAddWhileServing follows the Contract: a server runs (with the
// mail jobs wired as wire.go does), "sportello mailbox add" connects a
// mailbox on the same database from another store handle, and the server
// reads it within 10 seconds.
func TestMailboxAddWhileServing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	data := t.TempDir()
	t.Setenv("SPORTELLO_DATABASE_URL", "")
	t.Setenv("SPORTELLO_SECRET_KEY", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.Open(ctx, app.Config{DataDir: data}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	m, err := mail.New(a)
	if err != nil {
		t.Fatal(err)
	}
	a.Jobs = append(a.Jobs, m.Jobs()...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()

	srv := mailtest.StartIMAP(t)
	smtpSrv := mailtest.StartSMTP(t)
	srv.Deliver(t, mailtest.Message("Mario Rossi <mario.rossi@comune.example.it>", "desk@ente.example.it", "Stampante guasta", "Non stampa."))
	start := time.Now()
	if err, out, errOut := mailboxCmd(t, "add", "--data", data, "--address", "desk@ente.example.it", "--imap", srv.URL(), "--smtp", smtpSrv.URL()); err != nil {
		t.Fatalf("add: %v\n%s%s", err, out, errOut)
	}
	for {
		p, err := a.Desk.ListTickets(ctx, desk.SystemActor, desk.ListQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) == 1 {
			if p.Items[0].Channel != desk.ChannelEmail || p.Items[0].Subject != "Stampante guasta" {
				t.Fatalf("ticket %+v", p.Items[0])
			}
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("the running server did not read the new mailbox within 10 seconds")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("ticket registered %s after mailbox add", time.Since(start).Round(10*time.Millisecond))
	smtpSrv.Wait(t, 1, 10*time.Second) // the acknowledgement
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestMailDemo loads the national desk's mail configuration on top of the
// demo (as the demo command should): every rule keeps its service or
// queue, the directory has the Prefecture of Ferrara, and a mailbox for
// the desk's address lands in the national desk's organisation.
func TestMailDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the demo")
	}
	data := t.TempDir()
	t.Setenv("SPORTELLO_DATABASE_URL", "")
	t.Setenv("SPORTELLO_SECRET_KEY", "")
	if code, _, errOut := sportello(t, "demo", "--data", data, "--tickets", "0"); code != 0 {
		t.Fatalf("demo: %s", errOut)
	}
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{DataDir: data}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for i := 0; i < 2; i++ { // idempotent
		if err := mail.LoadDemo(ctx, a.DB, demoNational, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	rules, err := mail.Rules(ctx, a.DB, demoNational)
	if err != nil || len(rules) != 4 {
		t.Fatalf("%d rules (%v)", len(rules), err)
	}
	want := []string{"rinnovo-certificato-bdna", "bdna", "informazioni", ""}
	for i, r := range rules {
		if r.Then.Service != want[i] {
			t.Errorf("rule %q: service %q, want %q (is the catalogue loaded?)", r.Name, r.Then.Service, want[i])
		}
	}
	if rules[3].Then.Queue != "smistamento" {
		t.Errorf("triage rule queue %q", rules[3].Then.Queue)
	}
	a.Close()
	if err, _, errOut := mailboxCmd(t, "add", "--data", data, "--address", mail.NationalDeskAddress, "--imap", "imap://u:p@127.0.0.1:1/INBOX",
		"--smtp", "smtp://127.0.0.1:1"); err != nil {
		t.Fatalf("add: %v %s", err, errOut)
	}
	_, out, _ := mailboxCmd(t, "list", "--data", data)
	if !strings.Contains(out, demoNational) || !strings.Contains(out, "progettoantimafia@desk.example.it") {
		t.Errorf("list:\n%s", out)
	}
	_, out, _ = mailboxCmd(t, "offices", "list", "--data", data)
	if !strings.Contains(out, "protocollo.preffe@pec.interno.it") {
		t.Errorf("offices:\n%s", out)
	}
}
