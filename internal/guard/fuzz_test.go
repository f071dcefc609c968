package guard

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// FuzzClientIP: whatever the peer and the forwarded headers say, the
// client address is a parseable address, and an untrusted peer's claims
// are never believed.
func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.0/8", "10.1.1.1:443", "1.2.3.4, 10.2.2.2")
	f.Add("", "203.0.113.7:1", "6.6.6.6")
	f.Add("::1,127.0.0.1", "[::1]:80", "garbage,, 2001:db8::1")
	f.Fuzz(func(t *testing.T, proxies, remote, xff string) {
		p, err := ParseProxies(proxies)
		if err != nil {
			return
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		got := p.ClientIP(r)
		peer, ok := remoteAddr(r)
		if !ok {
			if got != remote {
				t.Fatalf("unparseable peer %q gave %q", remote, got)
			}
			return
		}
		if _, err := netip.ParseAddr(got); err != nil {
			t.Fatalf("ClientIP = %q, not an address", got)
		}
		if !p.trusted(peer) && got != peer.String() {
			t.Fatalf("untrusted peer %s: believed %q", peer, got)
		}
	})
}
