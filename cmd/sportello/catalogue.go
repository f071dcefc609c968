package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/sportello/sportello/internal/catalog"
	"github.com/sportello/sportello/internal/desk"
)

// cmdCatalogue exports or imports an organisation's whole service catalogue
// as a YAML or JSON file (format: internal/catalog/FORMAT.md).
func cmdCatalogue(ctx context.Context, env *Env, args []string) error {
	usage := "Uso / usage:\n  sportello catalogue export [--org CODE] [--format yaml|json] [--out FILE]\n  sportello catalogue import [--org CODE] FILE"
	if len(args) == 0 || (args[0] != "export" && args[0] != "import") {
		fmt.Fprintln(env.Stderr, usage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errUsage
	}
	fs := env.newFlags("catalogue "+args[0], strings.Split(usage, "\n")[map[string]int{"export": 1, "import": 2}[args[0]]][2:])
	org := fs.String("org", "", "organisation code (default: the default organisation)")
	format := fs.String("format", "yaml", "export format: yaml or json")
	out := fs.String("out", "", "export to this file instead of standard output")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	a, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if args[0] == "export" {
		if err := requireNoArgs(fs); err != nil {
			return err
		}
		cat, err := a.Workflow.ExportCatalogue(ctx, desk.SystemActor, *org)
		if err != nil {
			return err
		}
		f := catalog.FormatYAML
		if *format == "json" {
			f = catalog.FormatJSON
		}
		w := env.Stdout
		if *out != "" {
			file, err := os.Create(*out)
			if err != nil {
				return err
			}
			defer file.Close()
			w = file
		}
		if err := catalog.Export(w, cat, f); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "%d servizi esportati / services exported\n", len(cat.Services))
		return nil
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	file, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer file.Close()
	rep, err := a.Workflow.ImportFile(ctx, desk.SystemActor, *org, file, catalog.FormatFor(fs.Arg(0)))
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "organizzazione %s: %d creati, %d aggiornati, %d invariati, %d ritirati, code create %v\n",
		rep.Org, len(rep.Created), len(rep.Updated), len(rep.Unchanged), len(rep.Retired), rep.QueuesCreated)
	return nil
}
