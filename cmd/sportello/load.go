package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sportello/sportello/internal/loadgen"
)

// cmdLoad drives a running server through its API and prints throughput and
// latency percentiles. Only loopback and other addresses you run yourself
// are appropriate targets.
func cmdLoad(ctx context.Context, env *Env, args []string) error {
	fs := env.newFlags("load", "load --token TOKEN [--url URL] [--scenario create|list|queue|search|ticket] [--clients N] [--duration D] [--requests N]")
	base := fs.String("url", "http://127.0.0.1:8080", "server base URL")
	token := fs.String("token", "", "API token (sportello token create --user … --role agent)")
	scenario := fs.String("scenario", "create", "create: POST tickets; list: newest 50; queue: newest 50 of a queue; search: one-word search; ticket: GET one ticket")
	clients := fs.Int("clients", 64, "concurrent clients")
	duration := fs.Duration("duration", 20*time.Second, "how long to run")
	requests := fs.Int("requests", 0, "stop after this many requests (0: run for --duration)")
	queue := fs.String("queue", "sistemi-informativi", "queue code for the queue scenario")
	word := fs.String("q", "stampante", "search word for the search scenario")
	number := fs.String("ticket", "", "ticket number for the ticket scenario")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := requireNoArgs(fs); err != nil {
		return err
	}
	if *token == "" {
		fmt.Fprintln(env.Stderr, "--token è obbligatorio / --token is required")
		fs.Usage()
		return errUsage
	}
	u, err := url.Parse(*base)
	if err != nil || u.Host == "" {
		return fmt.Errorf("invalid --url %q", *base)
	}
	client := loadgen.Client(*clients)
	root := strings.TrimRight(*base, "/") + "/api/v1"
	get := func(path string) func(ctx context.Context, c, i int) error {
		return func(ctx context.Context, c, i int) error {
			req, _ := http.NewRequestWithContext(ctx, "GET", root+path, nil)
			req.Header.Set("Authorization", "Bearer "+*token)
			return loadgen.Check(client, req, 200)
		}
	}
	var do func(ctx context.Context, c, i int) error
	switch *scenario {
	case "create":
		do = func(ctx context.Context, c, i int) error {
			body := fmt.Sprintf(`{"subject":"Prova di carico %d","description":"La stampante del piano %d non stampa.","channel":"api","requester":{"email":"carico%d@example.it","name":"Utente di prova"}}`, i, i%7, i%500)
			req, _ := http.NewRequestWithContext(ctx, "POST", root+"/tickets", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+*token)
			req.Header.Set("Content-Type", "application/json")
			return loadgen.Check(client, req, 201)
		}
	case "list":
		do = get("/tickets?limit=50")
	case "queue":
		do = get("/tickets?limit=50&queue=" + url.QueryEscape(*queue))
	case "search":
		do = get("/tickets?limit=50&q=" + url.QueryEscape(*word))
	case "ticket":
		if *number == "" {
			return fmt.Errorf("--ticket NUMBER is required for the ticket scenario")
		}
		do = get("/tickets/" + *number + "/messages")
	default:
		return fmt.Errorf("unknown scenario %q", *scenario)
	}
	fmt.Fprintf(env.Stderr, "load: %s, %d clients, %s → %s\n", *scenario, *clients, *duration, *base)
	res := loadgen.Run(ctx, loadgen.Opts{Clients: *clients, Requests: *requests, Duration: *duration, Do: do,
		Progress: func(done int64, el time.Duration) {
			fmt.Fprintf(env.Stderr, "\r  %d richieste in %s (%.0f/s)   ", done, el.Round(time.Second), float64(done)/el.Seconds())
		}})
	fmt.Fprintln(env.Stderr)
	fmt.Fprintln(env.Stdout, res)
	if res.FirstError != nil {
		fmt.Fprintln(env.Stderr, "primo errore / first error:", res.FirstError)
		if strings.Contains(res.FirstError.Error(), "status 429") {
			fmt.Fprintln(env.Stderr, "il server limita le richieste per indirizzo: per misurarlo avvialo con SPORTELLO_RATE_LIMIT=0 /\n"+
				"the server limits requests per address: start it with SPORTELLO_RATE_LIMIT=0 to measure it")
		}
	}
	return nil
}
