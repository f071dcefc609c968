package intake

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/sportello/sportello/internal/mail/mailbox"
)

// Conn is the little of IMAP the reader needs. It keeps go-imap (still a
// beta) behind one seam, and lets tests inject failures.
type Conn interface {
	// Select opens the folder and returns its UIDVALIDITY and UIDNEXT.
	Select(ctx context.Context, folder string) (uidValidity, uidNext uint32, err error)
	// Search returns, in ascending order, the UIDs of unseen messages and
	// of every message with a UID above after.
	Search(ctx context.Context, after uint32) ([]uint32, error)
	// Fetch fetches the raw bytes (BODY.PEEK[], so nothing is marked) of
	// the messages, calling fn for each in UID order as they arrive.
	Fetch(ctx context.Context, uids []uint32, fn func(uid uint32, raw []byte) error) error
	// MarkSeen sets \Seen on the messages.
	MarkSeen(ctx context.Context, uids []uint32) error
	// Move moves the messages to folder, creating it when the server
	// says it does not exist (MOVE; without it COPY, STORE \Deleted and
	// EXPUNGE, by UID when the server has UIDPLUS).
	Move(ctx context.Context, uids []uint32, folder string) error
	// Wait returns when the server announces new mail (IDLE), when max
	// has passed, or when ctx ends. Without IDLE it waits for poll.
	Wait(ctx context.Context, max, poll time.Duration) error
	Close() error
}

// Dialer opens an authenticated IMAP connection.
type Dialer func(ctx context.Context, ep mailbox.Endpoint, password mailbox.Secret) (Conn, error)

// IMAPDialer returns a Dialer using go-imap. roots verifies server
// certificates (nil: the system's).
func IMAPDialer(roots *x509.CertPool) Dialer {
	return func(ctx context.Context, ep mailbox.Endpoint, password mailbox.Secret) (Conn, error) {
		return dialIMAP(ctx, ep, password, roots)
	}
}

type imapConn struct {
	c       *imapclient.Client
	updates chan struct{}
	// noIdle is set when the server refused IDLE although it offers it:
	// the connection polls from then on.
	noIdle bool
}

func dialIMAP(ctx context.Context, ep mailbox.Endpoint, password mailbox.Secret, roots *x509.CertPool) (Conn, error) {
	ic := &imapConn{updates: make(chan struct{}, 1)}
	signal := func() {
		select {
		case ic.updates <- struct{}{}:
		default:
		}
	}
	opts := &imapclient.Options{
		TLSConfig: &tls.Config{ServerName: ep.Host, RootCAs: roots, InsecureSkipVerify: ep.Insecure, MinVersion: tls.VersionTLS12}, //nolint:gosec // explicit per-mailbox test option
		Dialer:    &net.Dialer{Timeout: 30 * time.Second},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					signal()
				}
			},
		},
	}
	var d net.Dialer
	d.Timeout = 30 * time.Second
	var conn net.Conn
	var err error
	if ep.TLS() {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: opts.TLSConfig}).DialContext(ctx, "tcp", ep.Addr())
	} else {
		conn, err = d.DialContext(ctx, "tcp", ep.Addr())
	}
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", ep.Addr(), err)
	}
	if ep.StartTLS && !ep.TLS() {
		ic.c, err = imapclient.NewStartTLS(conn, opts)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("STARTTLS with %s: %w", ep.Addr(), err)
		}
	} else {
		ic.c = imapclient.New(conn, opts)
	}
	stop := context.AfterFunc(ctx, func() { ic.c.Close() })
	defer stop()
	if err := ic.c.WaitGreeting(); err != nil {
		ic.c.Close()
		return nil, fmt.Errorf("greeting from %s: %w", ep.Addr(), err)
	}
	if ep.User != "" {
		if err := ic.c.Login(ep.User, password.Reveal()).Wait(); err != nil {
			ic.c.Close()
			return nil, fmt.Errorf("log in to %s as %s: %s", ep.Addr(), ep.User, mailbox.Redact(err.Error(), password))
		}
	}
	return ic, nil
}

