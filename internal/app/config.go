// Package app wires Sportello together: configuration, the database, the
// domain, the HTTP surfaces and background jobs. Commands in cmd/sportello
// build an App and run one of its modes.
package app

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sportello/sportello/internal/guard"
	"github.com/sportello/sportello/internal/identity"
	"github.com/sportello/sportello/internal/store"
)

// Config is everything Sportello reads from flags and the environment,
// loaded once and passed down.
type Config struct {
	// DataDir holds the SQLite database, the generated secret key and
	// backups (flag --data, env SPORTELLO_DATA, default ./data).
	DataDir string
	// DatabaseURL selects PostgreSQL when set to postgres://… (env
	// SPORTELLO_DATABASE_URL); otherwise SQLite in DataDir.
	DatabaseURL string
	// Addr is where serve listens (flag --addr, env SPORTELLO_ADDR).
	Addr string
	// SecretKey signs and encrypts (env SPORTELLO_SECRET_KEY); generated
	// into DataDir/secret.key on first start when unset. Replicas on
	// PostgreSQL must share one through the environment.
	SecretKey string
	// LogLevel is debug, info, warn or error (env SPORTELLO_LOG_LEVEL).
	LogLevel string
	// BaseURL is the public address used in e-mails (env SPORTELLO_BASE_URL).
	BaseURL string
	// Dev reads templates from disk and disables secure cookies (env SPORTELLO_DEV=1).
	Dev bool
	// AutoCloseAfter closes resolved tickets the requester did not answer
	// (env SPORTELLO_AUTOCLOSE, a duration such as 240h; default 10 days).
	AutoCloseAfter time.Duration
	// TrustedProxies are the reverse proxies (addresses or CIDR prefixes,
	// comma-separated) whose X-Forwarded-For and X-Forwarded-Proto are
	// believed (env SPORTELLO_TRUSTED_PROXIES). Session cookies are marked
	// Secure when BaseURL is https:// or proxies are configured.
	TrustedProxies string
	// RateLimit is the requests per second allowed to one client address
	// carrying credentials (env SPORTELLO_RATE_LIMIT, default 3000, 0 for
	// none); RateLimitAnonymous the same for requests without
	// (SPORTELLO_RATE_LIMIT_ANON, default 50). Bursts of twice the rate
	// pass. Static assets are not counted.
	RateLimit, RateLimitAnonymous float64
	// DBMaxConns bounds the PostgreSQL connections of this process (env
	// SPORTELLO_DB_MAX_CONNS; default four per CPU, at least 8). More
	// connections than the database's cores can serve make every
	// statement slower: measured in docs/performance.md.
	DBMaxConns int
	// LDAP and OIDC configure external sign-in (env SPORTELLO_LDAP_*,
	// SPORTELLO_OIDC_*; see identity.go and docs/identity.md).
	LDAP        identity.LDAPConfig
	OIDC        identity.OIDCConfig
	identityErr error
}

// FromEnv fills unset fields from the environment and defaults.
func (c *Config) FromEnv() {
	setDefault(&c.DataDir, os.Getenv("SPORTELLO_DATA"), "data")
	setDefault(&c.DatabaseURL, os.Getenv("SPORTELLO_DATABASE_URL"), "")
	setDefault(&c.Addr, os.Getenv("SPORTELLO_ADDR"), "127.0.0.1:8080")
	setDefault(&c.SecretKey, os.Getenv("SPORTELLO_SECRET_KEY"), "")
	setDefault(&c.LogLevel, os.Getenv("SPORTELLO_LOG_LEVEL"), "info")
	setDefault(&c.BaseURL, os.Getenv("SPORTELLO_BASE_URL"), "")
	if v := os.Getenv("SPORTELLO_DEV"); v == "1" || v == "true" {
		c.Dev = true
	}
	setDefault(&c.TrustedProxies, os.Getenv("SPORTELLO_TRUSTED_PROXIES"), "")
	c.RateLimit = envFloat(c.RateLimit, "SPORTELLO_RATE_LIMIT", 3000)
	c.RateLimitAnonymous = envFloat(c.RateLimitAnonymous, "SPORTELLO_RATE_LIMIT_ANON", 50)
	if c.DBMaxConns == 0 {
		if v := os.Getenv("SPORTELLO_DB_MAX_CONNS"); v != "" {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				c.DBMaxConns = n
			} else {
				c.DBMaxConns = -1 // reported by Validate
			}
		}
	}
	if c.AutoCloseAfter == 0 {
		c.AutoCloseAfter = 10 * 24 * time.Hour
		if v := os.Getenv("SPORTELLO_AUTOCLOSE"); v != "" {
			if d, err := time.ParseDuration(v); err == nil {
				c.AutoCloseAfter = d
			} else {
				c.AutoCloseAfter = -1 // reported by Validate
			}
		}
	}
	c.identityFromEnv()
}

