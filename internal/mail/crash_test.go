package mail_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/intake"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/mailtest"
	"github.com/sportello/sportello/internal/mail/outbox"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/store/storetest"
)

// The crash test runs the intake in a child process (this test binary,
// re-executed) and kills it with SIGKILL: at random moments from outside,
// and right after a commit, before the message is marked seen, from
// inside. The IMAP server lives in the parent and survives. In the end
// every message must be recorded exactly once, have opened exactly one
// ticket, and be marked seen.
const (
	envChild      = "SPORTELLO_MAIL_CRASH_CHILD"
	envChildDir   = "SPORTELLO_MAIL_CRASH_DIR"
	envChildURL   = "SPORTELLO_MAIL_CRASH_URL"
	envKillAfter  = "SPORTELLO_MAIL_CRASH_KILL_AFTER"
	crashMessages = 60
)

// TestCrashChild is the child's body; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	if os.Getenv(envChild) != "1" {
		t.Skip("run by TestCrashExactlyOnce")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{DataDir: os.Getenv(envChildDir), URL: os.Getenv(envChildURL)})
	if err != nil {
		t.Fatal(err)
	}
	killAfter, _ := strconv.Atoi(os.Getenv(envKillAfter))
	n := 0
	m, err := mail.NewWith(mail.Opts{Store: db, Key: []byte(testKey), Tune: func(io *intake.Opts, wo *outbox.WorkerOpts) {
		fast(io, wo)
		io.LeaseTTL = time.Second
		io.Batch = 7
		io.OnIngested = func(mailbox.Mailbox, uint32, intake.Result) {
			n++
			if killAfter > 0 && n == killAfter {
				// Committed, not yet marked seen.
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	_ = m.Intake.Run(ctx) // until killed
}

func TestCrashExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) { crashTest(t, engine, "") })
	}
}

// TestCrashMoveExactlyOnce is the crash test for a mailbox that moves
// processed mail to another folder: a crash between the commit and the
// move neither loses nor duplicates a message, and in the end every
// message is in the folder for processed mail, marked seen.
func TestCrashMoveExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) { crashTest(t, engine, "Elaborati") })
	}
}

func crashTest(t *testing.T, engine, moveTo string) {
	ctx := context.Background()
	cfg := store.Config{DataDir: t.TempDir()}
	if engine == "postgres" {
		cfg = store.Config{URL: storetest.PostgresURL(t)}
	}
	db, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d := storetest.NewDesk(t, db, nil)
	seedDesk(t, db, d)
	imapSrv := mailtest.StartIMAP(t)
	sealer, err := mailbox.NewSealer([]byte(testKey))
	if err != nil {
		t.Fatal(err)
	}
	mb, _, err := mail.SaveMailbox(ctx, db, sealer, mail.MailboxInput{Address: mail.NationalDeskAddress, IMAP: imapSrv.URL(),
		SMTP: "smtp://127.0.0.1:1", MoveTo: moveTo}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < crashMessages; i++ {
		imapSrv.Deliver(t, mailtest.Message(fmt.Sprintf("utente%d@comune.example.it", i), mail.NationalDeskAddress,
			fmt.Sprintf("BDNA - richiesta %d", i), fmt.Sprintf("Testo della richiesta %d.", i)))
	}
	count := func() int {
		var n int
		err := mailbox.View(ctx, db, func(tx mailbox.Tx) error {
			log, err := tx.MailLog(ctx, mailbox.LogQuery{MailboxID: mb.ID, Limit: 1000})
			n = len(log)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	spawn := func(killAfter int) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envChild+"=1", envChildDir+"="+cfg.DataDir, envChildURL+"="+cfg.URL, envKillAfter+"="+strconv.Itoa(killAfter))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	waitFor := func(cond func() bool, what string) {
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (%d recorded)", what, count())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// 1. Kills itself right after the commit of its first batch (7
	// messages), before marking any of them seen.
	c := spawn(5)
	_ = c.Wait()
	if n := count(); n != 7 {
		t.Fatalf("after the self-kill %d messages are recorded, want the first batch of 7", n)
	}
	if _, unseen := imapSrv.Seen(t); len(unseen) != crashMessages {
		t.Fatalf("%d unseen after the self-kill, want all %d (committed, not marked)", len(unseen), crashMessages)
	}
	// 2..4. Killed from outside at growing counts.
	for _, at := range []int{12, 25, 41} {
		c := spawn(0)
		waitFor(func() bool { return count() >= at }, fmt.Sprintf("%d messages", at))
		_ = c.Process.Signal(syscall.SIGKILL)
		_ = c.Wait()
	}
	// 5. Another self-kill, then a run to the end.
	c = spawn(3)
	_ = c.Wait()
	c = spawn(0)
	waitFor(func() bool {
		if count() < crashMessages {
			return false
		}
		seen, unseen := imapSrv.Seen(t)
		if moveTo != "" {
			return len(seen)+len(unseen) == 0
		}
		return len(unseen) == 0
	}, "every message marked seen (and moved)")
	if moveTo != "" {
		seen, unseen := imapSrv.SeenIn(t, moveTo)
		if len(seen) != crashMessages || len(unseen) != 0 {
			t.Errorf("%s holds %d seen and %d unseen messages, want %d seen", moveTo, len(seen), len(unseen), crashMessages)
		}
	}
	_ = c.Process.Signal(syscall.SIGKILL)
	_ = c.Wait()

	// Exactly once: one record per UID, one ticket per message.
	err = mailbox.View(ctx, db, func(tx mailbox.Tx) error {
		log, err := tx.MailLog(ctx, mailbox.LogQuery{MailboxID: mb.ID, Limit: 1000})
		if err != nil {
			return err
		}
		uids := map[uint32]int{}
		tickets := map[int64]int{}
		for _, e := range log {
			uids[e.UID]++
			if e.Outcome != mailbox.OutTicket {
				t.Errorf("uid %d: outcome %s (%s)", e.UID, e.Outcome, e.Detail)
			}
			tickets[e.TicketID]++
		}
		if len(uids) != crashMessages || len(log) != crashMessages || len(tickets) != crashMessages {
			t.Errorf("%d records, %d UIDs, %d tickets; want %d each", len(log), len(uids), len(tickets), crashMessages)
		}
		all, err := tx.Tickets(ctx, desk.TicketQuery{Limit: 1000})
		if len(all) != crashMessages {
			t.Errorf("%d tickets in the desk, want %d", len(all), crashMessages)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
