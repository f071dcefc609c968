package outbox

import (
	"context"
	"errors"
	"fmt"
	"net/mail"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/pec"
)

// DefaultPECMaxSize is the largest message submitted through a PEC
// mailbox when Opts.PECMaxSize is not set: 50 MiB, below the limits of the
// major Italian PEC providers (the encoded message counts, attachments in
// base64 included).
const DefaultPECMaxSize = 50 << 20

// pecFrom returns the From of mail sent through a mailbox: a PEC mailbox
// sends only as itself (the provider refuses any other From or envelope
// sender).
func pecFrom(mb mailbox.Mailbox, from string) string {
	if mb.PEC {
		return mb.Address
	}
	return from
}

// checkPEC applies the rules of PEC submission to an encoded message: From
// is the mailbox, no Bcc (the outbox never writes one), recipients valid,
// size within the provider's limit. A message over the limit is refused
// with a too_large error that says by how much, so that the agent can
// remove attachments or send them another way.
func (o *Outbox) checkPEC(mb mailbox.Mailbox, from string, to mail.Address, raw []byte) error {
	err := pec.CheckOutgoing(from, mb.Address, []string{to.Address}, nil, nil, int64(len(raw)), o.pecMax)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pec.ErrTooLarge):
		return desk.Errorf(desk.ETooLarge,
			"il messaggio PEC è di %s, oltre il limite di %s della casella %s: togliere o ridurre gli allegati / the PEC message is %s, over the %s limit of mailbox %s: remove or shrink attachments",
			size(int64(len(raw))), size(o.pecMax), mb.Address, size(int64(len(raw))), size(o.pecMax), mb.Address)
	default:
		return desk.Errorf(desk.EInvalid, "messaggio PEC non valido / invalid PEC message: %v", err)
	}
}

// trackPEC starts the per-recipient delivery state of a message sent
// through a PEC mailbox; the provider's receipts move it on.
func trackPEC(ctx context.Context, tx mailbox.Tx, out mailbox.Outbound) error {
	ptx := mailbox.PECOf(tx)
	for _, r := range out.To {
		if r == "" {
			continue
		}
		if err := ptx.PutDelivery(ctx, mailbox.PECDelivery{OutID: out.ID, Recipient: r, State: mailbox.DelSent, Updated: out.Created}); err != nil {
			return err
		}
	}
	return nil
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// KindForward is a request forwarded by PEC to the competent office
// (scenario 5 with forward_pec; template forward_pec.txt).
const KindForward = "forward_pec"

func init() { Kinds = append(Kinds, KindForward) }
