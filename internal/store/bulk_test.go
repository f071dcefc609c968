package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/store/storetest"
)

// BenchmarkBulkInsert measures the benchmark data generator's write path
// (tickets with one reply each, numbered, counted and indexed).
func BenchmarkBulkInsert(b *testing.B) {
	db := storetest.OpenSQLite(b)
	d := storetest.NewDesk(b, db, nil)
	_ = d
	var orgID, queueID int64
	db.View(context.Background(), func(tx desk.Tx) error {
		o, _ := desk.DefaultOrg(context.Background(), tx)
		q, _ := tx.QueueByCode(context.Background(), o.ID, desk.DefaultTriage)
		orgID, queueID = o.ID, q.ID
		return nil
	})
	now := time.Now().UTC()
	b.ResetTimer()
	for i := 0; i < b.N; i += 1000 {
		batch := make([]store.BulkTicket, min(1000, b.N-i))
		for j := range batch {
			batch[j] = store.BulkTicket{Ticket: desk.Ticket{OrgID: orgID, QueueID: queueID, Subject: fmt.Sprintf("Stampante di rete %d", i+j),
				Description: "La stampante del secondo piano non stampa più dopo l'aggiornamento.", Status: desk.StatusOpen, Priority: desk.PriorityNormal,
				Channel: desk.ChannelEmail, Level: 1, Created: now, Updated: now},
				Messages: []desk.Message{{Kind: desk.MessageReply, Body: "Intervento eseguito in sede.", Channel: desk.ChannelEmail, Created: now}}}
		}
		if err := db.BulkInsert(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}
