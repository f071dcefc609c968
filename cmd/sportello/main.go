// Command sportello is the whole service desk in one binary: the server,
// the demo loader, migrations, tokens, mailboxes and backups.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	_ "time/tzdata" // deadlines use Europe/Rome even where the system has no zoneinfo

	"github.com/sportello/sportello/internal/app"
	"github.com/sportello/sportello/internal/desk"
)

// command is one subcommand. run gets the arguments after the command name.
type command struct {
	name, summary string
	run           func(ctx context.Context, env *Env, args []string) error
}

// commands is the command table; each command lives in its own file.
func commands() []command {
	return []command{
		{"serve", "avvia il server web e i lavori in background / start the server", cmdServe},
		{"demo", "carica i dati dimostrativi e stampa gli account / load demo data", cmdDemo},
		{"migrate", "aggiorna lo schema del database / apply database migrations", cmdMigrate},
		{"token", "crea o revoca token API / create or revoke API tokens", cmdToken},
		{"backup", "copia coerente del database / consistent database backup", cmdBackup},
		{"mailbox", "collega caselle di posta e regole / connect mailboxes and routing rules", cmdMailbox},
		{"catalogue", "esporta o importa il catalogo dei servizi / export or import the service catalogue", cmdCatalogue},
		{"generate", "genera ticket realistici per i benchmark / generate tickets for benchmarks", cmdGenerate},
		{"load", "misura un server in esecuzione / load-test a running server", cmdLoad},
		{"privacy", "esporta o cancella i dati di una persona / export or erase a person's data", cmdPrivacy},
		{"version", "stampa la versione / print the version", cmdVersion},
	}
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Env is what commands share: output streams and how to open the app.
type Env struct {
	Stdout, Stderr io.Writer
	// Config carries the common flags; commands add their own.
	Config app.Config
}

// commonFlags adds the flags every command takes.
func (e *Env) commonFlags(fs *flag.FlagSet) {
	fs.StringVar(&e.Config.DataDir, "data", "", "data directory for SQLite, the secret key and backups (env SPORTELLO_DATA, default ./data)")
}

// Open builds the app from the flags and environment; logs go to stderr.
func (e *Env) Open(ctx context.Context) (*app.App, error) {
	return app.Open(ctx, e.Config, e.Stderr)
}

// newFlags returns a flag set whose -h/--help prints usage and returns
// flag.ErrHelp.
func (e *Env) newFlags(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("sportello "+name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.Stderr, "Uso / usage: sportello %s\n\n", usage)
		fs.PrintDefaults()
		fmt.Fprintln(e.Stderr, "\nEnvironment: SPORTELLO_DATA, SPORTELLO_DATABASE_URL (postgres://…), SPORTELLO_SECRET_KEY, SPORTELLO_LOG_LEVEL")
	}
	e.commonFlags(fs)
	return fs
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	env := &Env{Stdout: stdout, Stderr: stderr}
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range cmds {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		}
		msg := err.Error()
		if code := desk.ErrorCode(err); code != desk.EInternal {
			msg = desk.ErrorMessage(err) // the domain's message, without its cause chain
		}
		fmt.Fprintf(stderr, "sportello %s: %s\n", c.name, msg)
		return 1
	}
	fmt.Fprintf(stderr, "sportello: comando sconosciuto %q / unknown command\n\n", args[0])
	usage(stderr, cmds)
	return 2
}

// errUsage reports a usage error already explained to the user.
var errUsage = errors.New("usage")

func usage(w io.Writer, cmds []command) {
	fmt.Fprintln(w, "Sportello — service desk per la pubblica amministrazione")
	fmt.Fprintln(w, "\nUso / usage: sportello COMANDO [opzioni]   (sportello COMANDO --help)")
	fmt.Fprintln(w, "\nComandi / commands:")
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
}

func cmdVersion(ctx context.Context, env *Env, args []string) error {
	fs := env.newFlags("version", "version")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "sportello", version)
	return nil
}

// requireNoArgs refuses stray positional arguments.
func requireNoArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "argomenti inattesi / unexpected arguments: %s\n\n", strings.Join(fs.Args(), " "))
		fs.Usage()
		return errUsage
	}
	return nil
}
