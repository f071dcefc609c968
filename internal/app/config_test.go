package app

import (
	"strings"
	"testing"
)

func TestConfigSecurity(t *testing.T) {
	t.Setenv("SPORTELLO_RATE_LIMIT", "")
	t.Setenv("SPORTELLO_RATE_LIMIT_ANON", "")
	t.Setenv("SPORTELLO_TRUSTED_PROXIES", "")
	t.Setenv("SPORTELLO_BASE_URL", "")
	c := Config{}
	c.FromEnv()
	if err := c.Validate(); err != nil || c.RateLimit != 3000 || c.RateLimitAnonymous != 50 || c.SecureCookies() {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	c = Config{BaseURL: "https://desk.example.it"}
	c.FromEnv()
	if !c.SecureCookies() {
		t.Fatal("https base URL without Secure cookies")
	}
	t.Setenv("SPORTELLO_TRUSTED_PROXIES", "10.0.0.0/8")
	t.Setenv("SPORTELLO_RATE_LIMIT", "0")
	c = Config{}
	c.FromEnv()
	if err := c.Validate(); err != nil || !c.SecureCookies() || len(c.Proxies()) != 1 || c.RateLimit != 0 {
		t.Fatalf("behind a proxy: %+v %v", c, err)
	}
	for env, val := range map[string]string{"SPORTELLO_TRUSTED_PROXIES": "proxy.example.it", "SPORTELLO_RATE_LIMIT": "molti", "SPORTELLO_RATE_LIMIT_ANON": "-1"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, val)
			c := Config{}
			c.FromEnv()
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), strings.TrimSuffix(env, "_ANON")) {
				t.Fatalf("%s=%s accepted: %v", env, val, err)
			}
		})
	}
}
