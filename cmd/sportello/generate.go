package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store"
)

// cmdGenerate loads many realistic tickets quickly, for benchmarks.
func cmdGenerate(ctx context.Context, env *Env, args []string) error {
	fs := env.newFlags("generate", "generate [--tickets N] [--batch N] [--data DIR]")
	n := fs.Int("tickets", 100_000, "how many tickets to add")
	batch := fs.Int("batch", 2000, "tickets per transaction")
	people := fs.Int("requesters", 5000, "distinct requesters to spread tickets over")
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
	if err := loadDemo(ctx, a, 0, func(string, ...any) {}); err != nil {
		return err
	}
	var org desk.Organisation
	var queues []desk.Queue
	var services []desk.Service
	var agents []desk.User
	err = a.DB.View(ctx, func(tx desk.Tx) error {
		var err error
		if org, err = desk.DefaultOrg(ctx, tx); err != nil {
			return err
		}
		if queues, err = tx.Queues(ctx, org.ID); err != nil {
			return err
		}
		if services, err = tx.Services(ctx, org.ID); err != nil {
			return err
		}
		for _, e := range []string{"agente@demo.example.it", "piero.nolasco@demo.example.it", "valentino.semeraro@demo.example.it"} {
			u, err := tx.UserByEmail(ctx, e)
			if err != nil {
				return err
			}
			agents = append(agents, u)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "richiedenti / requesters: %d\n", *people)
	var requesters []desk.User
	err = a.DB.Update(ctx, func(tx desk.Tx) error {
		for i := 0; i < *people; i++ {
			name := demoNames[i%len(demoNames)]
			u := desk.User{OrgID: org.ID, Email: fmt.Sprintf("richiedente%05d@provincia.brindisi.example.it", i), Name: fmt.Sprintf("%s %d", name, i),
				Phone: fmt.Sprintf("0831 %06d", 100000+i), Role: desk.RoleRequester, Active: true, Created: time.Now()}
			if existing, err := tx.UserByEmail(ctx, u.Email); err == nil {
				requesters = append(requesters, existing)
				continue
			}
			if err := tx.CreateUser(ctx, &u); err != nil {
				return err
			}
			requesters = append(requesters, u)
		}
		return nil
	})
	if err != nil {
		return err
	}
	g := generator{r: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7)), org: org, queues: queues, services: services, agents: agents, requesters: requesters}
	start := time.Now()
	span := 365 * 24 * time.Hour
	first := time.Now().Add(-span)
	workers := 1
	if a.DB.Dialect() == store.Postgres {
		workers = 4 // PostgreSQL takes concurrent writers; SQLite has one.
	}
	batches := make(chan []store.BulkTicket, workers)
	errc := make(chan error, workers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if err := a.DB.BulkInsert(ctx, b); err != nil {
					errc <- err
					return
				}
				mu.Lock()
				done += len(b)
				el := time.Since(start)
				fmt.Fprintf(env.Stderr, "\rticket: %d/%d (%.0f/s, %s)   ", done, *n, float64(done)/el.Seconds(), el.Round(time.Second))
				mu.Unlock()
			}
		}()
	}
	var sendErr error
	for i := 0; i < *n && sendErr == nil; i += *batch {
		size := min(*batch, *n-i)
		b := make([]store.BulkTicket, size)
		for j := range b {
			at := first.Add(time.Duration(float64(span) * float64(i+j) / float64(*n)))
			b[j] = g.ticket(at)
		}
		select {
		case batches <- b:
		case sendErr = <-errc:
		case <-ctx.Done():
			sendErr = ctx.Err()
		}
	}
	close(batches)
	wg.Wait()
	close(errc)
	if sendErr == nil {
		sendErr = <-errc
	}
	fmt.Fprintln(env.Stderr)
	if sendErr != nil {
		return sendErr
	}
	// One ticket with 50 replies, for the "ticket page" benchmark.
	long := g.ticket(time.Now())
	long.Messages = nil
	for i := 0; i < 50; i++ {
		long.Messages = append(long.Messages, desk.Message{Kind: desk.MessageReply, AuthorID: agents[0].ID, AuthorName: agents[0].Name,
			Body: demoReplies[i%len(demoReplies)] + fmt.Sprintf(" (risposta %d)", i+1), Channel: desk.ChannelEmail, Created: time.Now().UTC()})
	}
	lb := []store.BulkTicket{long}
	if err := a.DB.BulkInsert(ctx, lb); err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(env.Stderr, "%d ticket in %s (%.0f/s)\n", *n, el.Round(time.Millisecond), float64(*n)/el.Seconds())
	fmt.Fprintf(env.Stdout, "ticket con 50 risposte / ticket with 50 replies: %s\n", lb[0].Ticket.Number)
	return nil
}

