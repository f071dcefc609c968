package desk

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
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
		if err := tx.CreateUser(ctx, &u); err != nil {
			return err
		}
		return d.AuditTx(ctx, tx, a, AuditEntry{OrgID: u.OrgID, Action: AuditUserCreate, Target: userTarget(u.ID),
			Detail: fmt.Sprintf("%s, role %s", u.Email, u.Role)})
	})
	return u, err
}

func userTarget(id int64) string { return fmt.Sprintf("user:%d", id) }

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
			if err := tx.CreateUser(ctx, &u); err != nil {
				return err
			}
			return d.AuditTx(ctx, tx, SystemActor, AuditEntry{OrgID: u.OrgID, Action: AuditUserCreate, Target: userTarget(u.ID),
				Detail: fmt.Sprintf("%s, role %s", u.Email, u.Role)})
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
		prev := u
		u = next
		if err := tx.UpdateUser(ctx, &u); err != nil {
			return err
		}
		return d.AuditTx(ctx, tx, SystemActor, AuditEntry{OrgID: u.OrgID, Action: AuditUserUpdate, Target: userTarget(u.ID),
			Detail: userChanges(prev, u)})
	})
	return u, err
}

// Authenticate checks an e-mail and password. Every failure is the same
// EUnauthorized error so that accounts cannot be enumerated.
func (d *Desk) Authenticate(ctx context.Context, email, password string) (User, error) {
	u, err := d.authenticate(ctx, email, password)
	e := AuditEntry{Action: AuditLoginOK, Detail: "password"}
	if err != nil {
		if ErrorCode(err) != EUnauthorized {
			return User{}, err
		}
		e.Action, e.Actor = AuditLoginFailed, NormEmail(email)
		if u.ID != 0 {
			e.ActorID, e.OrgID, e.Target = u.ID, u.OrgID, userTarget(u.ID)
		}
	} else {
		e.Target = userTarget(u.ID)
	}
	if aerr := d.Audit(ctx, ActorFor(u), e); aerr != nil {
		return User{}, aerr
	}
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// authenticate checks the password; on a wrong password for a known
// account it returns that account with the error, for the audit entry.
func (d *Desk) authenticate(ctx context.Context, email, password string) (User, error) {
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
		return u, bad
	}
	ok, err := d.hasher.Verify(u.PasswordHash, password)
	if err != nil || !ok {
		return u, bad
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
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		if err := tx.CreateToken(ctx, &t); err != nil {
			return err
		}
		detail := fmt.Sprintf("%q, never expires", t.Name)
		if !t.Expires.IsZero() {
			detail = fmt.Sprintf("%q, expires %s", t.Name, t.Expires.Format(time.RFC3339))
		}
		return d.AuditTx(ctx, tx, ActorFor(u), AuditEntry{Action: AuditTokenCreate, Target: fmt.Sprintf("token:%d", t.ID), Detail: detail})
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
	// Concurrent requests with the same token share one lookup: on a cold
	// cache (start-up, or every tokenCacheTTL) a busy client's requests
	// would otherwise each read the token, its user and memberships.
	gen := d.tokenGen.Load()
	v, err, _ := d.tokenLookups.Do(hash, func() (any, error) {
		return d.lookupToken(context.WithoutCancel(ctx), hash, now)
	})
	if err != nil {
		if c := ErrorCode(err); c == ENotFound || c == EUnauthorized {
			return Actor{}, bad
		}
		return Actor{}, err
	}
	c := v.(cachedToken)
	// A token revoked, or access changed, while it was being read is not
	// cached: the next request reads it again.
	if d.tokenGen.Load() == gen {
		d.tokens.Store(hash, c)
	}
	return c.actor, nil
}

// lookupToken reads a token and the actor it stands for.
func (d *Desk) lookupToken(ctx context.Context, hash string, now time.Time) (cachedToken, error) {
	bad := Errorf(EUnauthorized, "missing, invalid, expired or revoked token")
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
		return cachedToken{}, err
	}
	if !u.Active {
		return cachedToken{}, bad
	}
	c := cachedToken{actor: a, expires: now.Add(tokenCacheTTL)}
	if !expires.IsZero() && expires.Before(c.expires) {
		c.expires = expires
	}
	return c, nil
}

// dropTokens forgets the cached tokens for which drop returns true (all of
// them when drop is nil), and keeps lookups under way from caching what
// they read before the change.
func (d *Desk) dropTokens(drop func(hash string, c cachedToken) bool) {
	d.tokenGen.Add(1)
	if drop == nil {
		d.tokens.Clear()
		return
	}
	d.tokens.Range(func(k, v any) bool {
		if c, ok := v.(cachedToken); ok && drop(k.(string), c) {
			d.tokens.Delete(k)
		}
		return true
	})
}

// RevokeToken revokes a token by its clear value.
func (d *Desk) RevokeToken(ctx context.Context, tok string) error {
	h := HashToken(tok)
	defer d.dropTokens(func(hash string, _ cachedToken) bool { return hash == h })
	d.dropTokens(func(hash string, _ cachedToken) bool { return hash == h })
	return d.store.Update(ctx, func(tx Tx) error {
		t, err := tx.TokenByHash(ctx, HashToken(tok))
		if err != nil {
			return err
		}
		if err := tx.RevokeToken(ctx, t.ID, d.Now()); err != nil {
			return err
		}
		u, err := tx.UserByID(ctx, t.UserID)
		if err != nil {
			return err
		}
		return d.AuditTx(ctx, tx, ActorFor(u), AuditEntry{Action: AuditTokenRevoke, Target: fmt.Sprintf("token:%d", t.ID), Detail: fmt.Sprintf("%q", t.Name)})
	})
}

// userChanges describes what changed between two versions of a user, for
// the audit log (never the password hash itself).
func userChanges(prev, next User) string {
	var parts []string
	if prev.Role != next.Role {
		parts = append(parts, fmt.Sprintf("role %s → %s", prev.Role, next.Role))
	}
	if prev.OrgID != next.OrgID {
		parts = append(parts, fmt.Sprintf("organisation %d → %d", prev.OrgID, next.OrgID))
	}
	if prev.Active != next.Active {
		parts = append(parts, fmt.Sprintf("active %t → %t", prev.Active, next.Active))
	}
	if prev.InstallationAdmin != next.InstallationAdmin {
		parts = append(parts, fmt.Sprintf("installation admin %t → %t", prev.InstallationAdmin, next.InstallationAdmin))
	}
	if prev.Name != next.Name {
		parts = append(parts, "name")
	}
	if prev.Phone != next.Phone {
		parts = append(parts, "phone")
	}
	if prev.PasswordHash != next.PasswordHash {
		parts = append(parts, "password set")
	}
	return strings.Join(parts, ", ")
}
