package intake

import (
	"fmt"
	"testing"

	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/mailtest"
)

// TestPartition: messages that could affect one another share a group,
// in batch order; the rest are apart.
func TestPartition(t *testing.T) {
	p := &Processor{}
	msgs := [][]byte{
		0: mailtest.Message("a@comune.example.it", "desk@example.it", "BDNA - uno", "x", "Message-ID: <a1@client>"),
		1: mailtest.Message("b@comune.example.it", "desk@example.it", "BDNA - due", "x", "Message-ID: <b1@client>"),
		// A colleague answers a's message: after it, in its group.
		2: mailtest.Message("c@comune.example.it", "desk@example.it", "Re: BDNA - uno", "x", "Message-ID: <c1@client>", "In-Reply-To: <A1@client>"),
		// b again: same sender.
		3: mailtest.Message("B@comune.example.it", "desk@example.it", "altro", "x", "Message-ID: <b2@client>"),
		// The same ticket number as another message names.
		4: mailtest.Message("d@comune.example.it", "desk@example.it", "Re: [#2026-000007] stampante", "x", "Message-ID: <d1@client>"),
		5: mailtest.Message("e@comune.example.it", "desk@example.it", "Sollecito [#2026-000007]", "x", "Message-ID: <e1@client>"),
		// Delivered twice.
		6: mailtest.Message("f@comune.example.it", "desk@example.it", "doppio", "x", "Message-ID: <f1@client>"),
		7: mailtest.Message("f2@comune.example.it", "desk@example.it", "doppio", "x", "Message-ID: <f1@client>"),
		// Unrelated, and unparseable.
		8: mailtest.Message("g@comune.example.it", "desk@example.it", "nuovo", "x", "Message-ID: <g1@client>"),
		9: []byte("not a message at all"),
	}
	var ins []*incoming
	for i, raw := range msgs {
		in := p.newIncoming(mailbox.Mailbox{}, 1, uint32(i+1), raw)
		in.prepare()
		ins = append(ins, in)
	}
	var got []string
	for _, g := range partition(ins) {
		s := ""
		for _, in := range g {
			s += fmt.Sprint(in.base.UID - 1)
		}
		got = append(got, s)
	}
	want := []string{"02", "13", "45", "67", "8", "9"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("groups %v, want %v", got, want)
	}
}
