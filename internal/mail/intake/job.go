// Package intake reads the desk's mailboxes over IMAP and turns every
// message into its effect on the desk, exactly once.
//
// # Exactly once
//
// A reader fetches messages with BODY.PEEK[] (nothing changes on the
// server), and for each one commits, in ONE transaction, the ticket change
// (through the desk's own rules), the raw bytes and the de-duplication key
// (mailbox, UIDVALIDITY, UID). Only after the commit does it set \Seen on
// the server, and move the message to the mailbox's folder for processed
// mail when one is configured (MOVE, or COPY + \Deleted + EXPUNGE). A crash
// before the commit loses nothing (the message is still unseen and
// unrecorded); a crash after it duplicates nothing (on restart the UID is
// found recorded and only marked and moved). Two different messages with
// one Message-ID are both kept; a message whose Message-ID and bytes match
// one already taken (delivered twice) is recorded as a duplicate.
//
// Which messages: every unseen message, plus every message with a UID above
// the watermark (the highest UID taken in this UIDVALIDITY), so that mail
// somebody opened in a mail client before the desk read it is not missed.
// A folder seen for the first time (or whose UIDVALIDITY changed) starts
// from its unseen messages.
//
// A message that cannot be parsed, or that the desk refuses, is quarantined
// with its raw bytes and the reason (visible in the mail log); one that
// fails three times for other reasons is quarantined too, so that no
// message ever blocks the ones after it.
//
// # Replicas
//
// Each mailbox is read by one process at a time: a reader holds a lease
// row (leases table) that it renews while working; another replica takes
// over when it expires. The unique (mailbox, UIDVALIDITY, UID) key is the
// last line of defence should two readers ever overlap.
//
// # Health
//
// Every read updates the mailbox's last_ok_at / last_error; the job exports
// sportello_mailbox_last_read_age_seconds, sportello_mailbox_errors_total
// and sportello_mail_received_total, and logs a warning when a mailbox has
// not been read for StaleAfter.
package intake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/mailbox"
)

// Opts configures the intake job.
type Opts struct {
	Store     desk.Store
	Processor *Processor
	Sealer    *mailbox.Sealer
	// Dial opens IMAP connections (default IMAPDialer(nil)).
	Dial Dialer
	Log  *slog.Logger
	// Registry receives the job's metrics (nil: none).
	Registry prometheus.Registerer
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Holder names this process in leases (default: host, pid, random).
	Holder string
	// LeaseTTL is how long a mailbox lease lasts without renewal (default
	// 30 s); a replica takes over a crashed reader's mailbox after it.
	LeaseTTL time.Duration
	// Rescan is how often the mailbox table is read for new, changed and
	// removed mailboxes (default 3 s).
	Rescan time.Duration
	// Poll is the polling interval for servers without IDLE (default 5 s).
	Poll time.Duration
	// IdleMax bounds one IDLE (default 2 minutes).
	IdleMax time.Duration
	// Batch is the number of messages fetched per FETCH (default 25).
	Batch int
	// StaleAfter is how long a mailbox may go unread before a warning
	// (default 15 minutes).
	StaleAfter time.Duration
	// Retry is the first delay after a failed session (default 5 s),
	// doubled up to a minute.
	Retry time.Duration
	// OnIngested, when set, is called after each message is committed and
	// before it is marked seen on the server (tests crash here).
	OnIngested func(mb mailbox.Mailbox, uid uint32, res Result)
}

// Job reads every active mailbox. It implements app.Job.
type Job struct {
	o Opts

	received *prometheus.CounterVec
	errs     *prometheus.CounterVec
	age      *prometheus.GaugeVec

	mu        sync.Mutex
	staleLogs map[int64]time.Time
}

