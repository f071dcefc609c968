package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/outbox"
	"github.com/sportello/sportello/internal/mail/parse"
	"github.com/sportello/sportello/internal/mail/pec"
	"github.com/sportello/sportello/internal/mail/route"
	"github.com/sportello/sportello/internal/mail/thread"
)

// Processor turns one raw message into its effect on the desk (a ticket, a
// message on a ticket, an automatic answer, a quarantine entry…) and
// records it, all in one transaction. Processing the same (mailbox,
// UIDVALIDITY, UID) twice does nothing the second time, so a reader that
// crashes after the commit and before marking the message on the server
// only marks it on restart.
type Processor struct {
	store       desk.Store
	outbox      *outbox.Outbox
	signer      thread.Signer
	now         func() time.Time
	maxAtt      int64
	log         *slog.Logger
	onCreated   func(desk.Ticket)
	notify      func(int64)
	guard       desk.TransitionGuard
	afterCreate func(context.Context, desk.Ticket)
	pecOpts     pec.Options
	onPECAlert  func(mailbox.PECAlert)
	pecProtocol ProtocolHook
}

// ProcessorOpts configures a Processor.
type ProcessorOpts struct {
	Store  desk.Store
	Outbox *outbox.Outbox
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// MaxAttachment is the largest attachment kept (default
	// desk.DefaultAttachment); larger ones are left in the raw message.
	MaxAttachment int64
	Log           *slog.Logger
	// OnCreated and Notify are called after commit for tickets created and
	// changed, as desk.Opts's hooks are.
	OnCreated func(desk.Ticket)
	Notify    func(ticketID int64)
	// Guard is consulted by every status change mail makes, inside its
	// transaction (desk.Desk.SetHooks); AfterCreate runs after commit for
	// every ticket registered.
	Guard       desk.TransitionGuard
	AfterCreate func(context.Context, desk.Ticket)
	// PEC tunes the parsing of certified mail (trust anchors).
	PEC pec.Options
	// OnPECAlert is called after commit for every PEC delivery alert
	// raised (metrics).
	OnPECAlert func(mailbox.PECAlert)
	// PECProtocol, when set, registers each ticket made from a PEC
	// envelope in the protocol register, after commit (intake_pec.go).
	PECProtocol ProtocolHook
}

