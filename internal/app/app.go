package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sportello/sportello/internal/api"
	"github.com/sportello/sportello/internal/auth"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/guard"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/workflow"
)

// Job is background work run by serve under one cancellable context.
// Work that must run once across replicas takes a lease in the database.
type Job interface {
	Name() string
	Run(ctx context.Context) error
}

// App is a configured Sportello: database, domain and surfaces.
type App struct {
	Config  Config
	DB      *store.DB
	Desk    *desk.Desk
	Hasher  *auth.Hasher
	Log     *slog.Logger
	Key     []byte
	Metrics *Metrics
	// Workflow runs the service catalogue and the phases of tickets.
	Workflow *workflow.Engine

	// Jobs run while serving.
	Jobs []Job
	// PEC, set by the e-mail channel's wiring, enables the API's PEC routes.
	PEC api.PECService

	mounts     []mount
	onShutdown []func()
}

// OnShutdown registers fn to run when serve starts shutting down, before
// waiting for requests in flight (long-lived streams end there).
func (a *App) OnShutdown(fn func()) { a.onShutdown = append(a.onShutdown, fn) }

type mount struct {
	pattern string
	h       http.Handler
}

// Open connects to the database (migrating it), makes sure the installation
// has its default organisation, and builds the domain.
func Open(ctx context.Context, cfg Config, logOut io.Writer) (*App, error) {
	cfg.FromEnv()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logOut == nil {
		logOut = io.Discard
	}
	log := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: cfg.Level()}))
	key, err := cfg.loadSecret()
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, cfg.StoreConfig())
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, DB: db, Log: log, Key: key, Hasher: auth.NewHasher(2)}
	a.Metrics = newMetrics(db)
	a.Desk = desk.New(desk.Opts{Store: db, Hasher: a.Hasher, OnCreated: a.Metrics.ticketCreated})
	a.Workflow = workflow.New(workflow.Opts{Desk: a.Desk})
	// Approval gates apply to every status change, whatever the channel;
	// a ticket of a service with phases starts them when registered.
	a.Desk.SetHooks(a.Workflow.GuardTransition, a.startPhases)
	// A change of service replaces the old service's phases, or is
	// refused once work was recorded on them.
	a.Desk.SetServiceChange(a.Workflow.ChangeService)
	// A service's own fields are checked against the catalogue.
	a.Desk.SetFieldChecker(a.Workflow.CheckFields)
	if err := a.Desk.Bootstrap(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("initialise database: %w", err)
	}
	a.Jobs = append(a.Jobs, &autoClose{wf: a.Workflow, after: cfg.AutoCloseAfter, log: log})
	return a, nil
}

func (a *App) startPhases(ctx context.Context, t desk.Ticket) {
	if t.ServiceID == 0 {
		return
	}
	if _, err := a.Workflow.StartPhases(ctx, desk.SystemActor, t.Number); err != nil {
		a.Log.Error("start phases", "ticket", t.Number, "err", err)
	}
}

// autoClose closes resolved tickets whose requester stayed silent (the
// seeds' "verifica dell'esito" with a configurable silence). Safe on
// several replicas: each closure is a guarded transition.
type autoClose struct {
	wf    *workflow.Engine
	after time.Duration
	log   *slog.Logger
}

func (j *autoClose) Name() string { return "auto-close" }

func (j *autoClose) Run(ctx context.Context) error {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		n, err := j.wf.CloseSilent(ctx, time.Now(), j.after)
		if err != nil && ctx.Err() == nil {
			return err
		}
		if n > 0 {
			j.log.Info("closed silent resolved tickets", "count", n, "after", j.after.String())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Close releases the database.
func (a *App) Close() error { return a.DB.Close() }

// Mount adds a handler to the route tree (used by the web UI and other
// surfaces); patterns follow net/http.ServeMux.
func (a *App) Mount(pattern string, h http.Handler) { a.mounts = append(a.mounts, mount{pattern, h}) }

// Handler returns the whole HTTP route tree.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.Metrics.reg, promhttp.HandlerOpts{}))
	apiHandler := api.New(api.Opts{Desk: a.Desk, Logger: a.Log, Workflow: a.Workflow, PEC: a.PEC})
	mux.Handle("/api/", apiHandler)
	for _, m := range a.mounts {
		mux.Handle(m.pattern, m.h)
	}
	pattern := func(r *http.Request) string {
		_, p := mux.Handler(r)
		if p == "/api/" {
			if ap := apiHandler.Pattern(r); ap != "" {
				return ap
			}
		}
		return p
	}
	var h http.Handler = withRemote(a.Config.Proxies(), mux)
	if a.Config.RateLimit > 0 || a.Config.RateLimitAnonymous > 0 {
		rl := &guard.RateLimit{Proxies: a.Config.Proxies(), SessionCookie: "sportello_session", SkipPrefix: "/static/"}
		if a.Config.RateLimit > 0 {
			rl.Authenticated = &guard.Bucket{Rate: a.Config.RateLimit, Burst: 2 * a.Config.RateLimit}
		}
		if a.Config.RateLimitAnonymous > 0 {
			rl.Anonymous = &guard.Bucket{Rate: a.Config.RateLimitAnonymous, Burst: 2 * a.Config.RateLimitAnonymous}
		}
		h = rl.Handler(h)
	}
	return a.Metrics.instrument(pattern, a.recoverer(securityHeaders(a.Config.Proxies().HSTS(h))))
}

// withRemote puts the client's address in the request context, where the
// desk's audit log picks it up (desk.WithRemote): the peer, or the client
// behind a trusted proxy.
func withRemote(proxies guard.Proxies, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(desk.WithRemote(r.Context(), proxies.ClientIP(r))))
	})
}

