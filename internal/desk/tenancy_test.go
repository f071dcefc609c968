package desk

import "testing"

// FuzzParseScopes: a scope list parses into known scopes that print back
// to the same set, or is refused as invalid_request.
func FuzzParseScopes(f *testing.F) {
	for _, s := range []string{"read", "read,write admin", "", "READ", "root", ",,", "read read"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := ParseScopes(s)
		if err != nil {
			if ErrorCode(err) != EInvalid {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if sc == 0 || sc&^AllScopes != 0 {
			t.Fatalf("%q gave %b", s, sc)
		}
		again, err := ParseScopes(sc.String())
		if err != nil || again != sc {
			t.Fatalf("%q: round trip %q → %b %v", s, sc.String(), again, err)
		}
	})
}

func TestScopeAllows(t *testing.T) {
	a := Actor{Role: RoleAgent, Scopes: ScopeRead}
	if !a.Allows(ScopeRead) || a.Allows(ScopeWrite) || a.Allows(ScopeRead|ScopeWrite) {
		t.Fatal("read-only token")
	}
	if !(Actor{Role: RoleAgent}).Allows(ScopeAdmin) {
		t.Fatal("a session (no token scopes) is limited by its role only")
	}
}

// TestScopeOrgIDsNeverNilWhenRestricted: callers that read OrgIDs alone
// (counters) take nil for "every organisation"; a restricted actor must
// never give them nil.
func TestScopeOrgIDsNeverNilWhenRestricted(t *testing.T) {
	for name, a := range map[string]Actor{
		"queue agent": {UserID: 1, OrgID: 2, Role: RoleAgent, Access: &Access{QueueIDs: []int64{7}}},
		"requester":   {UserID: 1, OrgID: 2, Role: RoleRequester},
		"nobody":      {Role: "ghost"},
		"agent":       {UserID: 1, OrgID: 2, Role: RoleAgent},
	} {
		if s := TicketScope(a); s.OrgIDs == nil || s.All() {
			t.Errorf("%s: scope %+v", name, s)
		}
	}
	if s := TicketScope(SystemActor); !s.All() || s.OrgIDs != nil {
		t.Errorf("system scope %+v", s)
	}
}