// NewProcessor returns a Processor.
func NewProcessor(o ProcessorOpts) *Processor {
	p := &Processor{store: o.Store, outbox: o.Outbox, signer: o.Outbox.Signer(), now: o.Now, maxAtt: o.MaxAttachment, log: o.Log,
		onCreated: o.OnCreated, notify: o.Notify, guard: o.Guard, afterCreate: o.AfterCreate, pecOpts: o.PEC, onPECAlert: o.OnPECAlert,
		pecProtocol: o.PECProtocol}
	if p.now == nil {
		p.now = time.Now
	}
	if p.maxAtt <= 0 {
		p.maxAtt = desk.DefaultAttachment
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p
}

// Result says what processing a message did.
type Result struct {
	Outcome mailbox.Outcome
	Ticket  string // ticket number, if any
	Detail  string
	// Already is true when the message had been recorded before: nothing
	// was done (the caller only marks it on the server).
	Already bool
}

// Limits on what one message may put into a ticket.
const (
	maxAttachments = 100
	emptySubject   = "(senza oggetto)"
	emptyBody      = "(messaggio vuoto)"
)

// Item is a message fetched from a mailbox.
type Item struct {
	UID uint32
	Raw []byte
}

// Ingest processes one message of a mailbox. A message that cannot be
// processed for reasons that retrying will not change (unparseable, refused
// by the domain) is quarantined and Ingest returns no error; an error means
// nothing was recorded and the message should be tried again later.
func (p *Processor) Ingest(ctx context.Context, mb mailbox.Mailbox, uidValidity, uid uint32, raw []byte) (Result, error) {
	res, err := p.IngestBatch(ctx, mb, uidValidity, []Item{{UID: uid, Raw: raw}})
	if err != nil {
		return Result{}, err
	}
	return res[0], nil
}

// IngestBatch processes messages of a mailbox in the order given, in one
// transaction. Messages are parsed in parallel first. Each message is
// applied on its own: one the domain refuses is quarantined without
// affecting the others. An error means nothing was recorded (the caller
// may retry the messages one by one to find a poisonous one).
//
// (Committing independent groups of a batch in concurrent transactions
// was tried: on the shared 2-core machine, where PostgreSQL is CPU-bound,
// it was 20 % slower than one transaction.)
func (p *Processor) IngestBatch(ctx context.Context, mb mailbox.Mailbox, uidValidity uint32, items []Item) ([]Result, error) {
	ins := make([]*incoming, len(items))
	for i, it := range items {
		ins[i] = p.newIncoming(mb, uidValidity, it.UID, it.Raw)
	}
	prepareAll(ins)
	if err := p.commit(ctx, mb, uidValidity, ins); err != nil {
		return nil, err
	}
	out := make([]Result, len(ins))
	for i, in := range ins {
		out[i] = in.res
		for _, t := range in.created {
			if p.onCreated != nil {
				p.onCreated(t)
			}
			if p.afterCreate != nil {
				p.afterCreate(ctx, t)
			}
		}
		if p.onPECAlert != nil {
			for _, a := range in.pecAlerts {
				p.onPECAlert(a)
			}
		}
		p.registerProtocol(ctx, in)
		if p.notify != nil {
			for _, id := range slices.Compact(in.changed) {
				p.notify(id)
			}
		}
	}
	return out, nil
}

// commit records messages in one transaction, in order, with the highest
// UID taken as the reader's position.
func (p *Processor) commit(ctx context.Context, mb mailbox.Mailbox, uidValidity uint32, ins []*incoming) error {
	cache := newBatchCache()
	// The first attempt runs the messages without savepoints (each is a
	// round trip on PostgreSQL); should the domain refuse one, the batch
	// is rolled back and run again with each message in its savepoint.
	isolate := false
	var last uint32
	attempt := func(dtx desk.Tx) error {
		tx := mailbox.Of(dtx)
		cache.reset()
		last = 0
		uids := make([]uint32, len(ins))
		for i, in := range ins {
			uids[i] = in.base.UID
		}
		taken, err := tx.InboundTaken(ctx, mb.ID, uidValidity, uids)
		if err != nil {
			return err
		}
		isTaken := map[uint32]bool{}
		for _, u := range taken {
			isTaken[u] = true
		}
		var ids []string
		for _, in := range ins {
			ids = append(ids, in.base.MessageID)
			if in.msg != nil && in.msg.MessageID != in.base.MessageID {
				ids = append(ids, in.msg.MessageID)
			}
		}
		if cache.known.in, cache.known.out, err = tx.KnownMessageIDs(ctx, ids); err != nil {
			return err
		}
		cache.known.ok = true
		if !isolate {
			if err := cache.autoCounts(ctx, tx, ins, p.now().Add(-time.Hour)); err != nil {
				return err
			}
		}
		for _, in := range ins {
			in.reset()
			if isTaken[in.base.UID] {
				in.res = Result{Already: true}
				continue
			}
			isTaken[in.base.UID] = true // the same UID twice in a batch
			if err := p.run(ctx, dtx, in, cache, isolate); err != nil {
				return err
			}
			cache.noteInbound(in.rec)
			last = max(last, in.base.UID)
		}
		if last == 0 {
			return nil
		}
		return tx.SetMailboxPosition(ctx, mb.ID, uidValidity, last)
	}
	err := p.store.Update(ctx, attempt)
	if errors.Is(err, errIsolate) {
		isolate = true
		err = p.store.Update(ctx, attempt)
	}
	return err
}

// errIsolate asks for a batch to be run again with savepoints.
var errIsolate = errors.New("a message was refused: run the batch again with savepoints")

// run processes one message inside the batch's transaction. With isolate,
// when the domain refuses what the message asks for, its writes are rolled
// back to a savepoint and it is quarantined with the reason instead;
// without, the refusal is errIsolate.
func (p *Processor) run(ctx context.Context, dtx desk.Tx, in *incoming, cache *batchCache, isolate bool) error {
	tx := mailbox.Of(dtx)
	if !isolate {
		err := p.apply(ctx, dtx, in, cache)
		if err != nil && desk.ErrorCode(err) != desk.EInternal {
			return fmt.Errorf("%w: %v", errIsolate, err)
		}
		return err
	}
	if err := tx.Savepoint(ctx, "mail_msg"); err != nil {
		return err
	}
	err := p.apply(ctx, dtx, in, cache)
	if err == nil {
		return tx.Release(ctx, "mail_msg")
	}
	if desk.ErrorCode(err) == desk.EInternal {
		return err
	}
	if rbErr := tx.RollbackTo(ctx, "mail_msg"); rbErr != nil {
		return rbErr
	}
	in.quarantine = "refused: " + err.Error()
	in.reset()
	if err := p.apply(ctx, dtx, in, cache); err != nil {
		return err
	}
	return tx.Release(ctx, "mail_msg")
}

// apply decides what the message does, does it and records the message.
func (p *Processor) apply(ctx context.Context, dtx desk.Tx, in *incoming, cache *batchCache) error {
	cached := cachedTx{Tx: mailbox.Of(dtx), c: cache}
	in.tx = cached
	in.cache = cache
	in.d = desk.New(desk.Opts{Store: mailbox.Bind(cached), Now: p.now, MaxAttachment: p.maxAtt,
		OnCreated: func(t desk.Ticket) { in.created = append(in.created, t) },
		Notify:    func(id int64) { in.changed = append(in.changed, id) }})
	if p.guard != nil {
		// Only the guard: afterCreate hooks open their own transactions
		// and run after this one commits (see IngestBatch).
		// The guard gets the store's own transaction: it may need more
		// of it than the mail view (the workflow's phases).
		in.d.SetHooks(func(ctx context.Context, _ desk.Tx, t desk.Ticket, to desk.Status) error {
			return p.guard(ctx, dtx, t, to)
		})
	}
	if err := in.process(ctx); err != nil {
		return err
	}
	in.rec.Outcome, in.rec.Detail = in.res.Outcome, in.res.Detail
	in.rec.Received = p.now().UTC().Truncate(time.Microsecond)
	in.rec.Raw = in.raw
	if err := in.tx.InsertInbound(ctx, &in.rec); err != nil {
		return err
	}
	for _, e := range in.pendingEvents {
		e.InID = in.rec.ID
		if err := in.tx.InsertOutEvent(ctx, &e); err != nil {
			return err
		}
	}
	if err := in.recordPEC(ctx); err != nil {
		return err
	}
	if in.rec.TicketID != 0 && in.res.Ticket == "" {
		in.res.Ticket = ticketNumber(ctx, in.tx, in.rec.TicketID)
	}
	return nil
}

// Quarantine records a message as quarantined with a reason, unless it is
// already recorded.
func (p *Processor) Quarantine(ctx context.Context, mb mailbox.Mailbox, uidValidity, uid uint32, raw []byte, reason string) (Result, error) {
	in := p.newIncoming(mb, uidValidity, uid, raw)
	in.readHeaders()
	in.base = in.rec
	in.quarantine = reason
	var res Result
	err := p.store.Update(ctx, func(dtx desk.Tx) error {
		in.reset()
		taken, err := mailbox.Of(dtx).InboundTaken(ctx, mb.ID, uidValidity, []uint32{uid})
		if err != nil {
			return err
		}
		if len(taken) > 0 {
			res = Result{Already: true}
			return nil
		}
		if err := p.apply(ctx, dtx, in, newBatchCache()); err != nil {
			return err
		}
		res = in.res
		return mailbox.Of(dtx).SetMailboxPosition(ctx, mb.ID, uidValidity, uid)
	})
	return res, err
}

func (p *Processor) newIncoming(mb mailbox.Mailbox, uidValidity, uid uint32, raw []byte) *incoming {
	sum := sha256.Sum256(raw)
	return &incoming{p: p, mb: mb, raw: raw, channel: desk.ChannelEmail,
		rec: mailbox.Inbound{MailboxID: mb.ID, UIDValidity: uidValidity, UID: uid, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(raw))}}
}

