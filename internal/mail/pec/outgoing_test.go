package pec_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/sportello/sportello/internal/mail/pec"
)

func TestCheckOutgoing(t *testing.T) {
	const box = "assistenza@pec.desk.example.it"
	to := []string{"Mario Rossi <mario.rossi@pec.comune.example.it>"}
	tests := []struct {
		name        string
		from        string
		to, cc, bcc []string
		size, limit int64
		want        []error
	}{
		{name: "ok", from: box, to: to, size: 1000, limit: 30 << 20},
		{name: "display name and case", from: `"Servizio di assistenza" <Assistenza@PEC.desk.example.it>`, to: to, cc: []string{"ufficio@comune.example.it"}},
		{name: "no limit known", from: box, to: to, size: 1 << 40},
		{name: "blank bcc entries are no bcc", from: box, to: to, bcc: []string{"", " "}},
		{name: "from another address", from: "agente@desk.example.it", to: to, want: []error{pec.ErrFromNotMailbox}},
		{name: "bcc", from: box, to: to, bcc: []string{"capo@pec.desk.example.it"}, want: []error{pec.ErrBccNotAllowed}},
		{name: "no recipients", from: box, cc: []string{""}, want: []error{pec.ErrNoRecipients}},
		{name: "too large", from: box, to: to, size: 101, limit: 100, want: []error{pec.ErrTooLarge}},
		{name: "bad recipient", from: box, to: []string{"non un indirizzo"}, want: []error{pec.ErrBadAddress}},
		{name: "bad from", from: "@@", to: to, want: []error{pec.ErrBadAddress}},
		{name: "empty from", from: "", to: to, want: []error{pec.ErrBadAddress}},
		{name: "everything wrong", from: "altro@example.it", bcc: []string{"x@example.it"}, size: 2, limit: 1,
			want: []error{pec.ErrFromNotMailbox, pec.ErrBccNotAllowed, pec.ErrNoRecipients, pec.ErrTooLarge}},
	}
	all := []error{pec.ErrFromNotMailbox, pec.ErrBccNotAllowed, pec.ErrNoRecipients, pec.ErrBadAddress, pec.ErrTooLarge}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := pec.CheckOutgoing(tt.from, box, tt.to, tt.cc, tt.bcc, tt.size, tt.limit)
			if (err == nil) != (len(tt.want) == 0) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			for _, e := range all {
				wanted := false
				for _, w := range tt.want {
					wanted = wanted || w == e
				}
				if errors.Is(err, e) != wanted {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", err, e, !wanted, wanted)
				}
			}
		})
	}
}

func TestRecipients(t *testing.T) {
	got, err := pec.Recipients(
		[]string{"Mario Rossi <Mario.Rossi@pec.comune.example.it>", "", "ufficio@comune.example.it"},
		[]string{"mario.rossi@pec.comune.example.it", "protocollo@pec.provincia.example.it"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"mario.rossi@pec.comune.example.it", "ufficio@comune.example.it", "protocollo@pec.provincia.example.it"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Recipients = %v, want %v", got, want)
	}
	if _, err := pec.Recipients([]string{"a@b.it", "rotto"}, nil); !errors.Is(err, pec.ErrBadAddress) {
		t.Errorf("err = %v, want ErrBadAddress", err)
	}
}
