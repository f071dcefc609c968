package guard

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestLoginThrottle(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	th := &LoginThrottle{
		Account: &Window{Max: 3, Window: 10 * time.Minute, Now: clk.now},
		Address: &Window{Max: 5, Window: 10 * time.Minute, Now: clk.now},
	}
	for i := 0; i < 3; i++ {
		if d := th.Check("Mario@Example.it", "10.0.0.1"); d != 0 {
			t.Fatalf("attempt %d blocked", i)
		}
		th.Failed("mario@example.it ", "10.0.0.1")
	}
	// The account is locked, from any address, whatever the spelling.
	if d := th.Check("MARIO@example.it", "10.0.0.9"); d != 10*time.Minute {
		t.Fatalf("account not locked: %v", d)
	}
	// Other accounts from the same address still go, until the address's own limit.
	if d := th.Check("anna@example.it", "10.0.0.1"); d != 0 {
		t.Fatalf("other account blocked: %v", d)
	}
	th.Failed("anna@example.it", "10.0.0.1")
	th.Failed("bruno@example.it", "10.0.0.1")
	if d := th.Check("carla@example.it", "10.0.0.1"); d != 10*time.Minute {
		t.Fatalf("address not blocked after 5 failures: %v", d)
	}
	// A success clears the account, not the address.
	clk.t = clk.t.Add(4 * time.Minute)
	th.Succeeded("anna@example.it")
	if d := th.Check("carla@example.it", "10.0.0.1"); d != 6*time.Minute {
		t.Fatalf("address wait after 4 minutes: %v", d)
	}
	// The window ends.
	clk.t = clk.t.Add(6 * time.Minute)
	if d := th.Check("mario@example.it", "10.0.0.1"); d != 0 {
		t.Fatalf("still blocked after the window: %v", d)
	}
	if RetryAfter(1500*time.Millisecond) != "2" {
		t.Fatal("Retry-After rounds up")
	}
}

func TestBucket(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	b := &Bucket{Rate: 2, Burst: 3, Now: clk.now}
	for i := 0; i < 3; i++ {
		if ok, _ := b.Allow("a"); !ok {
			t.Fatalf("burst request %d refused", i)
		}
	}
	ok, wait := b.Allow("a")
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("over the burst: %v %v", ok, wait)
	}
	if ok, _ := b.Allow("b"); !ok {
		t.Fatal("another key refused")
	}
	clk.t = clk.t.Add(500 * time.Millisecond)
	if ok, _ := b.Allow("a"); !ok {
		t.Fatal("a token did not come back")
	}
	if ok, _ := (&Bucket{}).Allow("x"); !ok {
		t.Fatal("a zero rate must not limit")
	}
}

func TestClientIPAndHTTPS(t *testing.T) {
	p, err := ParseProxies("10.0.0.0/8, 192.168.1.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseProxies("10.0.0.0/33"); err == nil {
		t.Fatal("bad prefix accepted")
	}
	if _, err := ParseProxies("proxy.example.it"); err == nil {
		t.Fatal("host name accepted")
	}
	req := func(remote string, xff ...string) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		for _, v := range xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		return r
	}
	for _, c := range []struct {
		r    *http.Request
		want string
	}{
		{req("203.0.113.7:5000"), "203.0.113.7"},
		// An untrusted peer's header is ignored.
		{req("203.0.113.7:5000", "1.2.3.4"), "203.0.113.7"},
		// Through a trusted proxy: the last untrusted hop, never what the client claimed first.
		{req("10.1.1.1:443", "6.6.6.6, 198.51.100.4"), "198.51.100.4"},
		{req("10.1.1.1:443", "6.6.6.6", "198.51.100.4, 10.2.2.2"), "198.51.100.4"},
		{req("192.168.1.1:80", "garbage"), "192.168.1.1"},
		{req("[::ffff:10.1.1.1]:443", "198.51.100.9"), "198.51.100.9"},
	} {
		if got := p.ClientIP(c.r); got != c.want {
			t.Errorf("ClientIP(%s, %v) = %s, want %s", c.r.RemoteAddr, c.r.Header.Values("X-Forwarded-For"), got, c.want)
		}
	}
	r := req("10.1.1.1:443")
	r.Header.Set("X-Forwarded-Proto", "https")
	if !p.HTTPS(r) {
		t.Error("https through a trusted proxy")
	}
	r = req("203.0.113.7:443")
	r.Header.Set("X-Forwarded-Proto", "https")
	if p.HTTPS(r) {
		t.Error("an untrusted peer claimed https")
	}
	h := p.HSTS(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for remote, want := range map[string]string{"10.1.1.1:443": "max-age=31536000", "203.0.113.7:443": ""} {
		r := req(remote)
		r.Header.Set("X-Forwarded-Proto", "https")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := w.Header().Get("Strict-Transport-Security"); got != want {
			t.Errorf("HSTS via %s = %q", remote, got)
		}
	}
}

func TestRateLimitHandler(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	rl := &RateLimit{Anonymous: &Bucket{Rate: 1, Burst: 1, Now: clk.now}, Authenticated: &Bucket{Rate: 1, Burst: 3, Now: clk.now},
		SessionCookie: "s", SkipPrefix: "/static/"}
	h := rl.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	do := func(path string, auth bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = "203.0.113.7:1234"
		if auth {
			r.Header.Set("Authorization", "Bearer x")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if do("/", false).Code != 204 {
		t.Fatal("first anonymous request refused")
	}
	w := do("/", false)
	if w.Code != 429 || w.Header().Get("Retry-After") != "1" || !strings.Contains(w.Body.String(), "Troppe richieste") || !strings.Contains(w.Body.String(), "Too many requests") {
		t.Fatalf("second anonymous request: %d %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	// Static files are not counted; credentials get their own allowance.
	if do("/static/x.css", false).Code != 204 || do("/api/v1/me", true).Code != 204 {
		t.Fatal("static or authenticated request refused")
	}
	do("/api/v1/me", true)
	do("/api/v1/me", true)
	w = do("/api/v1/me", true)
	var body map[string]string
	if w.Code != 429 || json.Unmarshal(w.Body.Bytes(), &body) != nil || body["code"] != "rate_limited" || body["message"] == "" {
		t.Fatalf("API over the limit: %d %s", w.Code, w.Body)
	}
}