// prepareAll parses the messages, in parallel.
func prepareAll(ins []*incoming) {
	workers := min(runtime.GOMAXPROCS(0), len(ins))
	if workers <= 1 {
		for _, in := range ins {
			in.prepare()
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan *incoming)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for in := range next {
				in.prepare()
			}
		}()
	}
	for _, in := range ins {
		next <- in
	}
	close(next)
	wg.Wait()
}

// batchCache holds what every message of a batch reads the same, so that
// it is read once per transaction.
type batchCache struct {
	rules map[int64][]route.Rule
	orgs  map[int64]desk.Organisation
	// services, queues, queueIDs, offices and auto serve cachedTx.
	offices  map[string][]route.Office
	auto     map[string]int
	services map[codeKey]desk.Service
	queues   map[codeKey]desk.Queue
	queueIDs map[int64]desk.Queue
	// addrs are the desk addresses; own also holds the mailboxes'.
	addrs map[string]mailbox.Address
	own   map[string]bool
	// known holds what the batch's Message-IDs were found to be, read
	// once per attempt (ok), plus the messages recorded since.
	known struct {
		ok  bool
		in  map[string]map[string]int64
		out map[string]bool
	}
}

// noteInbound adds a message just recorded to known, so that a second
// copy in the same batch is found a duplicate.
func (c *batchCache) noteInbound(rec mailbox.Inbound) {
	if !c.known.ok || rec.MessageID == "" || rec.ID == 0 {
		return
	}
	if c.known.in[rec.MessageID] == nil {
		c.known.in[rec.MessageID] = map[string]int64{}
	}
	if _, ok := c.known.in[rec.MessageID][rec.SHA256]; !ok {
		c.known.in[rec.MessageID][rec.SHA256] = rec.ID
	}
}

// sameInbound is tx.SameInbound, from known when the batch read it.
func (c *batchCache) sameInbound(ctx context.Context, tx mailbox.Tx, messageID, sum string) (int64, error) {
	if c.known.ok {
		return c.known.in[messageID][sum], nil
	}
	return tx.SameInbound(ctx, messageID, sum)
}

