package mail_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/mailtest"
	"github.com/sportello/sportello/internal/store/storetest"
)

// FuzzIngest feeds arbitrary bytes through the whole intake path (parse,
// route, thread, desk, store): it must never fail or panic, and every
// message must end recorded with an outcome.
//
//	go test ./internal/mail -run '^$' -fuzz FuzzIngest -fuzztime 30s -fuzzminimizetime 5s
func FuzzIngest(f *testing.F) {
	files, _ := filepath.Glob("parse/testdata/*.eml")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add(mailtest.Message("a@b.it", mail.NationalDeskAddress, "BDNA rinnovo certificato (FE)", "testo"))
	f.Add(mailtest.Message("a@b.it", mail.NationalDeskRetired[0], "Re: [#2026-000001] x", "y", "In-Reply-To: <t.2026-000001.a.b@desk.example.it>"))
	f.Add([]byte("From: x@y.it\r\n\r\n"))
	f.Add([]byte{})
	// Each input goes through the database: keep -fuzzminimizetime short,
	// or minimising one interesting input takes the whole run.
	p := newProcEnv(f, storetest.OpenSQLite)
	f.Fuzz(func(t *testing.T, raw []byte) {
		p.uid++
		res, err := p.mail.Processor.Ingest(p.ctx, p.mb, 1, p.uid, raw)
		if err != nil {
			t.Fatalf("ingest: %v", err)
		}
		if res.Already || res.Outcome == "" {
			t.Fatalf("result %+v", res)
		}
		err = mailbox.View(p.ctx, p.db, func(tx mailbox.Tx) error {
			taken, err := tx.InboundTaken(p.ctx, p.mb.ID, 1, []uint32{p.uid})
			if err == nil && len(taken) != 1 {
				t.Fatalf("uid %d not recorded", p.uid)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
