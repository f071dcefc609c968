package desk

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// MaxTokenTTL bounds the lifetime of tokens issued through the API.
const MaxTokenTTL = 366 * 24 * time.Hour

// IssueToken lets a signed-in person mint a token for themselves, for an
// integration: never with a scope the caller's own token lacks, and always
// expiring (ttl between a minute and MaxTokenTTL).
func (d *Desk) IssueToken(ctx context.Context, a Actor, name string, ttl time.Duration, scopes TokenScope) (string, Token, error) {
	if a.System || a.UserID == 0 {
		return "", Token{}, Errorf(EForbidden, "only people have tokens")
	}
	if scopes == 0 || scopes&^AllScopes != 0 {
		return "", Token{}, FieldError("scopes", "a token needs at least one scope (read, write, admin)")
	}
	if !a.Allows(scopes) {
		return "", Token{}, &Error{Code: EForbidden, Field: "scopes", Message: "a token cannot grant scopes the caller's token lacks"}
	}
	if ttl < time.Minute || ttl > MaxTokenTTL {
		return "", Token{}, FieldError("expires_in_days", "a token must expire within %d days", int(MaxTokenTTL.Hours()/24))
	}
	if cleanLine(name) == "" {
		return "", Token{}, FieldError("name", "name the token after what will use it")
	}
	return d.CreateScopedToken(ctx, a.UserID, name, ttl, scopes)
}

// MyTokens lists the caller's tokens (never their secret values).
func (d *Desk) MyTokens(ctx context.Context, a Actor) ([]Token, error) {
	if a.System || a.UserID == 0 {
		return nil, Errorf(EForbidden, "only people have tokens")
	}
	var out []Token
	err := d.store.View(ctx, func(tx Tx) error {
		var err error
		out, err = tx.Tokens(ctx, a.UserID)
		return err
	})
	return out, err
}

// RevokeMyToken revokes one of the caller's tokens by id; others' tokens
// are not found.
func (d *Desk) RevokeMyToken(ctx context.Context, a Actor, id int64) error {
	if a.System || a.UserID == 0 {
		return Errorf(EForbidden, "only people have tokens")
	}
	var revoked string // hash of the token revoked, dropped from the cache once committed
	defer func() {
		if revoked != "" {
			d.dropTokens(func(h string, _ cachedToken) bool { return h == revoked })
		}
	}()
	return d.store.Update(ctx, func(tx Tx) error {
		ts, err := tx.Tokens(ctx, a.UserID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(ts, func(t Token) bool { return t.ID == id })
		if i < 0 {
			return Errorf(ENotFound, "token %d not found", id)
		}
		t := ts[i]
		if !t.Revoked.IsZero() {
			return nil
		}
		if err := tx.RevokeToken(ctx, t.ID, d.Now()); err != nil {
			return err
		}
		revoked = t.Hash
		return d.AuditTx(ctx, tx, a, AuditEntry{Action: AuditTokenRevoke, Target: fmt.Sprintf("token:%d", t.ID), Detail: fmt.Sprintf("%q", t.Name)})
	})
}
