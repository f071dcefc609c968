package main

import (
	"context"
	"fmt"

	"github.com/sportello/sportello/internal/store"
)

func cmdMigrate(ctx context.Context, env *Env, args []string) error {
	fs := env.newFlags("migrate", "migrate [--data DIR]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := requireNoArgs(fs); err != nil {
		return err
	}
	env.Config.FromEnv()
	if err := env.Config.Validate(); err != nil {
		return err
	}
	db, err := store.Open(ctx, store.Config{URL: env.Config.DatabaseURL, DataDir: env.Config.DataDir, NoMigrate: true})
	if err != nil {
		return err
	}
	defer db.Close()
	done, err := db.Migrate(ctx, nil)
	for _, m := range done {
		fmt.Fprintln(env.Stdout, "applicata / applied:", m)
	}
	if err != nil {
		return err
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if len(done) == 0 {
		fmt.Fprintf(env.Stdout, "schema già aggiornato / schema up to date (version %d)\n", v)
	} else {
		fmt.Fprintf(env.Stdout, "schema version %d\n", v)
	}
	return nil
}
