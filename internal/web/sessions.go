package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "sportello_session"

// Session keys.
const (
	sessUserID = "uid"
	sessFlash  = "flash"
)

// sessionStore is an scs.CtxStore over the database, so that sessions
// survive restarts and any replica can serve any request. Tokens are
// stored as HMAC-SHA256 under the installation key: someone who reads the
// table cannot turn a row into a working cookie.
type sessionStore struct {
	db      *store.DB
	key     []byte
	log     *slog.Logger
	commits atomic.Int64
}

var _ scs.CtxStore = (*sessionStore)(nil)

func newSessionManager(db *store.DB, key []byte, secure bool, lifetime time.Duration, log *slog.Logger) *scs.SessionManager {
	sm := scs.New()
	sm.Store = &sessionStore{db: db, key: key, log: log}
	sm.Lifetime = lifetime
	if sm.Lifetime <= 0 {
		sm.Lifetime = 12 * time.Hour
	}
	sm.Cookie.Name = SessionCookie
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = secure
	sm.Cookie.Path = "/"
	// A log-in lasts until the browser closes or the lifetime ends.
	sm.Cookie.Persist = false
	sm.ErrorFunc = func(rw http.ResponseWriter, r *http.Request, err error) {
		id := errorID()
		log.Error("web: session store", "id", id, "err", err)
		http.Error(rw, "Servizio temporaneamente non disponibile. Codice errore: "+id, http.StatusServiceUnavailable)
	}
	return sm
}

func (s *sessionStore) hash(token string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *sessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	if token == "" || len(token) > 100 {
		return nil, false, nil
	}
	return s.db.SessionFind(ctx, s.hash(token), time.Now())
}

func (s *sessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if err := s.db.SessionCommit(ctx, s.hash(token), b, expiry); err != nil {
		return err
	}
	// Expired rows are removed now and then by whichever replica happens
	// to write; the work is one indexed delete.
	if s.commits.Add(1)%200 == 1 {
		if err := s.db.PurgeSessions(ctx, time.Now()); err != nil {
			s.log.Warn("web: purging expired sessions", "err", err)
		}
	}
	return nil
}

func (s *sessionStore) DeleteCtx(ctx context.Context, token string) error {
	return s.db.SessionDelete(ctx, s.hash(token))
}

func (s *sessionStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

func (s *sessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

func (s *sessionStore) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

type userKey struct{}

type actorKey struct{}

// withUser loads the signed-in user of the session, if any, into the
// request context. A session whose user is gone or deactivated is ended.
func (w *Web) withUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id := w.sessions.GetInt64(ctx, sessUserID)
		if id != 0 {
			u, err := w.userByID(ctx, id)
			var a desk.Actor
			if err == nil && u.Active {
				// Memberships are read at every request, so a change
				// applies at once to sessions already open.
				a, err = w.desk.ActorOf(ctx, u)
			}
			switch {
			case err == nil && u.Active:
				ctx = context.WithValue(ctx, userKey{}, &u)
				r = r.WithContext(context.WithValue(ctx, actorKey{}, a))
			case err == nil || desk.IsNotFound(err):
				if err := w.sessions.Destroy(ctx); err != nil {
					w.log.Warn("web: ending the session of a missing user", "err", err)
				}
			default:
				id := errorID()
				w.log.Error("web: loading the session user", "id", id, "err", err)
				http.Error(rw, "Servizio temporaneamente non disponibile. Codice errore: "+id, http.StatusServiceUnavailable)
				return
			}
		}
		next.ServeHTTP(rw, r)
	})
}

// userByID reads the user of a session. The desk has no method for it yet
// (see the request in docs/ui.md), so this is a plain read through the
// store the desk exposes for that purpose.
func (w *Web) userByID(ctx context.Context, id int64) (desk.User, error) {
	var u desk.User
	err := w.desk.Store().View(ctx, func(tx desk.Tx) error {
		var err error
		u, err = tx.UserByID(ctx, id)
		return err
	})
	return u, err
}

// errorID returns a short random identifier shown to the user and logged
// with an internal error, so that support can find the log line.
func errorID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
