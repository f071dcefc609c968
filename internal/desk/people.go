package desk

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/mail"
	"strings"
	"time"
	"unicode"
)

// ValidEmail reports whether s is a plain e-mail address.
func ValidEmail(s string) bool {
	if len(s) > 254 || strings.ContainsAny(s, " <>\"") {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".")
}

// SafeFileName neutralises a file name: no path, no control or
// bidirectional-override characters, bounded length, never empty.
func SafeFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r), r == '\u200b', r == '\ufeff':
			return -1
		case r == '"' || r == ':' || r == '*' || r == '?' || r == '<' || r == '>' || r == '|':
			return '_'
		}
		return r
	}, name)
	name = strings.Trim(strings.TrimSpace(name), ".")
	if r := []rune(name); len(r) > 180 {
		name = string(r[:180])
	}
	if name == "" {
		return "allegato"
	}
	return name
}

// NewUser is the input to CreateUser.
type NewUser struct {
	OrgCode  string
	Email    string
	Name     string
	Phone    string
	Role     Role
	Password string
	// InstallationAdmin makes an admin of the whole installation.
	InstallationAdmin bool
}

// CreateUser adds a person. Only administrators (of that organisation, or of
// the installation) and the system may do it.
func (d *Desk) CreateUser(ctx context.Context, a Actor, in NewUser) (User, error) {
	email := NormEmail(in.Email)
	if !ValidEmail(email) {
		return User{}, FieldError("email", "invalid e-mail address %q", in.Email)
	}
	if !in.Role.Valid() {
		return User{}, FieldError("role", "unknown role %q (use requester, agent, approver or admin)", in.Role)
	}
	if in.InstallationAdmin && !(a.System || a.InstallationAdmin) {
		return User{}, Errorf(EForbidden, "only installation administrators can create installation administrators")
	}
	var hash string
	if in.Password != "" {
		if len(in.Password) < 8 {
			return User{}, FieldError("password", "password must be at least 8 characters")
		}
		if d.hasher == nil {
			return User{}, Errorf(EInternal, "no password hasher configured")
		}
		var err error
		if hash, err = d.hasher.Hash(in.Password); err != nil {
			return User{}, err
		}
	}
	u := User{Email: email, Name: cleanLine(in.Name), Phone: cleanLine(in.Phone), Role: in.Role, PasswordHash: hash,
		InstallationAdmin: in.InstallationAdmin && in.Role == RoleAdmin, Active: true, Created: d.Now()}
	if u.Name == "" {
		u.Name = email
	}
	err := d.store.Update(ctx, func(tx Tx) error {
		org, err := d.orgFor(ctx, tx, a, in.OrgCode)
		if err != nil {
			return err
		}
		if !CanAdminOrg(a, org.ID) {
			return Errorf(EForbidden, "only administrators can add users")
		}
		u.OrgID = org.ID
		if _, err := tx.UserByEmail(ctx, email); err == nil {
			return &Error{Code: EConflict, Field: "email", Message: "a user with e-mail " + email + " already exists"}
		} else if !IsNotFound(err) {
			return err
		}
		return tx.CreateUser(ctx, &u)
	})
	return u, err
}

// EnsureUser returns the user with that e-mail, creating it if missing, and
// makes sure it has the role given (used by the token command and the demo).
func (d *Desk) EnsureUser(ctx context.Context, in NewUser) (User, error) {
	email := NormEmail(in.Email)
	if !ValidEmail(email) {
		return User{}, FieldError("email", "invalid e-mail address %q", in.Email)
	}
	if !in.Role.Valid() {
		return User{}, FieldError("role", "unknown role %q (use requester, agent, approver or admin)", in.Role)
	}
	var hash string
	if in.Password != "" {
		var err error
		if hash, err = d.hasher.Hash(in.Password); err != nil {
			return User{}, err
		}
	}
	var u User
	err := d.store.Update(ctx, func(tx Tx) error {
		org, err := d.orgFor(ctx, tx, SystemActor, in.OrgCode)
		if err != nil {
			return err
		}
		u, err = tx.UserByEmail(ctx, email)
		if IsNotFound(err) {
			u = User{Email: email, Name: firstNonEmpty(cleanLine(in.Name), email), Phone: cleanLine(in.Phone), Role: in.Role,
				OrgID: org.ID, PasswordHash: hash, InstallationAdmin: in.InstallationAdmin && in.Role == RoleAdmin, Active: true, Created: d.Now()}
			return tx.CreateUser(ctx, &u)
		}
		if err != nil {
			return err
		}
		next := u
		next.Role, next.Active = in.Role, true
		if in.OrgCode != "" {
			next.OrgID = org.ID
		}
		next.InstallationAdmin = in.InstallationAdmin && in.Role == RoleAdmin
		if in.Name != "" {
			next.Name = cleanLine(in.Name)
		}
		if in.Phone != "" {
			next.Phone = cleanLine(in.Phone)
		}
		if hash != "" && u.PasswordHash == "" {
			next.PasswordHash = hash
		}
		if next == u {
			return nil
		}
		u = next
		return tx.UpdateUser(ctx, &u)
	})
	return u, err
}

