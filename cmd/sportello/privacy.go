package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sportello/sportello/internal/api"
	"github.com/sportello/sportello/internal/desk"
)

const privacyUsage = `Uso / usage:
  sportello privacy export --person EMAIL [--format json|html] [--out FILE]
  sportello privacy erase  --person EMAIL --confirm EMAIL

export  stampa tutti i dati personali di una persona (JSON, o una pagina HTML
        da stampare in PDF) / prints everything held about a person
erase   oscura i dati personali della persona mantenendo ticket, storia e
        statistiche; le evidenze PEC restano, segnate come esenti /
        erases the person's data by redaction, keeping tickets, history and
        statistics; PEC evidence is kept and marked exempt
(--person accetta anche user:ID dopo una cancellazione / also takes user:ID)`

// cmdPrivacy answers personal-data requests from the command line, as the
// installation (the system actor); every run is in the audit log.
func cmdPrivacy(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || (args[0] != "export" && args[0] != "erase") {
		fmt.Fprintln(env.Stderr, privacyUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return nil
		}
		return errUsage
	}
	sub := args[0]
	fs := env.newFlags("privacy "+sub, strings.TrimPrefix(strings.Split(privacyUsage, "\n")[map[string]int{"export": 1, "erase": 2}[sub]], "  sportello "))
	person := fs.String("person", "", "the person's e-mail address (or user:ID)")
	format := fs.String("format", "json", "export format: json or html")
	out := fs.String("out", "", "export: write to this file instead of standard output")
	confirm := fs.String("confirm", "", "erase: repeat the person, to confirm")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := requireNoArgs(fs); err != nil {
		return err
	}
	if *person == "" {
		fmt.Fprintln(env.Stderr, "--person è obbligatorio / --person is required")
		fs.Usage()
		return errUsage
	}
	if sub == "erase" && !strings.EqualFold(strings.TrimSpace(*confirm), strings.TrimSpace(*person)) {
		fmt.Fprintln(env.Stderr, "per confermare ripeti la persona con --confirm / repeat the person with --confirm to confirm")
		return errUsage
	}
	if sub == "export" && *format != "json" && *format != "html" {
		fmt.Fprintln(env.Stderr, "--format: json o html / json or html")
		return errUsage
	}
	a, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if sub == "erase" {
		fmt.Fprintf(env.Stderr, "oscuramento dei dati di %s… / erasing…\n", *person)
		rep, err := a.Desk.ErasePerson(ctx, desk.SystemActor, *person)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "fatto / done: %d ticket, %d messaggi, %d allegati, %d e-mail; %d conservati per legge / kept by law\n",
			rep.Tickets, rep.Messages, rep.Attachments, rep.MailIn+rep.MailOut, len(rep.Exempt))
		return nil
	}
	p, err := a.Desk.PersonalData(ctx, desk.SystemActor, *person)
	if err != nil {
		return err
	}
	codes := map[int64]string{}
	err = a.DB.View(ctx, func(tx desk.Tx) error {
		orgs, err := tx.Orgs(ctx)
		for _, o := range orgs {
			codes[o.ID] = o.Code
		}
		return err
	})
	if err != nil {
		return err
	}
	doc := api.NewPersonalData(p, codes)
	var w io.Writer = env.Stdout
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if *format == "html" {
		err = api.WritePersonalDataHTML(w, doc)
	} else {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(doc)
	}
	if err != nil {
		return err
	}
	if *out != "" {
		fmt.Fprintf(env.Stderr, "scritto / written: %s\n", *out)
	}
	return nil
}
