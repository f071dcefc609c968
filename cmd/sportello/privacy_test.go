package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrivacyCommand(t *testing.T) {
	data := t.TempDir()
	t.Setenv("SPORTELLO_DATABASE_URL", "")
	t.Setenv("SPORTELLO_SECRET_KEY", "")
	if code, _, errOut := sportello(t, "privacy", "--help"); code != 0 || !strings.Contains(errOut, "privacy export") {
		t.Fatalf("help: %d %s", code, errOut)
	}
	if code, _, errOut := sportello(t, "privacy", "erase", "--help"); code != 0 || !strings.Contains(errOut, "--confirm") && !strings.Contains(errOut, "-confirm") {
		t.Fatalf("erase help: %d %s", code, errOut)
	}
	if code, _, _ := sportello(t, "token", "create", "--data", data, "--user", "mario.rossi@example.it", "--role", "requester"); code != 0 {
		t.Fatal("token create")
	}
	code, out, errOut := sportello(t, "privacy", "export", "--data", data, "--person", "mario.rossi@example.it")
	var doc map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || doc["person"].(map[string]any)["email"] != "mario.rossi@example.it" {
		t.Fatalf("export: %d %s %s", code, out, errOut)
	}
	page := filepath.Join(t.TempDir(), "dati.html")
	if code, _, errOut := sportello(t, "privacy", "export", "--data", data, "--person", "mario.rossi@example.it", "--format", "html", "--out", page); code != 0 {
		t.Fatalf("html: %s", errOut)
	}
	if b, err := os.ReadFile(page); err != nil || !strings.Contains(string(b), "mario.rossi@example.it") || !strings.Contains(string(b), "<!doctype html>") {
		t.Fatalf("html page: %v %s", err, b)
	}
	if code, _, _ := sportello(t, "privacy", "erase", "--data", data, "--person", "mario.rossi@example.it"); code != 2 {
		t.Fatalf("erase without --confirm: %d", code)
	}
	code, out, errOut = sportello(t, "privacy", "erase", "--data", data, "--person", "mario.rossi@example.it", "--confirm", "mario.rossi@example.it")
	if code != 0 || !strings.Contains(out, `"redaction_id"`) {
		t.Fatalf("erase: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := sportello(t, "privacy", "export", "--data", data, "--person", "mario.rossi@example.it"); code != 1 || !strings.Contains(errOut, "nobody") {
		t.Fatalf("export after erasure by the old e-mail: %d %s", code, errOut)
	}
}