// NewJob returns the intake job.
func NewJob(o Opts) *Job {
	if o.Dial == nil {
		o.Dial = IMAPDialer(nil)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Holder == "" {
		o.Holder = holder()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.LeaseTTL, 30*time.Second)
	def(&o.Rescan, 3*time.Second)
	def(&o.Poll, 5*time.Second)
	def(&o.IdleMax, 2*time.Minute)
	def(&o.StaleAfter, 15*time.Minute)
	def(&o.Retry, 5*time.Second)
	if o.Batch <= 0 {
		o.Batch = 25
	}
	j := &Job{o: o, staleLogs: map[int64]time.Time{}}
	j.received = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sportello_mail_received_total", Help: "Messages taken from mailboxes, by outcome.",
	}, []string{"mailbox", "outcome"})
	j.errs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sportello_mailbox_errors_total", Help: "Failed mailbox reads (connection, login, server errors).",
	}, []string{"mailbox"})
	j.age = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "sportello_mailbox_last_read_age_seconds", Help: "Seconds since the mailbox was last read successfully (by any replica).",
	}, []string{"mailbox"})
	if o.Registry != nil {
		j.received = register(o.Registry, j.received)
		j.errs = register(o.Registry, j.errs)
		j.age = register(o.Registry, j.age)
	}
	return j
}

func register[T prometheus.Collector](r prometheus.Registerer, c T) T {
	if err := r.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing
			}
		}
	}
	return c
}

// Name implements app.Job.
func (j *Job) Name() string { return "mail-intake" }

type running struct {
	version int64
	cancel  context.CancelFunc
	done    chan struct{}
}

