// Package guard holds the server's defences that are not about who may see
// what (that is desk/policy.go): log-in throttling per account and per
// client address, request rate limits, and finding the client address
// behind a configured reverse proxy.
//
// State is kept in memory, per process: with several replicas each one
// counts on its own, so an attacker spread over N replicas gets at most N
// times the limits. That is acceptable for throttling whose purpose is to
// make password guessing slow, and it keeps the log-in path free of writes.
package guard

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Window counts failures per key in a fixed window: once Max failures
// happened within Window of the first one, the key is blocked until the
// window ends.
type Window struct {
	Max    int
	Window time.Duration
	Now    func() time.Time

	mu sync.Mutex
	m  map[string]*windowEntry
}

type windowEntry struct {
	start time.Time
	n     int
}

func (w *Window) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// Blocked returns how long the key must wait (0: not blocked).
func (w *Window) Blocked(key string) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.m[key]
	if e == nil {
		return 0
	}
	end := e.start.Add(w.Window)
	now := w.now()
	if !now.Before(end) {
		delete(w.m, key)
		return 0
	}
	if e.n < w.Max {
		return 0
	}
	return end.Sub(now)
}

// Fail records a failure for the key.
func (w *Window) Fail(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[string]*windowEntry{}
	}
	now := w.now()
	e := w.m[key]
	if e == nil || !now.Before(e.start.Add(w.Window)) {
		if len(w.m) >= 100_000 {
			w.sweep(now)
		}
		e = &windowEntry{start: now}
		w.m[key] = e
	}
	e.n++
}

// Reset forgets the key's failures.
func (w *Window) Reset(key string) {
	w.mu.Lock()
	delete(w.m, key)
	w.mu.Unlock()
}

func (w *Window) sweep(now time.Time) {
	for k, e := range w.m {
		if !now.Before(e.start.Add(w.Window)) {
			delete(w.m, k)
		}
	}
}

// LoginThrottle slows password guessing: after too many failed log-ins
// for one account, or from one client address, further attempts are
// refused (without checking the password) until the window ends.
type LoginThrottle struct {
	Account *Window
	Address *Window
}

// NewLoginThrottle returns the default throttle: 5 failures per account
// and 20 per address within 15 minutes.
func NewLoginThrottle() *LoginThrottle {
	return &LoginThrottle{
		Account: &Window{Max: 5, Window: 15 * time.Minute},
		Address: &Window{Max: 20, Window: 15 * time.Minute},
	}
}

func accountKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// Check returns how long a log-in for that account from that address must
// wait (0: go ahead).
func (t *LoginThrottle) Check(email, addr string) time.Duration {
	return max(t.Account.Blocked(accountKey(email)), t.Address.Blocked(addr))
}

// Failed records a failed log-in.
func (t *LoginThrottle) Failed(email, addr string) {
	t.Account.Fail(accountKey(email))
	t.Address.Fail(addr)
}

// Succeeded clears the account's failures (the address keeps its count:
// one valid account must not launder guesses at others).
func (t *LoginThrottle) Succeeded(email string) { t.Account.Reset(accountKey(email)) }

// RetryAfter formats a wait as whole seconds for the Retry-After header.
func RetryAfter(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(d.Seconds())))
}

// Bucket is a token-bucket rate limiter per key.
type Bucket struct {
	Rate  float64 // tokens per second; <= 0 disables the limit
	Burst float64
	Now   func() time.Time

	mu sync.Mutex
	m  map[string]*bucketEntry
}

type bucketEntry struct {
	tokens float64
	at     time.Time
}

// Allow takes a token for the key; when none is left it returns false and
// how long until one is.
func (b *Bucket) Allow(key string) (bool, time.Duration) {
	if b.Rate <= 0 {
		return true, 0
	}
	now := time.Now()
	if b.Now != nil {
		now = b.Now()
	}
	burst := max(b.Burst, 1)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]*bucketEntry{}
	}
	e := b.m[key]
	if e == nil {
		if len(b.m) >= 100_000 {
			for k, old := range b.m {
				if now.Sub(old.at).Seconds()*b.Rate >= burst {
					delete(b.m, k)
				}
			}
		}
		e = &bucketEntry{tokens: burst, at: now}
		b.m[key] = e
	}
	e.tokens = min(burst, e.tokens+now.Sub(e.at).Seconds()*b.Rate)
	e.at = now
	if e.tokens >= 1 {
		e.tokens--
		return true, 0
	}
	wait := time.Duration((1 - e.tokens) / b.Rate * float64(time.Second))
	return false, wait
}

// Proxies are the reverse proxies whose X-Forwarded-For and
// X-Forwarded-Proto headers are believed.
type Proxies []netip.Prefix

// ParseProxies reads a comma-separated list of addresses or CIDR prefixes.
func ParseProxies(s string) (Proxies, error) {
	var out Proxies
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: not an address or prefix", f)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not an address or prefix", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (p Proxies) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, pre := range p {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

func remoteAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	return a.Unmap(), err == nil
}

// ClientIP returns the client's address: the connection's peer, or, when
// the peer is a trusted proxy, the last address in X-Forwarded-For that
// is not a trusted proxy (the leftmost entries are whatever the client
// claimed and are never believed).
func (p Proxies) ClientIP(r *http.Request) string {
	a, ok := remoteAddr(r)
	if !ok {
		return r.RemoteAddr
	}
	if !p.trusted(a) {
		return a.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		h = h.Unmap()
		if !p.trusted(h) {
			return h.String()
		}
		a = h
	}
	return a.String()
}

// HTTPS reports whether the client reached us over TLS: directly, or
// through a trusted proxy that says so.
func (p Proxies) HTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	a, ok := remoteAddr(r)
	return ok && p.trusted(a) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// HSTS tells browsers that reached us over HTTPS to keep using it for a
// year (Strict-Transport-Security); plain-HTTP answers carry no such header,
// as the standard requires.
func (p Proxies) HSTS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.HTTPS(r) {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}
