package guard

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// RateLimit limits requests per client address: Anonymous applies to
// requests without credentials (no Authorization header, no session
// cookie), Authenticated to the others, which are accountable and get a
// larger allowance. Static assets are not counted.
type RateLimit struct {
	Anonymous, Authenticated *Bucket
	Proxies                  Proxies
	// SessionCookie names the cookie that marks a signed-in browser.
	SessionCookie string
	// SkipPrefix is a path prefix not counted (static assets).
	SkipPrefix string
}

// Handler applies the limits in front of next.
func (l *RateLimit) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l.SkipPrefix != "" && strings.HasPrefix(r.URL.Path, l.SkipPrefix) {
			next.ServeHTTP(w, r)
			return
		}
		b := l.Anonymous
		if r.Header.Get("Authorization") != "" {
			b = l.Authenticated
		} else if l.SessionCookie != "" {
			if _, err := r.Cookie(l.SessionCookie); err == nil {
				b = l.Authenticated
			}
		}
		if b != nil {
			if ok, wait := b.Allow(l.Proxies.ClientIP(r)); !ok {
				TooMany(w, r, wait)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// TooMany answers 429 with Retry-After and a message in Italian and
// English: JSON {code, message} under /api/, plain text elsewhere.
func TooMany(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	secs := RetryAfter(wait)
	w.Header().Set("Retry-After", secs)
	w.Header().Set("Cache-Control", "no-store")
	msg := "Troppe richieste: riprova tra " + secs + " secondi. / Too many requests: try again in " + secs + " seconds."
	if strings.HasPrefix(r.URL.Path, "/api/") {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusTooManyRequests)
		_ = json.NewEncoder(w).Encode(map[string]string{"code": "rate_limited", "message": msg})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte(msg + "\n"))
}
