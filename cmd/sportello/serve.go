package main

import (
	"context"
	"fmt"
	"net"
)

func cmdServe(ctx context.Context, env *Env, args []string) error {
	fs := env.newFlags("serve", "serve [--addr HOST:PORT] [--data DIR]")
	fs.StringVar(&env.Config.Addr, "addr", "", "address to listen on (env SPORTELLO_ADDR, default 127.0.0.1:8080)")
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
	if err := wire(ctx, a); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.Config.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w (is another server running there? choose another with --addr)", a.Config.Addr, err)
	}
	fmt.Fprintf(env.Stderr, "Sportello in ascolto su http://%s (database %s)\n", ln.Addr(), a.DB.Dialect())
	return a.Serve(ctx, ln)
}
