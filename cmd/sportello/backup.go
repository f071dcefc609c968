package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

func cmdBackup(ctx context.Context, env *Env, args []string) error {
	fs := env.newFlags("backup", "backup [--data DIR] [--out FILE]")
	out := fs.String("out", "", "destination file (default DATA/backup/sportello-YYYYMMDD-HHMMSS.db)")
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
	dst := *out
	if dst == "" {
		dst = filepath.Join(a.Config.DataDir, "backup", "sportello-"+time.Now().Format("20060102-150405")+".db")
		if err := mkdirFor(dst); err != nil {
			return err
		}
	}
	start := time.Now()
	last := time.Time{}
	err = a.DB.Backup(ctx, dst, func(done, total int) {
		if time.Since(last) > 200*time.Millisecond || done == total {
			last = time.Now()
			fmt.Fprintf(env.Stderr, "\rbackup: %d/%d pagine (%d%%)", done, total, pct(done, total))
		}
	})
	fmt.Fprintln(env.Stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "backup completato in %s / backup done\n", time.Since(start).Round(time.Millisecond))
	fmt.Fprintln(env.Stdout, dst)
	return nil
}

func pct(done, total int) int {
	if total == 0 {
		return 100
	}
	return done * 100 / total
}
