package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/route"
)

const mailboxUsage = `Uso / usage:
  sportello mailbox add --address EMAIL --imap URL --smtp URL [--pec] [--folder INBOX] [--move-to FOLDER]
                        [--serves ADDR,…] [--retired ADDR[@YYYY-MM-DD],…] [--org CODE] [--closed followup|reopen]
  sportello mailbox list
  sportello mailbox remove ADDRESS
  sportello mailbox rules export [--org CODE] > rules.json
  sportello mailbox rules import [--org CODE] rules.json
  sportello mailbox offices import [--kind prefettura] [--match TEXT] offices.csv
  sportello mailbox offices list
  sportello mailbox log [--quarantine] [--limit N]

URL: imap://user:password@host:143/INBOX, imaps://… (TLS); smtp://user:password@host:587 (STARTTLS when
offered), smtps://… (TLS). Percent-encode special characters; password env:NAME reads variable NAME.
Guida / guide: docs/mail.md`

// cmdMailbox connects mailboxes and manages routing rules and the office
// directory.
func cmdMailbox(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(env.Stderr, mailboxUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "add":
		return mailboxAdd(ctx, env, args[1:])
	case "list":
		return mailboxList(ctx, env, args[1:])
	case "remove":
		return mailboxRemove(ctx, env, args[1:])
	case "rules":
		return mailboxRules(ctx, env, args[1:])
	case "offices":
		return mailboxOffices(ctx, env, args[1:])
	case "log":
		return mailboxLog(ctx, env, args[1:])
	}
	fmt.Fprintf(env.Stderr, "sottocomando sconosciuto / unknown subcommand %q\n\n%s\n", args[0], mailboxUsage)
	return errUsage
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func mailboxAdd(ctx context.Context, env *Env, args []string) error {
	fs := env.newFlags("mailbox add", "mailbox add --address EMAIL --imap URL --smtp URL [--pec] [--folder INBOX] [--serves ADDR,…] [--retired ADDR[@DATE],…]")
	var in mail.MailboxInput
	var serves, retired string
	fs.StringVar(&in.Address, "address", "", "the mailbox's address (the desk address it serves)")
	fs.StringVar(&in.IMAP, "imap", "", "IMAP URL: imap://user:password@host:port/FOLDER or imaps://… (TLS)")
	fs.StringVar(&in.SMTP, "smtp", "", "SMTP URL for answers: smtp://[user:password@]host:port (STARTTLS when offered) or smtps://… (TLS)")
	fs.BoolVar(&in.PEC, "pec", false, "certified e-mail (PEC) mailbox")
	fs.StringVar(&in.Folder, "folder", "", "IMAP folder to read (default: the URL's path, else INBOX)")
	fs.StringVar(&in.MoveTo, "move-to", "", "move processed mail to this IMAP folder once stored (created if missing; default: leave it, marked read)")
	fs.StringVar(&serves, "serves", "", "more desk addresses delivered to this mailbox, comma-separated")
	fs.StringVar(&retired, "retired", "", "retired addresses delivered to this mailbox, comma-separated, each optionally @YYYY-MM-DD (from when)")
	fs.StringVar(&in.Org, "org", "", "organisation code (default: the organisation that serves --address, else the default one)")
	fs.StringVar(&in.ClosedReply, "closed", "followup", "a reply to a closed ticket: followup (open a linked ticket) or reopen")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := requireNoArgs(fs); err != nil {
		return err
	}
	if in.Address == "" || in.IMAP == "" || in.SMTP == "" {
		fmt.Fprintln(env.Stderr, "--address, --imap e --smtp sono obbligatori / are required")
		fs.Usage()
		return errUsage
	}
	in.Serves, in.Retired = splitList(serves), splitList(retired)
	a, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	sealer, err := mailbox.NewSealer(a.Key)
	if err != nil {
		return err
	}
	mb, created, err := mail.SaveMailbox(ctx, a.DB, sealer, in, time.Now())
	if err != nil {
		return err
	}
	verb := "aggiornata / updated"
	if created {
		verb = "collegata / connected"
	}
	fmt.Fprintf(env.Stdout, "casella %s %s: IMAP %s (cartella / folder %s), SMTP %s\n", mb.Address, verb, mb.IMAP, mb.Folder, mb.SMTP)
	if mb.MoveTo != "" {
		fmt.Fprintf(env.Stdout, "la posta elaborata va nella cartella / processed mail moves to folder %s\n", mb.MoveTo)
	}
	fmt.Fprintln(env.Stdout, "un server in esecuzione inizia a leggerla entro pochi secondi / a running server starts reading it within seconds")
	return nil
}

func mailboxList(ctx context.Context, env *Env, args []string) error {
	fs := env.newFlags("mailbox list", "mailbox list [--all]")
	all := fs.Bool("all", false, "include removed mailboxes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := requireNoArgs(fs); err != nil {
		return err
	}
	a, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	var boxes []mailbox.Mailbox
	var addrs []mailbox.Address
	orgs := map[int64]string{}
	err = mailbox.View(ctx, a.DB, func(tx mailbox.Tx) error {
		var err error
		if boxes, err = tx.Mailboxes(ctx, *all); err != nil {
			return err
		}
		if addrs, err = tx.Addresses(ctx, 0); err != nil {
			return err
		}
		list, err := tx.Orgs(ctx)
		for _, o := range list {
			orgs[o.ID] = o.Code
		}
		return err
	})
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ADDRESS\tORG\tPEC\tIMAP\tSMTP\tLAST READ\tSTATUS")
	for _, mb := range boxes {
		last := "mai / never"
		if !mb.Health.LastOK.IsZero() {
			last = mb.Health.LastOK.In(rome()).Format("2006-01-02 15:04:05")
		}
		status := "ok"
		switch {
		case !mb.Active:
			status = "rimossa / removed"
		case mb.Health.LastError != "" && mb.Health.LastErrorAt.After(mb.Health.LastOK):
			status = "errore / error: " + mb.Health.LastError
		}
		imapURL := mb.IMAP
		imapURL.Folder = firstNonEmptyString(mb.Folder, imapURL.Folder)
		imapShown := imapURL.String()
		if mb.MoveTo != "" {
			imapShown += " → " + mb.MoveTo
		}
		fmt.Fprintf(w, "%s\t%s\t%v\t%s\t%s\t%s\t%s\n", mb.Address, orgs[mb.OrgID], mb.PEC, imapShown, mb.SMTP, last, status)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(addrs) > 0 {
		fmt.Fprintln(env.Stdout, "\nIndirizzi / addresses:")
		w = tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
		for _, ad := range addrs {
			note := ""
			if ad.Kind == mailbox.KindRetired && !ad.RetiredAt.IsZero() {
				note = "dal / from " + ad.RetiredAt.In(rome()).Format("2006-01-02")
			}
			fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", ad.Address, orgs[ad.OrgID], ad.Kind, note)
		}
		return w.Flush()
	}
	return nil
}

// rome is the zone dates are shown in.
func rome() *time.Location {
	if l, err := time.LoadLocation("Europe/Rome"); err == nil {
		return l
	}
	return time.Local
}

func firstNonEmptyString(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func mailboxRemove(ctx context.Context, env *Env, args []string) error {
	fs := env.newFlags("mailbox remove", "mailbox remove ADDRESS")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	a, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := mail.RemoveMailbox(ctx, a.DB, fs.Arg(0), time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "casella %s scollegata / disconnected (la cronologia resta / history is kept)\n", fs.Arg(0))
	return nil
}

// orgCode returns the code given, or the default organisation's.
func orgCode(ctx context.Context, st desk.Store, code string) (string, error) {
	if code != "" {
		return code, nil
	}
	err := st.View(ctx, func(tx desk.Tx) error {
		o, err := desk.DefaultOrg(ctx, tx)
		code = o.Code
		return err
	})
	return code, err
}

func mailboxRules(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || (args[0] != "export" && args[0] != "import") {
		fmt.Fprintln(env.Stderr, mailboxUsage)
		return errUsage
	}
	fs := env.newFlags("mailbox rules "+args[0], "mailbox rules export|import [--org CODE] [FILE]")
	org := fs.String("org", "", "organisation code (default: the default organisation)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	a, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	code, err := orgCode(ctx, a.DB, *org)
	if err != nil {
		return err
	}
	if args[0] == "export" {
		rules, err := mail.Rules(ctx, a.DB, code)
		if err != nil {
			return err
		}
		for i := range rules {
			rules[i].ID = 0
		}
		if rules == nil {
			rules = []route.Rule{}
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(rules)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	data, err := readFileArg(fs.Arg(0))
	if err != nil {
		return err
	}
	var rules []route.Rule
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rules); err != nil {
		return fmt.Errorf("%s: not a JSON list of rules: %w", fs.Arg(0), err)
	}
	if err := mail.SetRules(ctx, a.DB, code, rules, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%d regole importate per / rules imported for %s\n", len(rules), code)
	return nil
}

func readFileArg(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(io.LimitReader(os.Stdin, 32<<20))
	}
	return os.ReadFile(name)
}

func mailboxOffices(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || (args[0] != "import" && args[0] != "list") {
		fmt.Fprintln(env.Stderr, mailboxUsage)
		return errUsage
	}
	fs := env.newFlags("mailbox offices "+args[0], "mailbox offices import [--kind prefettura] [--match TEXT] FILE.csv | list")
	kind := fs.String("kind", "prefettura", "kind given to imported offices (rules redirect to a kind)")
	match := fs.String("match", "", "import only rows whose name contains this text, e.g. Prefettura")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	a, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if args[0] == "list" {
		var offices []route.Office
		err := mailbox.View(ctx, a.DB, func(tx mailbox.Tx) error {
			var err error
			offices, err = tx.Offices(ctx, "")
			return err
		})
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(w, "PROV\tKIND\tCODE\tNAME\tADDRESS")
		for _, o := range offices {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", o.Province, o.Kind, o.Code, o.Name, o.Address())
		}
		return w.Flush()
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	offices, problems := route.ImportCSV(f, route.ImportOptions{Kind: *kind, Match: *match})
	for i, p := range problems {
		if i == 20 {
			fmt.Fprintf(env.Stderr, "… e altri %d / and %d more\n", len(problems)-20, len(problems)-20)
			break
		}
		fmt.Fprintln(env.Stderr, "scartata / skipped:", p)
	}
	if err := mail.PutOffices(ctx, a.DB, offices, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%d uffici importati / offices imported (%d righe scartate / rows skipped)\n", len(offices), len(problems))
	return nil
}

func mailboxLog(ctx context.Context, env *Env, args []string) error {
	fs := env.newFlags("mailbox log", "mailbox log [--quarantine] [--limit N]")
	quarantine := fs.Bool("quarantine", false, "only quarantined messages")
	limit := fs.Int("limit", 50, "number of entries")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := requireNoArgs(fs); err != nil {
		return err
	}
	a, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	q := mailbox.LogQuery{Limit: *limit}
	if *quarantine {
		q.Outcomes = []mailbox.Outcome{mailbox.OutQuarantined}
	}
	var entries []mailbox.Inbound
	err = mailbox.View(ctx, a.DB, func(tx mailbox.Tx) error {
		var err error
		entries, err = tx.MailLog(ctx, q)
		return err
	})
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tRECEIVED\tMAILBOX\tFROM\tSUBJECT\tOUTCOME\tTICKET\tDETAIL")
	for _, e := range entries {
		subj := e.Subject
		if r := []rune(subj); len(r) > 50 {
			subj = string(r[:49]) + "…"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Received.In(rome()).Format("2006-01-02 15:04"), e.MailboxAddress, e.From,
			subj, e.Outcome, e.TicketNumber, e.Detail)
	}
	return w.Flush()
}
