// Package loadgen drives a server with concurrent clients and reports
// throughput and latency percentiles. It is used by `sportello load` and by
// the benchmarks in the repository.
package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Opts configures a run. The run stops after Requests requests (when > 0)
// or after Duration, whichever comes first; at least one must be set.
type Opts struct {
	Clients  int
	Requests int
	Duration time.Duration
	// Do performs one request for client c, iteration i.
	Do func(ctx context.Context, c, i int) error
	// Progress, when set, is called about once a second.
	Progress func(done int64, elapsed time.Duration)
	// KeepLatencies returns every request's latency in Result.Latencies.
	KeepLatencies bool
}

// Result summarises a run.
type Result struct {
	Requests   int64
	Errors     int64
	FirstError error
	Elapsed    time.Duration
	P50        time.Duration
	P95        time.Duration
	P99        time.Duration
	Max        time.Duration
	// Latencies, sorted, when Opts.KeepLatencies is set.
	Latencies []time.Duration
}

// Throughput is successful requests per second.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests-r.Errors) / r.Elapsed.Seconds()
}

func (r Result) String() string {
	return fmt.Sprintf("%d richieste (%d errori) in %s: %.0f req/s, p50 %s, p95 %s, p99 %s, max %s",
		r.Requests, r.Errors, r.Elapsed.Round(time.Millisecond), r.Throughput(), r.P50.Round(10*time.Microsecond),
		r.P95.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond))
}

// Run executes the load.
func Run(ctx context.Context, o Opts) Result {
	if o.Clients <= 0 {
		o.Clients = 1
	}
	if o.Duration <= 0 && o.Requests <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	var next, done, errs atomic.Int64
	var firstErr atomic.Value
	lat := make([][]time.Duration, o.Clients)
	start := time.Now()
	stopProgress := make(chan struct{})
	if o.Progress != nil {
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					o.Progress(done.Load(), time.Since(start))
				case <-stopProgress:
					return
				}
			}
		}()
	}
	var wg sync.WaitGroup
	for c := 0; c < o.Clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if o.Requests > 0 && i >= o.Requests {
					return
				}
				t0 := time.Now()
				err := o.Do(ctx, c, i)
				d := time.Since(t0)
				if err != nil {
					if ctx.Err() != nil {
						return // cut off by the deadline: not a server error
					}
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
				lat[c] = append(lat[c], d)
				done.Add(1)
			}
		}(c)
	}
	wg.Wait()
	close(stopProgress)
	r := Result{Requests: done.Load(), Errors: errs.Load(), Elapsed: time.Since(start)}
	if e, ok := firstErr.Load().(error); ok {
		r.FirstError = e
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	r.P50, r.P95, r.P99, r.Max = Percentiles(all)
	if o.KeepLatencies {
		r.Latencies = all
	}
	return r
}

// Client returns an HTTP client suited to many concurrent connections to
// one server.
func Client(clients int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = clients * 2
	tr.MaxIdleConnsPerHost = clients * 2
	tr.MaxConnsPerHost = 0
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// Check sends req and fails unless the status is want; the body is drained
// so that connections are reused.
func Check(c *http.Client, req *http.Request, want int) error {
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("%s %s: status %d: %s", req.Method, req.URL.Path, res.StatusCode, b)
	}
	_, err = io.Copy(io.Discard, res.Body)
	return err
}

// Percentiles returns the 50th, 95th and 99th percentiles and the maximum
// of sorted latencies (zero when there are none).
func Percentiles(sorted []time.Duration) (p50, p95, p99, max time.Duration) {
	n := len(sorted)
	if n == 0 {
		return 0, 0, 0, 0
	}
	return sorted[n*50/100], sorted[min(n-1, n*95/100)], sorted[min(n-1, n*99/100)], sorted[n-1]
}