// Authenticate checks an e-mail and password. Every failure is the same
// EUnauthorized error so that accounts cannot be enumerated.
func (d *Desk) Authenticate(ctx context.Context, email, password string) (User, error) {
	bad := Errorf(EUnauthorized, "wrong e-mail or password")
	var u User
	err := d.store.View(ctx, func(tx Tx) error {
		var err error
		u, err = tx.UserByEmail(ctx, NormEmail(email))
		return err
	})
	if err != nil {
		if IsNotFound(err) {
			// Spend the same time as a real check.
			if d.hasher != nil {
				d.dummyOnce.Do(func() { d.dummyHash, _ = d.hasher.Hash("not a password") })
				_, _ = d.hasher.Verify(d.dummyHash, password)
			}
			return User{}, bad
		}
		return User{}, err
	}
	if !u.Active || u.PasswordHash == "" || d.hasher == nil {
		return User{}, bad
	}
	ok, err := d.hasher.Verify(u.PasswordHash, password)
	if err != nil || !ok {
		return User{}, bad
	}
	return u, nil
}

// TokenPrefix marks Sportello API tokens so that they are recognisable in
// secret scanners.
const TokenPrefix = "spt_"

// HashToken returns the stored form of a bearer token.
func HashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// CreateToken issues a new API token for a user and returns it in clear; it
// is never stored in clear.
func (d *Desk) CreateToken(ctx context.Context, userID int64, name string, ttl time.Duration) (string, Token, error) {
	return d.CreateScopedToken(ctx, userID, name, ttl, AllScopes)
}

// CreateScopedToken issues a token limited to scopes (see TokenScope) and,
// when ttl > 0, expiring after ttl.
func (d *Desk) CreateScopedToken(ctx context.Context, userID int64, name string, ttl time.Duration, scopes TokenScope) (string, Token, error) {
	if scopes == 0 || scopes&^AllScopes != 0 {
		return "", Token{}, FieldError("scopes", "a token needs at least one scope (read, write, admin)")
	}
	if ttl < 0 {
		return "", Token{}, FieldError("expires", "expiry must be in the future")
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", Token{}, err
	}
	tok := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	t := Token{UserID: userID, Name: cleanLine(name), Hash: HashToken(tok), Created: d.Now(), Scopes: scopes}
	if ttl > 0 {
		t.Expires = t.Created.Add(ttl)
	}
	err := d.store.Update(ctx, func(tx Tx) error {
		if _, err := tx.UserByID(ctx, userID); err != nil {
			return err
		}
		return tx.CreateToken(ctx, &t)
	})
	return tok, t, err
}

// tokenCacheTTL bounds how long a resolved token is trusted without
// reading the database again: a revocation made on another replica takes
// effect within this time (at once on the replica that revoked it).
const tokenCacheTTL = 5 * time.Second

type cachedToken struct {
	actor   Actor
	expires time.Time // when the cache entry stops being trusted
}

// TokenActor resolves a bearer token to the actor it stands for.
func (d *Desk) TokenActor(ctx context.Context, tok string) (Actor, error) {
	bad := Errorf(EUnauthorized, "missing, invalid, expired or revoked token")
	if !strings.HasPrefix(tok, TokenPrefix) || len(tok) > 100 {
		return Actor{}, bad
	}
	hash := HashToken(tok)
	now := d.Now()
	if v, ok := d.tokens.Load(hash); ok {
		c := v.(cachedToken)
		if now.Before(c.expires) {
			return c.actor, nil
		}
		d.tokens.Delete(hash)
	}
	var u User
	var a Actor
	var expires time.Time
	err := d.store.View(ctx, func(tx Tx) error {
		t, err := tx.TokenByHash(ctx, hash)
		if err != nil {
			return err
		}
		if !t.Revoked.IsZero() || (!t.Expires.IsZero() && !now.Before(t.Expires)) {
			return bad
		}
		expires = t.Expires
		if u, err = tx.UserByID(ctx, t.UserID); err != nil {
			return err
		}
		if a, err = actorOf(ctx, tx, u); err != nil {
			return err
		}
		if t.Scopes == 0 {
			return bad // unreadable scopes grant nothing
		}
		a.Scopes = t.Scopes
		return nil
	})
	if err != nil {
		if c := ErrorCode(err); c == ENotFound || c == EUnauthorized {
			return Actor{}, bad
		}
		return Actor{}, err
	}
	if !u.Active {
		return Actor{}, bad
	}
	c := cachedToken{actor: a, expires: now.Add(tokenCacheTTL)}
	if !expires.IsZero() && expires.Before(c.expires) {
		c.expires = expires
	}
	d.tokens.Store(hash, c)
	return a, nil
}

// RevokeToken revokes a token by its clear value.
func (d *Desk) RevokeToken(ctx context.Context, tok string) error {
	d.tokens.Delete(HashToken(tok))
	return d.store.Update(ctx, func(tx Tx) error {
		t, err := tx.TokenByHash(ctx, HashToken(tok))
		if err != nil {
			return err
		}
		return tx.RevokeToken(ctx, t.ID, d.Now())
	})
}