// sentByUs reports whether a Message-ID is one of the desk's sent messages.
func (c *batchCache) sentByUs(ctx context.Context, tx mailbox.Tx, messageID string) (bool, error) {
	if c.known.ok {
		return c.known.out[messageID], nil
	}
	_, err := tx.OutboundByMessageID(ctx, messageID)
	if desk.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

func newBatchCache() *batchCache {
	c := &batchCache{}
	c.reset()
	return c
}

// reset empties the cache (at the start of every attempt of a
// transaction).
func (c *batchCache) reset() {
	c.rules, c.orgs, c.addrs, c.own = map[int64][]route.Rule{}, map[int64]desk.Organisation{}, nil, nil
	c.services, c.queues, c.queueIDs = map[codeKey]desk.Service{}, map[codeKey]desk.Queue{}, map[int64]desk.Queue{}
	c.known.ok, c.known.in, c.known.out = false, nil, nil
	c.offices, c.auto = map[string][]route.Office{}, nil
}

func (c *batchCache) org(ctx context.Context, tx mailbox.Tx, id int64) (desk.Organisation, error) {
	if o, ok := c.orgs[id]; ok {
		return o, nil
	}
	o, err := tx.OrgByID(ctx, id)
	if err == nil {
		c.orgs[id] = o
	}
	return o, err
}

// address returns a desk address, found false when it is not one.
func (c *batchCache) address(ctx context.Context, tx mailbox.Tx, addr string) (mailbox.Address, bool, error) {
	if c.addrs == nil {
		all, err := tx.Addresses(ctx, 0)
		if err != nil {
			return mailbox.Address{}, false, err
		}
		boxes, err := tx.Mailboxes(ctx, true)
		if err != nil {
			return mailbox.Address{}, false, err
		}
		c.addrs, c.own = map[string]mailbox.Address{}, map[string]bool{}
		for _, a := range all {
			c.addrs[a.Address], c.own[a.Address] = a, true
		}
		for _, b := range boxes {
			c.own[b.Address] = true
		}
	}
	a, ok := c.addrs[addr]
	return a, ok, nil
}

// incoming is one message being processed.
type incoming struct {
	p       *Processor
	mb      mailbox.Mailbox
	raw     []byte
	rec     mailbox.Inbound
	msg     *parse.Message
	perr    error
	pec     *pec.Parsed
	channel desk.Channel
	// base and parsedErr are rec and perr after parsing; quarantine,
	// when set, forces the message into quarantine with that reason.
	base       mailbox.Inbound
	parsedErr  error
	quarantine string

	// Set inside the transaction.
	tx      mailbox.Tx
	d       *desk.Desk
	cache   *batchCache
	created []desk.Ticket
	changed []int64
	res     Result
	// events about sent messages, inserted after the received one.
	pendingEvents []mailbox.OutEvent
	// PEC receipt effects (see intake_pec.go) and the alerts raised.
	pecWork   *pecWork
	pecAlerts []mailbox.PECAlert
	pecCert   *mailbox.PECCert
}

// reset puts the message back to its state after parsing, before an
// attempt (PostgreSQL may repeat a transaction after a serialisation
// failure).
func (in *incoming) reset() {
	in.rec, in.perr = in.base, in.parsedErr
	if in.quarantine != "" {
		in.perr = errors.New(in.quarantine)
	}
	in.created, in.changed, in.res, in.pendingEvents = nil, nil, Result{}, nil
	in.pecWork, in.pecAlerts, in.pecCert = nil, nil, nil
}

// prepare parses the message outside the transaction.
func (in *incoming) prepare() {
	in.parse()
	in.base, in.parsedErr = in.rec, in.perr
}

func (in *incoming) parse() {
	raw := in.raw
	if in.mb.PEC {
		pp, err := pec.Parse(raw, in.p.pecOpts)
		if pp != nil && pp.Kind != pec.KindNone {
			in.pec = pp
		}
		switch {
		case pp != nil && pp.Kind == pec.KindEnvelope:
			if err != nil {
				in.perr = fmt.Errorf("PEC envelope: %w", err)
				in.readHeaders()
				return
			}
			raw = pp.Original
			in.channel = desk.ChannelPEC
		case pp != nil && pp.Kind == pec.KindAnomaly && pp.Original != nil:
			raw = pp.Original
		case err != nil && pp != nil && pp.Kind == pec.KindReceipt:
			// A receipt that does not hold together is still a receipt:
			// it never opens a ticket; keep it with the reason.
			in.perr = fmt.Errorf("PEC receipt: %w", err)
			in.readHeaders()
			return
		}
	}
	in.msg, in.perr = parse.Parse(raw, parse.Options{})
	if in.msg != nil {
		in.rec.MessageID = in.msg.MessageID
		in.rec.From = in.msg.From.Email
		in.rec.Subject = in.msg.Subject
		in.rec.HTML = in.msg.HTML
	}
	if in.pec != nil && in.pec.Kind != pec.KindNone {
		// De-duplicate on the envelope's own Message-ID.
		if outer, err := parse.Parse(in.raw, parse.Options{}); err == nil && outer.MessageID != "" {
			in.rec.MessageID = outer.MessageID
		}
	}
}

// readHeaders fills the log fields of a message that is not processed.
func (in *incoming) readHeaders() {
	if m, err := parse.Parse(in.raw, parse.Options{}); err == nil {
		in.rec.MessageID, in.rec.From, in.rec.Subject = m.MessageID, m.From.Email, m.Subject
	}
}

func ticketNumber(ctx context.Context, tx mailbox.Tx, id int64) string {
	t, err := tx.TicketByID(ctx, id)
	if err != nil {
		return ""
	}
	return t.Number
}

// set records the outcome (unless o is empty) and appends to the detail.
func (in *incoming) set(o mailbox.Outcome, detail string) {
	if o != "" {
		in.res.Outcome = o
	}
	if detail != "" {
		if in.res.Detail != "" {
			in.res.Detail += "; "
		}
		in.res.Detail += detail
	}
}

// process decides and applies what the message does.
func (in *incoming) process(ctx context.Context) error {
	if in.perr != nil {
		in.set(mailbox.OutQuarantined, in.perr.Error())
		return nil
	}
	m := in.msg
	if m.MessageID != "" {
		dup, err := in.cache.sameInbound(ctx, in.tx, in.rec.MessageID, in.rec.SHA256)
		if err != nil {
			return err
		}
		if dup != 0 {
			in.set(mailbox.OutDuplicate, fmt.Sprintf("same Message-ID and content as received message %d", dup))
			return nil
		}
	}
	if in.pec != nil && in.pec.Kind == pec.KindReceipt {
		return in.receipt(ctx)
	}
	// Our own mail coming back (a server that files sent mail in the
	// inbox, a list that echoes): never a request, never answered.
	if m.MessageID != "" {
		ours, err := in.cache.sentByUs(ctx, in.tx, m.MessageID)
		if err != nil {
			return err
		}
		if ours {
			in.set(mailbox.OutDuplicate, "a copy of a message the desk sent")
			return nil
		}
	}
	if _, _, err := in.cache.address(ctx, in.tx, ""); err != nil {
		return err
	}
	if in.cache.own[m.From.Email] && m.Robot != parse.RobotBounce {
		in.set(mailbox.OutRobot, "sent from one of the desk's own addresses: no ticket, no answer")
		return nil
	}
	if m.Robot == parse.RobotBounce {
		return in.bounce(ctx)
	}
	deskAddr, retired, err := in.recipient(ctx)
	if err != nil {
		return err
	}
	in.rec.Recipient = firstNonEmpty(deskAddr, retired, in.mb.Address)
	t, how, found, err := in.findTicket(ctx)
	if err != nil {
		return err
	}
	if found {
		return in.onTicket(ctx, t, how)
	}
	if m.Robot.IsRobot() {
		in.set(mailbox.OutRobot, "automatic mail ("+string(m.Robot)+"): no ticket, no answer")
		return nil
	}
	if deskAddr == "" && retired != "" {
		return in.retired(ctx, retired)
	}
	return in.newRequest(ctx)
}

// recipient finds which desk address the message was sent to, and a
// retired address it was sent to (when it went to no served address).
func (in *incoming) recipient(ctx context.Context) (deskAddr, retired string, err error) {
	now := in.p.now()
	for _, r := range in.msg.Recipients {
		if _, base, ok := in.p.signer.FromAddress(r); ok || base != r {
			r = base
		}
		a, found, err := in.cache.address(ctx, in.tx, r)
		if err != nil {
			return "", "", err
		}
		if !found {
			if r == in.mb.Address && deskAddr == "" {
				deskAddr = r
			}
			continue
		}
		if a.OrgID != in.mb.OrgID {
			continue
		}
		if a.RetiredNow(now) {
			if retired == "" {
				retired = a.Address
			}
		} else if deskAddr == "" {
			deskAddr = a.Address
		}
	}
	return deskAddr, retired, nil
}

// findTicket finds the ticket a message answers: by a signed reply token
// in In-Reply-To, References or a plus-addressed recipient; by the
// Message-ID of a message received or sent on a ticket; or by the ticket
// number in the subject when the sender is the ticket's requester.
func (in *incoming) findTicket(ctx context.Context) (desk.Ticket, string, bool, error) {
	m := in.msg
	ids := slices.Clone(m.InReplyTo)
	for i := len(m.References) - 1; i >= 0; i-- {
		ids = append(ids, m.References[i])
	}
	get := func(number string) (desk.Ticket, bool, error) {
		t, err := in.tx.TicketByNumber(ctx, number)
		if desk.IsNotFound(err) {
			return t, false, nil
		}
		return t, err == nil, err
	}
	for _, id := range ids {
		if num, ok := in.p.signer.FromMessageID(id); ok {
			if t, ok, err := get(num); ok || err != nil {
				return t, "reply token", ok, err
			}
		}
	}
	for _, r := range m.Recipients {
		if num, _, ok := in.p.signer.FromAddress(r); ok {
			if t, ok, err := get(num); ok || err != nil {
				return t, "reply address", ok, err
			}
		}
	}
	if len(ids) > 0 {
		byID, err := in.tx.TicketsByMessageID(ctx, ids)
		if err != nil {
			return desk.Ticket{}, "", false, err
		}
		for _, id := range ids {
			if tid, ok := byID[id]; ok {
				t, err := in.tx.TicketByID(ctx, tid)
				if err == nil {
					return t, "references", true, nil
				}
				if !desk.IsNotFound(err) {
					return t, "", false, err
				}
			}
		}
	}
	if num, ok := parse.FindTicketRef(m.Subject); ok && desk.ValidNumber(num) {
		t, ok, err := get(num)
		if err != nil {
			return t, "", false, err
		}
		if ok && t.OrgID == in.mb.OrgID && desk.NormEmail(t.Requester.Email) == m.From.Email {
			return t, "subject", true, nil
		}
	}
	return desk.Ticket{}, "", false, nil
}

// body is the new text of the message: quoted history removed (the full
// original stays in the raw message), bounded to what a ticket holds.
func (in *incoming) body(strip bool) string {
	text := in.msg.Text
	if strip {
		if s := parse.StripQuoted(text); strings.TrimSpace(s) != "" {
			text = s
		}
	}
	text = strings.TrimSpace(text)
	if utf8.RuneCountInString(text) > desk.MaxBody-100 {
		text = string([]rune(text)[:desk.MaxBody-100]) + "\n\n[… testo troncato / text truncated]"
	}
	if text == "" {
		text = emptyBody
	}
	return text
}

// attachments converts the message's attachments, leaving out those too
// large for a ticket (they stay in the raw message).
func (in *incoming) attachments() []desk.NewAttachment {
	var out []desk.NewAttachment
	var skipped []string
	for _, a := range in.msg.Attachments {
		if int64(len(a.Data)) > in.p.maxAtt || len(out) >= maxAttachments {
			skipped = append(skipped, a.Name)
			continue
		}
		out = append(out, desk.NewAttachment{Name: a.Name, ContentType: a.ContentType, Data: a.Data})
	}
	if len(skipped) > 0 {
		in.set(in.res.Outcome, "attachments left in the original message (too large or too many): "+strings.Join(skipped, ", "))
	}
	return out
}

func (in *incoming) from() mail.Address {
	return mail.Address{Name: in.msg.From.Name, Address: in.msg.From.Email}
}

// onTicket adds the message to the ticket it answers.
func (in *incoming) onTicket(ctx context.Context, t desk.Ticket, how string) error {
	for hops := 0; t.MergedInto != 0 && hops < 10; hops++ {
		next, err := in.tx.TicketByID(ctx, t.MergedInto)
		if err != nil {
			return err
		}
		t = next
	}
	in.rec.TicketID, in.res.Ticket = t.ID, t.Number
	m := in.msg
	if m.Robot.IsRobot() {
		// An out-of-office or similar answer to our mail: agents may want
		// to know, the requester's ticket must not move.
		msg, err := in.d.AddMessage(ctx, desk.SystemActor, t.Number, desk.NewMessage{Internal: true, Channel: in.channel,
			Body: fmt.Sprintf("Risposta automatica ricevuta / Automatic answer received (%s) da / from %s: %s\n\n%s", m.Robot, m.From.Email, m.Subject, in.body(true))})
		if err != nil {
			return err
		}
		in.rec.MessageRef = msg.ID
		in.set(mailbox.OutRobot, "automatic answer noted on the ticket (found by "+how+")")
		return nil
	}
	body := in.body(true)
	add := func() error {
		msg, err := in.d.AddMessage(ctx, desk.SystemActor, t.Number, desk.NewMessage{Body: body, Channel: in.channel,
			Attachments: in.attachments(), Kind: desk.MessageIncoming, AuthorEmail: m.From.Email, AuthorName: m.From.Name})
		if err != nil {
			return err
		}
		in.rec.MessageRef = msg.ID
		return nil
	}
	switch {
	case t.Status.Final() && in.mb.ClosedReply == mailbox.Reopen:
		ok, err := in.transition(ctx, t, desk.StatusOpen, "Riaperta da una risposta via e-mail / reopened by an e-mail reply")
		if err != nil {
			return err
		}
		if !ok {
			return in.followUp(ctx, t, body, how)
		}
		in.set(mailbox.OutReopened, "reply to a "+string(t.Status)+" ticket (found by "+how+")")
		return add()
	case t.Status.Final():
		return in.followUp(ctx, t, body, how)
	case t.Status == desk.StatusResolved && isConfirmation(body):
		if err := add(); err != nil {
			return err
		}
		in.set(mailbox.OutMessage, "found by "+how)
		ok, err := in.transition(ctx, t, desk.StatusClosed, "Risoluzione confermata dal richiedente via e-mail / resolution confirmed by e-mail")
		if ok {
			in.set(mailbox.OutConfirmed, "")
		}
		return err
	case t.Status == desk.StatusResolved:
		in.set(mailbox.OutMessage, "found by "+how)
		ok, err := in.transition(ctx, t, desk.StatusOpen, "Riaperta: il richiedente segnala che il problema persiste / reopened by the requester's reply")
		if err != nil {
			return err
		}
		if ok {
			in.set(mailbox.OutReopened, "reply to a resolved ticket")
		}
		return add()
	}
	in.set(mailbox.OutMessage, "found by "+how)
	return add()
}

// transition changes a ticket's status. When the domain (an approval gate,
// say) refuses, nothing was written: the message is still taken, the
// status stays, and the mail log says why (ok false, nil error).
func (in *incoming) transition(ctx context.Context, t desk.Ticket, to desk.Status, reason string) (bool, error) {
	_, err := in.d.Transition(ctx, desk.SystemActor, t.Number, desk.TransitionInput{To: to, Reason: reason})
	if err == nil {
		return true, nil
	}
	if desk.ErrorCode(err) == desk.EInternal {
		return false, err
	}
	in.set("", fmt.Sprintf("status not changed to %s: %s", to, desk.ErrorMessage(err)))
	return false, nil
}

// followUp opens a new ticket for a reply to a closed one, linked to it.
func (in *incoming) followUp(ctx context.Context, old desk.Ticket, body, how string) error {
	m := in.msg
	org, err := in.cache.org(ctx, in.tx, old.OrgID)
	if err != nil {
		return err
	}
	nt := desk.NewTicket{OrgCode: org.Code, Subject: old.Subject, Description: body, Service: old.ServiceCode, Queue: old.QueueCode,
		Channel: in.channel, Priority: old.Priority, Requester: desk.Contact{Email: m.From.Email, Name: m.From.Name}, Attachments: in.attachments(),
		Tags: old.Tags}
	if old.ServiceCode != "" {
		if s, err := in.tx.ServiceByCode(ctx, old.OrgID, old.ServiceCode); err != nil || !s.Active {
			nt.Service = ""
		}
	}
	t, err := in.d.CreateTicket(ctx, desk.SystemActor, nt)
	if err != nil {
		return err
	}
	if err := in.d.LinkTickets(ctx, desk.SystemActor, t.Number, old.Number, desk.LinkFollowUp); err != nil {
		return err
	}
	in.rec.TicketID, in.res.Ticket = t.ID, t.Number
	in.set(mailbox.OutFollowUp, fmt.Sprintf("reply to %s ticket %s (found by %s)", old.Status, old.Number, how))
	if err := in.thread(ctx, t); err != nil {
		return err
	}
	return in.autoReply(ctx, outbox.KindFollowUp, &t, outbox.Data{Previous: old.Number})
}

// newRequest routes a message that answers no ticket.
func (in *incoming) newRequest(ctx context.Context) error {
	m := in.msg
	rules, ok := in.cache.rules[in.mb.OrgID]
	if !ok {
		var err error
		if rules, err = in.tx.Rules(ctx, in.mb.OrgID); err != nil {
			return err
		}
		in.cache.rules[in.mb.OrgID] = rules
	}
	body := in.body(false)
	dec := route.Evaluate(rules, route.Input{Recipients: m.Recipients, Sender: m.From.Email, Subject: m.Subject, Body: body})
	if len(dec.Matched) > 0 {
		in.set("", "rules: "+strings.Join(dec.Matched, ", "))
	}
	if dec.NoTicket {
		in.set(mailbox.OutAnswered, "")
		if dec.Reply == "none" {
			return nil
		}
		return in.autoReply(ctx, dec.Reply, nil, outbox.Data{Subject: m.Subject, Text: dec.Text})
	}
	org, err := in.cache.org(ctx, in.tx, in.mb.OrgID)
	if err != nil {
		return err
	}
	nt := desk.NewTicket{OrgCode: org.Code, Subject: thread.CleanSubject(m.Subject), Description: body, Channel: in.channel,
		Priority: desk.Priority(dec.Priority), Requester: desk.Contact{Email: m.From.Email, Name: m.From.Name}, Attachments: in.attachments()}
	if nt.Subject == "" {
		nt.Subject = emptySubject
	}
	if runes := []rune(nt.Subject); len(runes) > desk.MaxSubject {
		nt.Subject = string(runes[:desk.MaxSubject-1]) + "…"
	}
	// A rule naming a service or queue that does not exist (any more)
	// must not keep mail out: the request goes to triage, and the log
	// says why.
	if dec.Service != "" {
		if s, err := in.tx.ServiceByCode(ctx, org.ID, dec.Service); err == nil && s.Active {
			nt.Service = dec.Service
		} else {
			in.set("", fmt.Sprintf("rule names unknown service %q", dec.Service))
		}
	}
	if dec.Queue != "" {
		if _, err := in.tx.QueueByCode(ctx, org.ID, dec.Queue); err == nil {
			nt.Queue = dec.Queue
		} else {
			in.set("", fmt.Sprintf("rule names unknown queue %q", dec.Queue))
		}
	}
	if !nt.Priority.Valid() {
		nt.Priority = ""
	}
	if tags, err := desk.NormTags(dec.Tags); err == nil {
		nt.Tags = tags
	} else {
		in.set("", "rule tags not applied: "+desk.ErrorMessage(err))
	}
	t, err := in.d.CreateTicket(ctx, desk.SystemActor, nt)
	if err != nil {
		return err
	}
	in.rec.TicketID, in.res.Ticket = t.ID, t.Number
	in.set(mailbox.OutTicket, "")
	if err := in.thread(ctx, t); err != nil {
		return err
	}
	if dec.Redirect != "" {
		done, err := in.redirect(ctx, t, dec)
		if err != nil || done {
			return err
		}
	}
	kind := dec.Reply
	if nt.Service == "" && nt.Queue == "" && (kind == outbox.KindAck || dec.Default) {
		kind = outbox.KindAckTriage
	}
	if kind == "none" {
		return nil
	}
	return in.autoReply(ctx, kind, &t, outbox.Data{Text: dec.Text})
}

// thread records the mailbox and address a ticket's mail uses.
func (in *incoming) thread(ctx context.Context, t desk.Ticket) error {
	return in.tx.PutThread(ctx, mailbox.Thread{TicketID: t.ID, MailboxID: in.mb.ID, Address: in.rec.Recipient})
}

// redirect answers with the competent office and closes the ticket as
// redirected. It returns false when no office is found: the ticket then
// stays open for an agent, with a note saying why.
func (in *incoming) redirect(ctx context.Context, t desk.Ticket, dec route.Decision) (bool, error) {
	offices, err := in.tx.Offices(ctx, dec.Redirect)
	if err != nil {
		return false, err
	}
	province, how := route.FindProvince(in.msg.Subject + "\n" + in.body(false))
	source := "the message"
	if !how {
		// The requester's own organisation, when it is not the desk's
		// (unknown senders are registered in the desk's organisation).
		if u, err := in.tx.UserByEmail(ctx, in.msg.From.Email); err == nil && u.OrgID != in.mb.OrgID {
			if o, err := in.tx.OrgByID(ctx, u.OrgID); err == nil && o.Province != "" {
				province, source = o.Province, "the requester's organisation"
			}
		}
	}
	office, ok := route.Competent(offices, dec.Redirect, province)
	if !ok {
		why := "no province found in the message or the requester's organisation"
		if province != "" {
			why = fmt.Sprintf("no %s for province %s in the directory", dec.Redirect, province)
		}
		if _, err := in.d.AddMessage(ctx, desk.SystemActor, t.Number, desk.NewMessage{Internal: true,
			Body: "Reindirizzamento automatico non riuscito / automatic redirect failed: " + why}); err != nil {
			return false, err
		}
		in.set("", "redirect: "+why)
		return false, nil
	}
	data := outbox.Data{Office: office, Text: dec.Text}
	note := fmt.Sprintf("Competente / competent: %s (%s, %s), provincia %s da / from %s.", office.Name, office.Address(), office.Code, province, source)
	if ok, err := in.transition(ctx, t, desk.StatusRedirected, "Reindirizzata a / redirected to "+office.Name); err != nil || !ok {
		if err != nil {
			return false, err
		}
		// Refused: the ticket stays for an agent, who gets the note.
		_, err := in.d.AddMessage(ctx, desk.SystemActor, t.Number, desk.NewMessage{Internal: true, Body: note})
		return false, err
	}
	msg, err := in.d.AddMessage(ctx, desk.SystemActor, t.Number, desk.NewMessage{Kind: desk.MessageSystem, Channel: in.channel,
		Body: note})
	if err != nil {
		return false, err
	}
	in.set(mailbox.OutRedirected, fmt.Sprintf("to %s <%s> (province %s from %s)", office.Name, office.Address(), province, source))
	if dec.ForwardPEC {
		if err := in.forwardPEC(ctx, t, office); err != nil {
			return false, err
		}
	}
	// The requester must learn where to write even when automatic answers
	// are being limited, so only robots and loops stop this one.
	return true, in.reply(ctx, outbox.KindRedirect, &t, data, msg.ID, true)
}

// retired answers a message sent to a retired address; no ticket.
func (in *incoming) retired(ctx context.Context, addr string) error {
	in.set(mailbox.OutRetired, "sent to retired address "+addr)
	deskAddr := in.mb.Address
	if addrs, err := in.tx.Addresses(ctx, in.mb.OrgID); err == nil {
		for _, a := range addrs {
			if a.Kind == mailbox.KindDesk {
				deskAddr = a.Address
				break
			}
		}
	}
	return in.autoReply(ctx, outbox.KindRetired, nil, outbox.Data{Subject: in.msg.Subject, RetiredAddress: addr, DeskAddress: deskAddr})
}

// autoReply sends an automatic answer unless loop protection forbids it.
func (in *incoming) autoReply(ctx context.Context, kind string, t *desk.Ticket, data outbox.Data) error {
	return in.reply(ctx, kind, t, data, 0, false)
}

func (in *incoming) reply(ctx context.Context, kind string, t *desk.Ticket, data outbox.Data, ref int64, important bool) error {
	m := in.msg
	if in.pec != nil && in.pec.Kind == pec.KindAnomaly {
		// Ordinary mail wrapped by the PEC provider: its sender is not
		// certified, and institutional PEC boxes get much spam this way.
		// An automatic answer would go, by PEC, to whoever forged it.
		in.set(in.res.Outcome, "no automatic answer: not certified (PEC anomaly envelope)")
		return nil
	}
	if _, _, err := in.cache.address(ctx, in.tx, ""); err != nil {
		return err
	}
	ok, why, err := in.p.outbox.MayAutoReplyKnowing(ctx, in.tx, m.From.Email, m.Robot, in.cache.own)
	if err != nil {
		return err
	}
	if data.DeskName == "" {
		if org, err := in.cache.org(ctx, in.tx, in.mb.OrgID); err == nil {
			data.DeskName = org.Name
		}
	}
	if !ok && !(important && strings.HasPrefix(why, "rate limit")) {
		in.set(in.res.Outcome, "no automatic answer: "+why)
		return nil
	}
	from := in.rec.Recipient
	if a, found, err := in.cache.address(ctx, in.tx, from); err != nil || !found || a.RetiredNow(in.p.now()) {
		from = in.mb.Address
	}
	if data.DeskAddress == "" {
		data.DeskAddress = from
	}
	refs := slices.Clone(m.References)
	if m.MessageID != "" {
		refs = append(refs, m.MessageID)
	}
	_, err = in.p.outbox.Enqueue(ctx, in.tx, outbox.Request{Mailbox: in.mb, From: from, Kind: kind, Ticket: t, MessageRef: ref,
		To: in.from(), Auto: true, Data: data, InReplyTo: m.MessageID, References: refs})
	if err != nil {
		return err
	}
	in.set(in.res.Outcome, "answered ("+kind+")")
	return nil
}

// bounce records a delivery report on the message it is about.
func (in *incoming) bounce(ctx context.Context) error {
	b := in.msg.Bounce
	in.set(mailbox.OutBounce, "")
	if b == nil || b.OriginalMessageID == "" {
		in.set(mailbox.OutBounce, "delivery report about a message we cannot identify")
		return nil
	}
	out, err := in.tx.OutboundByMessageID(ctx, b.OriginalMessageID)
	if desk.IsNotFound(err) {
		in.set(mailbox.OutBounce, "delivery report about a message we did not send: "+b.OriginalMessageID)
		return nil
	}
	if err != nil {
		return err
	}
	failed := b.Failed()
	kind, detail := "delayed", "delivery report"
	if len(failed) > 0 {
		kind = "bounce"
		var parts []string
		for _, r := range failed {
			parts = append(parts, strings.TrimSpace(r.Email+" "+r.Status+" "+r.Diagnostic))
		}
		detail = strings.Join(parts, "; ")
	} else if len(b.Recipients) > 0 {
		kind = b.Recipients[0].Action
	}
	if err := in.recordOutEvent(ctx, out, kind, detail); err != nil {
		return err
	}
	if kind == "bounce" {
		if err := in.tx.SetOutboundState(ctx, out.ID, mailbox.OutBounced, detail); err != nil {
			return err
		}
		if out.TicketID != 0 {
			in.rec.TicketID = out.TicketID
			t, err := in.tx.TicketByID(ctx, out.TicketID)
			if err != nil {
				return err
			}
			if _, err := in.d.AddMessage(ctx, desk.SystemActor, t.Number, desk.NewMessage{Internal: true,
				Body: "Messaggio non consegnato / message not delivered: " + out.Subject + "\n" + detail}); err != nil {
				return err
			}
		}
	}
	in.set(mailbox.OutBounce, kind+" of sent message "+out.MessageID)
	return nil
}

// receipt records a PEC receipt on the message it certifies (see
// intake_pec.go).
func (in *incoming) receipt(ctx context.Context) error { return in.pecReceipt(ctx) }

// recordOutEvent notes an event about a sent message; it is inserted once
// the received message that reports it is (it refers to it).
func (in *incoming) recordOutEvent(_ context.Context, out mailbox.Outbound, kind, detail string) error {
	e := mailbox.OutEvent{OutID: out.ID, Kind: kind, Detail: detail, At: in.p.now().UTC().Truncate(time.Microsecond)}
	in.pendingEvents = append(in.pendingEvents, e)
	return nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// confirmWords and denyWords recognise a short answer confirming a
// resolution ("Confermo, grazie") as opposed to one saying the problem
// persists ("non funziona ancora").
var (
	confirmWords = []string{"confermo", "conferma", "confermato", "confermata", "risolto", "risolta", "funziona", "ok", "okay",
		"grazie", "perfetto", "confirm", "confirmed", "solved", "resolved", "works", "working", "thanks", "thank", "fixed"}
	denyWords = []string{"non", "no", "ancora", "persiste", "problema", "errore", "not", "still", "again", "problem", "error",
		"doesn", "isn", "don", "nothing", "niente", "nulla", "pero", "but", "ma"}
)

func isConfirmation(body string) bool {
	words := route.Words(body)
	if len(words) == 0 || len(words) > 30 {
		return false
	}
	confirm := false
	for _, w := range words {
		if slices.Contains(denyWords, w) {
			return false
		}
		confirm = confirm || slices.Contains(confirmWords, w)
	}
	return confirm
}