// envFloat returns v when set, else the variable's value, else def; an
// unreadable value becomes -1, which Validate reports.
func envFloat(v float64, name string, def float64) float64 {
	if v != 0 {
		return v
	}
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return -1
	}
	return f
}

func setDefault(dst *string, env, def string) {
	if *dst != "" {
		return
	}
	if env != "" {
		*dst = env
		return
	}
	*dst = def
}

// Validate checks the configuration and says what to do about problems.
func (c *Config) Validate() error {
	if c.DatabaseURL != "" && !store.IsPostgresURL(c.DatabaseURL) {
		return errors.New("SPORTELLO_DATABASE_URL must start with postgres:// (or be empty for SQLite in the data directory)")
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("SPORTELLO_LOG_LEVEL %q: use debug, info, warn or error", c.LogLevel)
	}
	if c.AutoCloseAfter <= 0 {
		return errors.New("SPORTELLO_AUTOCLOSE must be a positive duration such as 240h")
	}
	if c.RateLimit < 0 || c.RateLimitAnonymous < 0 {
		return errors.New("SPORTELLO_RATE_LIMIT and SPORTELLO_RATE_LIMIT_ANON must be numbers of requests per second (0: no limit)")
	}
	if c.DBMaxConns < 0 {
		return errors.New("SPORTELLO_DB_MAX_CONNS must be a positive number of connections (for example 16)")
	}
	if _, err := guard.ParseProxies(c.TrustedProxies); err != nil {
		return fmt.Errorf("SPORTELLO_TRUSTED_PROXIES: %w", err)
	}
	if c.SecretKey != "" && len(c.SecretKey) < 32 {
		return errors.New("SPORTELLO_SECRET_KEY must be at least 32 characters (for example: openssl rand -hex 32)")
	}
	return c.validateIdentity()
}

// Proxies returns the trusted reverse proxies (validated by Validate).
func (c *Config) Proxies() guard.Proxies {
	p, _ := guard.ParseProxies(c.TrustedProxies)
	return p
}

// SecureCookies reports whether session cookies must be marked Secure:
// the public address is https://, or a TLS-terminating proxy is configured.
func (c *Config) SecureCookies() bool {
	return strings.HasPrefix(c.BaseURL, "https://") || len(c.Proxies()) > 0
}

// StoreConfig returns the database configuration.
func (c *Config) StoreConfig() store.Config {
	return store.Config{URL: c.DatabaseURL, DataDir: c.DataDir, MaxConns: c.DBMaxConns}
}

// Level returns the slog level.
func (c *Config) Level() slog.Level {
	switch strings.ToLower(c.LogLevel) {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// loadSecret returns the configured key or the one kept in the data
// directory, generating it on first start.
func (c *Config) loadSecret() ([]byte, error) {
	if c.SecretKey != "" {
		return []byte(c.SecretKey), nil
	}
	path := filepath.Join(c.DataDir, "secret.key")
	b, err := os.ReadFile(path)
	if err == nil {
		key := strings.TrimSpace(string(b))
		if len(key) < 32 {
			return nil, fmt.Errorf("%s is too short: delete it to generate a new key, or set SPORTELLO_SECRET_KEY", path)
		}
		return []byte(key), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", c.DataDir, err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	key := hex.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write secret key: %w", err)
	}
	return []byte(key), nil
}