// recoverer turns a panic in a handler into a logged 500 with an error id,
// instead of a dropped connection.
func (a *App) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil || p == http.ErrAbortHandler {
				if p != nil {
					panic(p)
				}
				return
			}
			var b [6]byte
			_, _ = rand.Read(b[:])
			id := hex.EncodeToString(b[:])
			a.Log.Error("panic serving request", "error_id", id, "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = fmt.Fprintf(w, `{"code":"internal","message":"internal error; quote error id %s to the administrator","error_id":%q}`+"\n", id, id)
		}()
		next.ServeHTTP(w, r)
	})
}

func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := a.DB.Ping(ctx); err != nil {
		a.Log.Error("health check failed", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"unavailable","database":"not answering"}` + "\n"))
		return
	}
	_, _ = fmt.Fprintf(w, `{"status":"ok","database":%q}`+"\n", a.DB.Dialect())
}

// securityHeaders sets the headers every response carries. Pages set their
// own Content-Security-Policy; this default locks down everything else.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

// Serve answers HTTP on ln and runs the jobs until ctx is cancelled, then
// shuts down in order: HTTP, then jobs (the database is closed by the caller).
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	for _, fn := range a.onShutdown {
		srv.RegisterOnShutdown(fn)
	}
	jobCtx, stopJobs := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.DB.WarmUp(jobCtx); err != nil && jobCtx.Err() == nil {
			a.Log.Warn("opening database connections ahead of requests failed; they will be opened on demand", "err", err)
		}
	}()
	for _, j := range a.Jobs {
		wg.Add(1)
		go func(j Job) {
			defer wg.Done()
			a.runJob(jobCtx, j)
		}(j)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.Log.Info("sportello serving", "addr", ln.Addr().String(), "database", string(a.DB.Dialect()))
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if e := srv.Shutdown(shutCtx); e != nil && err == nil {
		err = e
	}
	stopJobs()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	a.Log.Info("sportello stopped")
	return err
}

// runJob keeps a job running: a job that fails is logged and restarted
// with backoff, so one broken mailbox never stops the others.
func (a *App) runJob(ctx context.Context, j Job) {
	backoff := time.Second
	for {
		err := safeRun(ctx, j)
		if ctx.Err() != nil {
			return
		}
		a.Log.Error("job stopped; restarting", "job", j.Name(), "err", err, "in", backoff.String())
		a.Metrics.jobRestarts.WithLabelValues(j.Name()).Inc()
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if backoff < time.Minute {
			backoff *= 2
		}
	}
}

func safeRun(ctx context.Context, j Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return j.Run(ctx)
}

// Metrics holds the Prometheus registry and Sportello's own collectors.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.HistogramVec
	created     *prometheus.CounterVec
	jobRestarts *prometheus.CounterVec
}

// Registry exposes the registry so that adapters can add their collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

func newMetrics(db *store.DB) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(collectors.NewDBStatsCollector(db.SQL(), "write"))
	if db.ReadSQL() != db.SQL() {
		m.reg.MustRegister(collectors.NewDBStatsCollector(db.ReadSQL(), "read"))
	}
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sportello_http_request_duration_seconds",
		Help:    "HTTP request latency by route pattern and status code.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"method", "route", "code"})
	m.created = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sportello_tickets_created_total", Help: "Tickets registered, by channel.",
	}, []string{"channel"})
	m.jobRestarts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sportello_job_restarts_total", Help: "Background jobs restarted after an error.",
	}, []string{"job"})
	m.reg.MustRegister(m.requests, m.created, m.jobRestarts)
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "sportello_db_commit_batches_total", Help: "Group-commit transactions (SQLite: every write; PostgreSQL: new tickets).",
	}, func() float64 { b, _ := db.BatchStats(); return float64(b) }))
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "sportello_db_batched_writes_total", Help: "Write calls carried by those transactions.",
	}, func() float64 { _, c := db.BatchStats(); return float64(c) }))
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "sportello_db_group_retries_total", Help: "PostgreSQL groups rolled back by one failing call and run again call by call.",
	}, func() float64 { return float64(db.GroupRetries()) }))
	return m
}

func (m *Metrics) ticketCreated(t desk.Ticket) {
	m.created.WithLabelValues(string(t.Channel)).Inc()
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush lets server-sent events through the wrapper.
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// instrument records request latency labelled by the matched route
// pattern (never the raw path, which would explode label cardinality).
func (m *Metrics) instrument(patternOf func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		pattern := patternOf(r)
		if pattern == "" {
			pattern = "unmatched"
		}
		m.requests.WithLabelValues(r.Method, pattern, fmt.Sprint(sw.code)).Observe(time.Since(start).Seconds())
	})
}
