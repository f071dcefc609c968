package mail_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/mailtest"
	"github.com/sportello/sportello/internal/store/storetest"
)

// dovecotFolder is a folder of the test Dovecot's account that messages
// reach through LMTP (desk+FOLDER@…), as an MTA would deliver them.
type dovecotFolder struct {
	imapAddr, lmtpAddr, user, pass, folder string
}

func (f *dovecotFolder) rcpt() string {
	local, domain, _ := strings.Cut(f.user, "@")
	return local + "+" + f.folder + "@" + domain
}

// deliver delivers raw over LMTP and returns the UID Dovecot gave it,
// found by its Message-ID.
func (f *dovecotFolder) deliver(t *testing.T, raw []byte) uint32 {
	t.Helper()
	lmtpDeliver(t, f.lmtpAddr, f.rcpt(), raw)
	env := string(raw)
	i := strings.Index(env, "Message-ID: <")
	if i < 0 {
		t.Fatal("test message without Message-ID")
	}
	id := env[i+len("Message-ID: "):]
	id = id[:strings.Index(id, ">")+1]
	c, err := dialDovecot(f.imapAddr, f.user, f.pass, f.folder)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	data, err := c.c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: id}}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	uids := data.AllUIDs()
	if len(uids) != 1 {
		t.Fatalf("%d messages with Message-ID %s in Dovecot", len(uids), id)
	}
	return uint32(uids[0])
}

func (f *dovecotFolder) seen(t *testing.T) (seen, unseen []uint32) {
	t.Helper()
	c, err := dialDovecot(f.imapAddr, f.user, f.pass, f.folder)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	for _, s := range []struct {
		crit *imap.SearchCriteria
		out  *[]uint32
	}{
		{&imap.SearchCriteria{Flag: []imap.Flag{imap.FlagSeen}}, &seen},
		{&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, &unseen},
	} {
		data, err := c.c.UIDSearch(s.crit, nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range data.AllUIDs() {
			*s.out = append(*s.out, uint32(u))
		}
	}
	return seen, unseen
}

// TestDovecotScenarios runs scenarios 1–5 of PRODUCT.md against a real
// Dovecot: requests delivered by its LMTP, read over IMAP (IDLE), answered
// through SMTP, on both engines.
//
//	eval "$(scripts/dovecot-test.sh env)"
//	go test ./internal/mail -run TestDovecotScenarios
func TestDovecotScenarios(t *testing.T) {
	requireDovecot(t)
	scenarios := []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"1-acronym", testScenario1Acronym},
		{"2-no-acronym", testScenario2NoAcronym},
		{"3-retired", testScenario3Retired},
		{"4-information", testScenario4Information},
		{"5-renewal", testScenario5CertificateRenewal},
		{"5-province-from-organisation", testScenario5ProvinceFromOrganisation},
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		for _, sc := range scenarios {
			t.Run(engine+"/"+sc.name, func(t *testing.T) {
				f := &dovecotFolder{imapAddr: os.Getenv("SPORTELLO_TEST_DOVECOT_IMAP"), lmtpAddr: os.Getenv("SPORTELLO_TEST_DOVECOT_LMTP"),
					user: os.Getenv("SPORTELLO_TEST_DOVECOT_USER"), pass: os.Getenv("SPORTELLO_TEST_DOVECOT_PASSWORD"),
					folder: fmt.Sprintf("S%d", time.Now().UnixNano())}
				// The folder exists once something is delivered to it: a
				// first message, removed before the scenario starts.
				lmtpDeliver(t, f.lmtpAddr, f.rcpt(), mailtest.Message(requester, mail.NationalDeskAddress, "apertura", "."))
				c, err := dialDovecot(f.imapAddr, f.user, f.pass, "INBOX")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.c.Select(f.folder, nil).Wait(); err != nil {
					t.Fatal(err)
				}
				if err := c.c.Store(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true,
					Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
					t.Fatal(err)
				}
				if err := c.c.Expunge().Close(); err != nil {
					t.Fatal(err)
				}
				c.close()
				e := &env{t: t, ctx: context.Background(), db: storetest.Engines[engine](t), dove: f}
				e.desk = storetest.NewDesk(t, e.db, nil)
				seedDesk(t, e.db, e.desk)
				e.smtp = mailtest.StartSMTP(t)
				e.mail, err = mail.NewWith(mail.Opts{Store: e.db, Key: []byte(testKey), Tune: fast})
				if err != nil {
					t.Fatal(err)
				}
				u := url.URL{Scheme: "imap", User: url.UserPassword(f.user, f.pass), Host: f.imapAddr, Path: "/" + f.folder}
				e.mb, _, err = mail.SaveMailbox(e.ctx, e.db, e.mail.Sealer, mail.MailboxInput{Address: mail.NationalDeskAddress,
					IMAP: u.String(), SMTP: e.smtp.URL()}, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				e.start()
				sc.fn(t, e)
			})
		}
	}
}