// Run reads mailboxes until ctx is cancelled, starting a reader for each
// active mailbox and restarting it when its configuration changes.
func (j *Job) Run(ctx context.Context) error {
	readers := map[int64]*running{}
	stop := func(id int64) {
		r := readers[id]
		r.cancel()
		<-r.done
		delete(readers, id)
	}
	defer func() {
		for id := range readers {
			stop(id)
		}
	}()
	t := time.NewTicker(j.o.Rescan)
	defer t.Stop()
	for {
		var boxes []mailbox.Mailbox
		err := mailbox.View(ctx, j.o.Store, func(tx mailbox.Tx) error {
			var err error
			boxes, err = tx.Mailboxes(ctx, false)
			return err
		})
		if err != nil && ctx.Err() == nil {
			j.o.Log.Error("list mailboxes", "err", err)
		}
		if err == nil {
			seen := map[int64]bool{}
			for _, mb := range boxes {
				seen[mb.ID] = true
				if r, ok := readers[mb.ID]; ok {
					if r.version == mb.Version {
						continue
					}
					stop(mb.ID)
				}
				rctx, cancel := context.WithCancel(ctx)
				r := &running{version: mb.Version, cancel: cancel, done: make(chan struct{})}
				readers[mb.ID] = r
				go func(mb mailbox.Mailbox) {
					defer close(r.done)
					j.read(rctx, mb)
				}(mb)
			}
			for id := range readers {
				if !seen[id] {
					stop(id)
				}
			}
			j.health(boxes)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// health exports how long ago each mailbox was read and warns about stale
// ones. It uses the database's view, so every replica reports the same.
func (j *Job) health(boxes []mailbox.Mailbox) {
	now := j.o.Now()
	j.age.Reset()
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, mb := range boxes {
		last := mb.Health.LastOK
		if last.IsZero() {
			last = mb.Created
		}
		age := now.Sub(last)
		j.age.WithLabelValues(mb.Address).Set(age.Seconds())
		if age > j.o.StaleAfter && now.Sub(j.staleLogs[mb.ID]) > j.o.StaleAfter {
			j.staleLogs[mb.ID] = now
			j.o.Log.Warn("mailbox not read for too long", "mailbox", mb.Address, "since", last.Format(time.RFC3339),
				"last_error", mb.Health.LastError)
		}
	}
}

func (j *Job) leaseName(mb mailbox.Mailbox) string { return "mailbox:" + strconv.FormatInt(mb.ID, 10) }

// claim takes or renews the mailbox's lease.
func (j *Job) claim(ctx context.Context, mb mailbox.Mailbox) (bool, error) {
	var ok bool
	now := j.o.Now()
	err := mailbox.Update(ctx, j.o.Store, func(tx mailbox.Tx) error {
		var err error
		ok, err = tx.ClaimLease(ctx, j.leaseName(mb), j.o.Holder, now, now.Add(j.o.LeaseTTL))
		return err
	})
	return ok, err
}

func (j *Job) release(mb mailbox.Mailbox) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = mailbox.Update(ctx, j.o.Store, func(tx mailbox.Tx) error {
		return tx.ReleaseLease(ctx, j.leaseName(mb), j.o.Holder)
	})
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// jitter spreads retries of several replicas.
func jitter(d time.Duration) time.Duration { return d/2 + time.Duration(rand.Int64N(int64(d/2)+1)) }

// read keeps one mailbox read while this process holds its lease.
func (j *Job) read(ctx context.Context, mb mailbox.Mailbox) {
	backoff := j.o.Retry
	for ctx.Err() == nil {
		ok, err := j.claim(ctx, mb)
		if err != nil {
			if ctx.Err() == nil {
				j.o.Log.Error("mailbox lease", "mailbox", mb.Address, "err", err)
			}
			sleep(ctx, jitter(j.o.LeaseTTL/3))
			continue
		}
		if !ok {
			// Another replica reads it.
			sleep(ctx, jitter(j.o.LeaseTTL/3))
			continue
		}
		err = j.held(ctx, mb)
		if ctx.Err() != nil {
			j.release(mb)
			return
		}
		if err == nil {
			backoff = j.o.Retry
			continue
		}
		j.errs.WithLabelValues(mb.Address).Inc()
		msg := mailbox.Redact(err.Error())
		j.o.Log.Error("mailbox read failed", "mailbox", mb.Address, "imap", mb.IMAP.String(), "err", msg, "retry_in", backoff.String())
		j.recordError(mb, msg)
		if !sleep(ctx, jitter(backoff)) {
			j.release(mb)
			return
		}
		backoff = min(backoff*2, time.Minute)
	}
}

// held runs a session while renewing the lease; it ends the session when
// the lease is lost.
func (j *Job) held(ctx context.Context, mb mailbox.Mailbox) error {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		failures := 0
		for sleep(sctx, j.o.LeaseTTL/3) {
			ok, err := j.claim(sctx, mb)
			switch {
			case err != nil && sctx.Err() == nil:
				failures++
				if failures >= 2 {
					cancel(fmt.Errorf("cannot renew the mailbox lease: %w", err))
					return
				}
			case err == nil && !ok:
				cancel(errors.New("the mailbox lease was taken over by another process"))
				return
			case err == nil:
				failures = 0
			}
		}
	}()
	err := j.session(sctx, mb)
	cancel(nil)
	wg.Wait()
	if cause := context.Cause(sctx); cause != nil && !errors.Is(cause, context.Canceled) && ctx.Err() == nil {
		return cause
	}
	return err
}

func (j *Job) recordError(mb mailbox.Mailbox, msg string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := mailbox.Update(ctx, j.o.Store, func(tx mailbox.Tx) error {
		cur, err := tx.MailboxByID(ctx, mb.ID)
		if err != nil {
			return err
		}
		h := cur.Health
		h.LastError, h.LastErrorAt = msg, j.o.Now()
		return tx.SetMailboxHealth(ctx, mb.ID, h)
	})
	if err != nil {
		j.o.Log.Error("record mailbox health", "mailbox", mb.Address, "err", err)
	}
}

func (j *Job) recordOK(ctx context.Context, mb mailbox.Mailbox) error {
	return mailbox.Update(ctx, j.o.Store, func(tx mailbox.Tx) error {
		return tx.SetMailboxHealth(ctx, mb.ID, mailbox.Health{LastOK: j.o.Now()})
	})
}

// session connects, then reads new mail and waits for more until ctx ends
// or an error occurs.
func (j *Job) session(ctx context.Context, mb mailbox.Mailbox) error {
	pass, err := mb.IMAPPassword(j.o.Sealer)
	if err != nil {
		return err
	}
	conn, err := j.o.Dial(ctx, mb.IMAP, pass)
	if err != nil {
		return errors.New(mailbox.Redact(err.Error(), pass))
	}
	defer conn.Close()
	folder := firstNonEmpty(mb.Folder, mb.IMAP.Folder, "INBOX")
	uidValidity, uidNext, err := conn.Select(ctx, folder)
	if err != nil {
		return err
	}
	watermark := mb.Watermark
	if uidValidity != mb.UIDValidity {
		// A folder never read, or recreated: what is there now counts as
		// old, except unseen messages, which Search still returns.
		watermark = 0
		if uidNext > 0 {
			watermark = uidNext - 1
		}
		if mb.UIDValidity != 0 {
			j.o.Log.Warn("mailbox UIDVALIDITY changed: starting from the unseen messages", "mailbox", mb.Address,
				"old", mb.UIDValidity, "new", uidValidity)
		}
		err := mailbox.Update(ctx, j.o.Store, func(tx mailbox.Tx) error {
			return tx.SetMailboxPosition(ctx, mb.ID, uidValidity, watermark)
		})
		if err != nil {
			return err
		}
	}
	j.o.Log.Info("reading mailbox", "mailbox", mb.Address, "imap", mb.IMAP.String(), "folder", folder)
	attempts := map[uint32]int{}
	lastOK := time.Time{}
	for {
		n, err := j.sync(ctx, conn, mb, uidValidity, &watermark, attempts)
		if err != nil {
			return err
		}
		if now := j.o.Now(); now.Sub(lastOK) >= time.Second {
			if err := j.recordOK(ctx, mb); err != nil {
				return err
			}
			lastOK = now
		}
		if n > 0 {
			continue
		}
		if err := conn.Wait(ctx, j.o.IdleMax, j.o.Poll); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// maxAttempts is how many times a message may fail before it is
// quarantined, so that it never blocks the mailbox.
const maxAttempts = 3

// maxBatchBytes bounds the raw bytes held and committed at once.
const maxBatchBytes = 16 << 20

// ingest commits a group of fetched messages in one transaction and
// returns the UIDs committed. When the group fails, its messages are taken
// one by one, so that one failing message (quarantined after maxAttempts)
// does not hold back the others.
func (j *Job) ingest(ctx context.Context, mb mailbox.Mailbox, uidValidity uint32, items []Item, attempts map[uint32]int) ([]uint32, error) {
	results, err := j.o.Processor.IngestBatch(ctx, mb, uidValidity, items)
	if err == nil {
		var done []uint32
		for i, it := range items {
			j.ingested(ctx, mb, it.UID, results[i])
			delete(attempts, it.UID)
			done = append(done, it.UID)
		}
		return done, nil
	}
	if ctx.Err() != nil || len(items) == 1 {
		if err := j.failed(ctx, mb, uidValidity, items, attempts, err); err != nil {
			return nil, err
		}
		return []uint32{items[0].UID}, nil // quarantined
	}
	j.o.Log.Warn("batch not processed, taking its messages one by one", "mailbox", mb.Address, "messages", len(items), "err", err)
	var done []uint32
	for _, it := range items {
		ok, err := j.ingest(ctx, mb, uidValidity, []Item{it}, attempts)
		done = append(done, ok...)
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// failed handles a message that could not be processed: it is retried
// later, and quarantined after maxAttempts.
func (j *Job) failed(ctx context.Context, mb mailbox.Mailbox, uidValidity uint32, items []Item, attempts map[uint32]int, err error) error {
	if ctx.Err() != nil || len(items) != 1 {
		return err
	}
	it := items[0]
	attempts[it.UID]++
	j.o.Log.Error("message not processed", "mailbox", mb.Address, "uid", it.UID, "attempt", attempts[it.UID], "err", err)
	if attempts[it.UID] < maxAttempts {
		return err
	}
	res, qerr := j.o.Processor.Quarantine(ctx, mb, uidValidity, it.UID, it.Raw, fmt.Sprintf("not processed after %d attempts: %v", maxAttempts, err))
	if qerr != nil {
		return qerr
	}
	delete(attempts, it.UID)
	j.ingested(ctx, mb, it.UID, res)
	return nil
}

// ingested reports a committed message.
func (j *Job) ingested(ctx context.Context, mb mailbox.Mailbox, uid uint32, res Result) {
	if j.o.OnIngested != nil {
		j.o.OnIngested(mb, uid, res)
	}
	if res.Already {
		return
	}
	j.received.WithLabelValues(mb.Address, string(res.Outcome)).Inc()
	level := slog.LevelInfo
	if res.Outcome == mailbox.OutQuarantined {
		level = slog.LevelWarn
	}
	j.o.Log.Log(ctx, level, "mail received", "mailbox", mb.Address, "uid", uid, "outcome", string(res.Outcome),
		"ticket", res.Ticket, "detail", res.Detail)
}

// sync takes the messages waiting in the folder and returns how many it
// processed.
func (j *Job) sync(ctx context.Context, conn Conn, mb mailbox.Mailbox, uidValidity uint32, watermark *uint32, attempts map[uint32]int) (int, error) {
	// With a folder for processed mail, whatever is still in the folder
	// read is either new or taken but not yet moved (a crash between
	// \Seen and the move): look at all of it, not only at the unseen
	// messages and those above the watermark.
	after := *watermark
	if mb.MoveTo != "" {
		after = 0
	}
	uids, err := conn.Search(ctx, after)
	if err != nil || len(uids) == 0 {
		return 0, err
	}
	var taken []uint32
	err = mailbox.View(ctx, j.o.Store, func(tx mailbox.Tx) error {
		var err error
		taken, err = tx.InboundTaken(ctx, mb.ID, uidValidity, uids)
		return err
	})
	if err != nil {
		return 0, err
	}
	if len(taken) > 0 {
		// Recorded before a crash (or by another reader) but not marked
		// or moved.
		if err := j.settle(ctx, conn, mb, taken); err != nil {
			return 0, err
		}
		for _, u := range taken {
			*watermark = max(*watermark, u)
		}
	}
	isTaken := map[uint32]bool{}
	for _, u := range taken {
		isTaken[u] = true
	}
	var todo []uint32
	for _, u := range uids {
		if !isTaken[u] {
			todo = append(todo, u)
		}
	}
	processed := 0
	for len(todo) > 0 {
		batch := todo[:min(len(todo), j.o.Batch)]
		todo = todo[len(batch):]
		var done []uint32
		var pending []Item
		pendingBytes := 0
		flush := func() error {
			if len(pending) == 0 {
				return nil
			}
			ok, err := j.ingest(ctx, mb, uidValidity, pending, attempts)
			done = append(done, ok...)
			for _, u := range ok {
				*watermark = max(*watermark, u)
			}
			pending, pendingBytes = nil, 0
			return err
		}
		ferr := conn.Fetch(ctx, batch, func(uid uint32, raw []byte) error {
			pending = append(pending, Item{UID: uid, Raw: raw})
			pendingBytes += len(raw)
			if pendingBytes >= maxBatchBytes {
				return flush()
			}
			return nil
		})
		if ferr == nil {
			ferr = flush()
		}
		processed += len(done)
		// Mark what was committed even when the batch stopped early.
		if len(done) > 0 {
			if err := j.settle(context.WithoutCancel(ctx), conn, mb, done); err != nil {
				return processed, err
			}
		}
		if ferr != nil {
			return processed, ferr
		}
	}
	return processed, nil
}

// settle marks committed messages \Seen on the server and moves them to the
// mailbox's folder for processed mail, if it has one. It runs only after
// the commit: should the process stop before (or during) it, the messages
// are found recorded on the next read and only settled then.
func (j *Job) settle(ctx context.Context, conn Conn, mb mailbox.Mailbox, uids []uint32) error {
	if err := conn.MarkSeen(ctx, uids); err != nil {
		return err
	}
	if mb.MoveTo == "" {
		return nil
	}
	return conn.Move(ctx, uids, mb.MoveTo)
}
