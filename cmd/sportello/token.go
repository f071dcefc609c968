package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sportello/sportello/internal/desk"
)

func cmdToken(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "revoke") {
		fmt.Fprintln(env.Stderr, "Uso / usage:\n  sportello token create --user EMAIL --role ROLE [--org CODE] [--name NAME] [--ttl DURATION] [--scopes read,write,admin]\n  sportello token revoke TOKEN")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errUsage
	}
	if args[0] == "revoke" {
		fs := env.newFlags("token revoke", "token revoke TOKEN")
		if err := fs.Parse(args[1:]); err != nil {
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
		if err := a.Desk.RevokeToken(ctx, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintln(env.Stderr, "token revocato / token revoked")
		return nil
	}
	fs := env.newFlags("token create", "token create --user EMAIL --role ROLE [--org CODE]")
	user := fs.String("user", "", "e-mail of the user (created if missing)")
	role := fs.String("role", "", "requester, agent, approver or admin")
	org := fs.String("org", "", "organisation code (default: the default organisation; an admin without --org administers the whole installation)")
	name := fs.String("name", "cli", "a label for the token")
	ttl := fs.Duration("ttl", 0, "lifetime, e.g. 720h (default: no expiry)")
	scopeList := fs.String("scopes", "read,write,admin", "what the token may do: read (GET), write (tickets), admin (people, memberships, organisations, catalogue)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := requireNoArgs(fs); err != nil {
		return err
	}
	if *user == "" || *role == "" {
		fmt.Fprintln(env.Stderr, "--user e --role sono obbligatori / --user and --role are required")
		fs.Usage()
		return errUsage
	}
	scopes, err := desk.ParseScopes(*scopeList)
	if err != nil {
		return err
	}
	a, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.Desk.EnsureUser(ctx, desk.NewUser{Email: *user, Role: desk.Role(*role), OrgCode: *org,
		InstallationAdmin: desk.Role(*role) == desk.RoleAdmin && *org == ""})
	if err != nil {
		return err
	}
	tok, _, err := a.Desk.CreateScopedToken(ctx, u.ID, *name, *ttl, scopes)
	if err != nil {
		return err
	}
	// Only the token goes to stdout, so that scripts can capture it.
	fmt.Fprintln(env.Stdout, tok)
	if *ttl > 0 {
		fmt.Fprintf(env.Stderr, "scade / expires %s\n", time.Now().Add(*ttl).Format(time.RFC3339))
	}
	return nil
}