type generator struct {
	r          *rand.Rand
	org        desk.Organisation
	queues     []desk.Queue
	services   []desk.Service
	agents     []desk.User
	requesters []desk.User
}

var places = []string{"ufficio protocollo", "secondo piano", "sala giunta", "settore viabilità", "ufficio tributi", "archivio", "URP",
	"settore ambiente", "ragioneria", "ufficio personale", "sede di via De Leo", "polizia provinciale"}

var statusWeights = []struct {
	s desk.Status
	w int
}{{desk.StatusClosed, 68}, {desk.StatusResolved, 10}, {desk.StatusOpen, 10}, {desk.StatusNew, 5}, {desk.StatusWaitingRequester, 4}, {desk.StatusWaitingSupplier, 2}, {desk.StatusCancelled, 1}}

func (g *generator) ticket(at time.Time) store.BulkTicket {
	r := g.r
	req := demoRequests[r.IntN(len(demoRequests))]
	place := places[r.IntN(len(places))]
	u := g.requesters[r.IntN(len(g.requesters))]
	at = at.UTC().Truncate(time.Microsecond)
	t := desk.Ticket{OrgID: g.org.ID, Subject: req.subject + " — " + place, Description: req.body + " Sede: " + place + ".",
		Priority: desk.Priorities[r.IntN(4)], Channel: desk.Channels[r.IntN(len(desk.Channels))], Level: desk.LevelFirst,
		RequesterID: u.ID, Requester: desk.Contact{Email: u.Email, Name: u.Name, Phone: u.Phone}, Created: at, Updated: at}
	w := r.IntN(100)
	for _, sw := range statusWeights {
		if w < sw.w {
			t.Status = sw.s
			break
		}
		w -= sw.w
	}
	if t.Status == "" {
		t.Status = desk.StatusClosed
	}
	for _, s := range g.services {
		if s.Code == req.service {
			t.ServiceID, t.QueueID = s.ID, s.QueueID
		}
	}
	if t.QueueID == 0 || r.IntN(10) == 0 {
		t.QueueID = g.queues[r.IntN(len(g.queues))].ID
	}
	var msgs []desk.Message
	if t.Status != desk.StatusNew {
		ag := g.agents[r.IntN(len(g.agents))]
		t.AssigneeID = ag.ID
		for i := r.IntN(3); i >= 0; i-- {
			msgs = append(msgs, desk.Message{Kind: desk.MessageReply, AuthorID: ag.ID, AuthorName: ag.Name, Body: demoReplies[r.IntN(len(demoReplies))],
				Channel: desk.ChannelEmail, Created: at})
		}
	}
	if t.Status == desk.StatusClosed || t.Status == desk.StatusResolved {
		t.Resolved = at.Add(time.Duration(r.IntN(72)) * time.Hour)
		t.Cause = desk.Cause{Category: desk.CauseCategories[r.IntN(len(desk.CauseCategories))], Text: "Causa individuata durante l'intervento."}
	}
	return store.BulkTicket{Ticket: t, Messages: msgs}
}