// withCtx closes the connection when ctx ends during a command, so that a
// hung server never blocks shutdown or a lost lease.
func (ic *imapConn) withCtx(ctx context.Context, fn func() error) error {
	stop := context.AfterFunc(ctx, func() { ic.c.Close() })
	defer stop()
	err := fn()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (ic *imapConn) Select(ctx context.Context, folder string) (uint32, uint32, error) {
	var data *imap.SelectData
	err := ic.withCtx(ctx, func() error {
		var err error
		data, err = ic.c.Select(folder, nil).Wait()
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("select %q: %w", folder, err)
	}
	return data.UIDValidity, uint32(data.UIDNext), nil
}

func (ic *imapConn) Search(ctx context.Context, after uint32) ([]uint32, error) {
	var out []uint32
	err := ic.withCtx(ctx, func() error {
		unseen, err := ic.c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
		if err != nil {
			return err
		}
		for _, u := range unseen.AllUIDs() {
			out = append(out, uint32(u))
		}
		newer, err := ic.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{{imap.UIDRange{Start: imap.UID(after + 1), Stop: 0}}}}, nil).Wait()
		if err != nil {
			return err
		}
		for _, u := range newer.AllUIDs() {
			// "n:*" matches the highest UID even when n is above it.
			if uint32(u) > after {
				out = append(out, uint32(u))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (ic *imapConn) Fetch(ctx context.Context, uids []uint32, fn func(uint32, []byte) error) error {
	if len(uids) == 0 {
		return nil
	}
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	section := &imap.FetchItemBodySection{Peek: true}
	return ic.withCtx(ctx, func() error {
		cmd := ic.c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
		var ferr error
		for {
			msg := cmd.Next()
			if msg == nil {
				break
			}
			if ferr != nil {
				continue // drain
			}
			buf, err := msg.Collect()
			if err != nil {
				ferr = err
				continue
			}
			raw := buf.FindBodySection(section)
			if raw == nil || buf.UID == 0 {
				continue
			}
			if err := fn(uint32(buf.UID), raw); err != nil {
				ferr = err
			}
		}
		if err := cmd.Close(); err != nil && ferr == nil {
			ferr = fmt.Errorf("fetch: %w", err)
		}
		return ferr
	})
}

func (ic *imapConn) MarkSeen(ctx context.Context, uids []uint32) error {
	if len(uids) == 0 {
		return nil
	}
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	return ic.withCtx(ctx, func() error {
		return ic.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close()
	})
}

func (ic *imapConn) Move(ctx context.Context, uids []uint32, folder string) error {
	if len(uids) == 0 {
		return nil
	}
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	// retry runs op again after creating the folder when the server
	// answers [TRYCREATE].
	retry := func(op func() error) error {
		err := op()
		var ierr *imap.Error
		if errors.As(err, &ierr) && ierr.Code == imap.ResponseCodeTryCreate {
			if cerr := ic.c.Create(folder, nil).Wait(); cerr != nil {
				return fmt.Errorf("create folder %q: %w", folder, cerr)
			}
			err = op()
		}
		return err
	}
	return ic.withCtx(ctx, func() error {
		caps := ic.c.Caps()
		if caps.Has(imap.CapMove) {
			if err := retry(func() error { _, err := ic.c.Move(set, folder).Wait(); return err }); err != nil {
				return fmt.Errorf("move to %q: %w", folder, err)
			}
			return nil
		}
		// Without MOVE: COPY, and only once the copy is confirmed, flag
		// and expunge the originals. (go-imap's own fallback pipelines
		// the three commands, so a failed COPY would still delete.)
		if err := retry(func() error { _, err := ic.c.Copy(set, folder).Wait(); return err }); err != nil {
			return fmt.Errorf("copy to %q: %w", folder, err)
		}
		if err := ic.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
			return fmt.Errorf("flag moved messages deleted: %w", err)
		}
		// UID EXPUNGE removes exactly these; plain EXPUNGE (servers
		// without UIDPLUS) also removes whatever else is flagged \Deleted
		// in the folder, as any mail client would.
		var err error
		if caps.Has(imap.CapUIDPlus) {
			err = ic.c.UIDExpunge(set).Close()
		} else {
			err = ic.c.Expunge().Close()
		}
		if err != nil {
			return fmt.Errorf("expunge moved messages: %w", err)
		}
		return nil
	})
}

func (ic *imapConn) Wait(ctx context.Context, max, poll time.Duration) error {
	// Updates seen since the last command: new mail already announced.
	select {
	case <-ic.updates:
		return nil
	default:
	}
	if ic.noIdle || !ic.c.Caps().Has(imap.CapIdle) && !ic.c.Caps().Has(imap.CapIMAP4rev2) {
		t := time.NewTimer(min(max, poll))
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return ic.c.Noop().Wait()
		}
	}
	idle, err := ic.c.Idle()
	if refused(err) {
		ic.noIdle = true
		return nil // poll from now on
	}
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	t := time.NewTimer(max)
	defer t.Stop()
	var werr error
	select {
	case <-ctx.Done():
		werr = ctx.Err()
	case <-t.C:
	case <-ic.updates:
	case <-ic.c.Closed():
		werr = errors.New("connection closed by the server")
	}
	if err := idle.Close(); err != nil && werr == nil {
		werr = fmt.Errorf("end idle: %w", err)
	}
	if err := idle.Wait(); err != nil && werr == nil {
		if refused(err) {
			ic.noIdle = true
			return nil
		}
		werr = fmt.Errorf("idle: %w", err)
	}
	return werr
}

// refused reports whether the server answered a command with NO or BAD
// (rather than the connection failing).
func refused(err error) bool {
	var ierr *imap.Error
	return errors.As(err, &ierr)
}

func (ic *imapConn) Close() error {
	_ = ic.c.Logout().Wait()
	return ic.c.Close()
}
