package mail_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/intake"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/mailtest"
	"github.com/sportello/sportello/internal/mail/outbox"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/store/storetest"
)

var messageIDRE = regexp.MustCompile(`(?mi)^Message-ID:[^\r\n]*\r?\n`)

// backlog returns n varied messages: new requests routed by each rule
// (acronym, information, renewal with a province, triage), replies that
// thread by Message-ID, robots, and the whole parse corpus (charsets, HTML,
// attachments, TNEF, bounces, malformed mail), each with its own
// Message-ID.
func backlog(tb testing.TB, n int) [][]byte {
	tb.Helper()
	files, _ := filepath.Glob("parse/testdata/*.eml")
	sort.Strings(files)
	var corpus [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		corpus = append(corpus, b)
	}
	subjects := []string{"BDNA - errore di accesso %d", "Informazioni nuovo service desk", "Rinnovo certificato digitale (FE) n. %d",
		"Problema con la stampante %d", "bdna: utenza bloccata %d", "Richiesta informazioni %d"}
	out := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("<bench.%d@client.example.it>", i)
		from := fmt.Sprintf("Utente %d <utente%d@comune%d.example.it>", i%500, i%500, i%37)
		switch {
		case i%10 == 7 && i > 20:
			// A reply to an earlier request of the same person.
			prev := i - 10
			out = append(out, mailtest.Message(fmt.Sprintf("Utente %d <utente%d@comune%d.example.it>", prev%500, prev%500, prev%37),
				mail.NationalDeskAddress, "Re: richiesta", "Ecco le informazioni richieste.\n\n> testo precedente",
				"Message-ID: "+id, fmt.Sprintf("In-Reply-To: <bench.%d@client.example.it>", prev)))
		case i%10 == 9:
			raw := corpus[(i/10)%len(corpus)]
			raw = messageIDRE.ReplaceAll(raw, nil)
			out = append(out, append([]byte("Message-ID: "+id+"\r\n"), raw...))
		case i%50 == 3:
			out = append(out, mailtest.Message(from, mail.NationalDeskAddress, "Fuori ufficio", "Sono assente.", "Message-ID: "+id, "Auto-Submitted: auto-replied"))
		default:
			subj := subjects[i%len(subjects)]
			if bytes.Contains([]byte(subj), []byte("%d")) {
				subj = fmt.Sprintf(subj, i)
			}
			body := fmt.Sprintf("Buongiorno,\nscrivo per la richiesta numero %d.\nDettagli: %s\nCordiali saluti,\nUtente %d\n", i,
				bytes.Repeat([]byte("testo di prova "), 1+i%40), i%500)
			out = append(out, mailtest.Message(from, mail.NationalDeskAddress, subj, body, "Message-ID: "+id))
		}
	}
	return out
}

// BenchmarkIngest takes a backlog of 10,000 varied messages from a local
// IMAP server, end to end (IMAP fetch, parse, sanitise, route, thread,
// desk, store with the raw bytes, search index, acknowledgements in the
// outbox, \Seen), and reports messages per second and how much the live
// heap grew above what the backlog and the IMAP server hold (sampled after
// a collection every 1000 messages, which costs the run a few tenths of a
// second): it stays flat however long the backlog.
//
//	go test ./internal/mail -run '^$' -bench BenchmarkIngest -benchtime 1x
func BenchmarkIngest(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("SPORTELLO_BENCH_MESSAGES")); err == nil && v > 0 {
		n = v // for profiling
	}
	msgs := backlog(b, n)
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				db := storetest.Engines[engine](b)
				ingestBacklog(b, db, msgs)
				db.Close()
			}
		})
	}
}

func ingestBacklog(b *testing.B, db *store.DB, msgs [][]byte) {
	ctx := context.Background()
	d := storetest.NewDesk(b, db, nil)
	seedDesk(b, db, d)
	srv := mailtest.StartIMAP(b)
	for _, m := range msgs {
		srv.Deliver(b, m)
	}
	m, err := mail.NewWith(mail.Opts{Store: db, Key: []byte(testKey), Tune: func(io *intake.Opts, wo *outbox.WorkerOpts) {
		fast(io, wo)
		io.Batch = 50
	}})
	if err != nil {
		b.Fatal(err)
	}
	mb, _, err := mail.SaveMailbox(ctx, db, m.Sealer, mail.MailboxInput{Address: mail.NationalDeskAddress, IMAP: srv.URL(), SMTP: "smtp://127.0.0.1:1"}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	// The first read of a folder takes its unseen messages.
	done := make(chan struct{})
	count := 0
	var maxHeap uint64
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	job := intake.NewJob(intake.Opts{Store: db, Processor: m.Processor, Sealer: m.Sealer, Rescan: 50 * time.Millisecond, Poll: 50 * time.Millisecond,
		Batch: 50, OnIngested: func(mailbox.Mailbox, uint32, intake.Result) {
			count++
			if count%1000 == 0 {
				// Live heap: collect first, or the garbage GOGC allows in
				// proportion to the (large) backlog hides what is kept.
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				maxHeap = max(maxHeap, ms.HeapAlloc)
			}
			if count == len(msgs) {
				close(done)
			}
		}})
	runtime.GC()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.StartTimer()
	start := time.Now()
	go job.Run(rctx) //nolint:errcheck
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		b.Fatalf("only %d of %d messages taken", count, len(msgs))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	b.ReportMetric(float64(len(msgs))/elapsed.Seconds(), "msgs/s")
	// The backlog itself and the in-memory IMAP server hold every message:
	// what the intake adds on top of them is the growth.
	growth := float64(0)
	if maxHeap > ms0.HeapAlloc {
		growth = float64(maxHeap-ms0.HeapAlloc) / (1 << 20)
	}
	b.ReportMetric(growth, "MB-live-heap-growth")
	var outcomes = map[mailbox.Outcome]int{}
	err = mailbox.View(ctx, db, func(tx mailbox.Tx) error {
		log, err := tx.MailLog(ctx, mailbox.LogQuery{MailboxID: mb.ID, Limit: 1000})
		for _, e := range log {
			outcomes[e.Outcome]++
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d messages in %s; outcomes of the last 1000: %v", len(msgs), elapsed.Round(time.Millisecond), outcomes)
}
