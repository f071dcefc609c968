package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sportello/sportello/internal/desk"
)

// Organisation is an organisation in JSON.
type Organisation struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Parent   string `json:"parent,omitempty"`
	Province string `json:"province,omitempty"`
}

func (a *API) organisations(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	orgs, err := a.desk.Organisations(r.Context(), actor)
	if err != nil {
		return err
	}
	codes := map[int64]string{}
	for _, o := range orgs {
		codes[o.ID] = o.Code
	}
	out := struct {
		Items []Organisation `json:"items"`
	}{Items: []Organisation{}}
	for _, o := range orgs {
		// A parent the caller may not see is not named.
		out.Items = append(out.Items, Organisation{Code: o.Code, Name: o.Name, Parent: codes[o.ParentID], Province: o.Province})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type newOrgIn struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Parent   string `json:"parent"`
	Province string `json:"province"`
}

func (a *API) createOrganisation(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	var in newOrgIn
	if err := decode(r, &in); err != nil {
		return err
	}
	o, err := a.desk.CreateOrg(r.Context(), actor, desk.NewOrg{Code: in.Code, Name: in.Name, Parent: in.Parent, Province: in.Province})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, Organisation{Code: o.Code, Name: o.Name, Parent: in.Parent, Province: o.Province})
	return nil
}

// Membership is a membership in JSON.
type Membership struct {
	ID           int64  `json:"id"`
	Kind         string `json:"kind"`
	Organisation string `json:"organisation"`
	Queue        string `json:"queue,omitempty"`
	Service      string `json:"service,omitempty"`
	Subtree      bool   `json:"subtree"`
}

func membershipJSON(m desk.Membership) Membership {
	return Membership{ID: m.ID, Kind: m.Kind(), Organisation: m.OrgCode, Queue: m.QueueCode, Service: m.ServiceCode, Subtree: m.Subtree}
}

func (a *API) memberships(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	u, ms, err := a.desk.Memberships(r.Context(), actor, r.PathValue("email"))
	if err != nil {
		return err
	}
	out := struct {
		User  string       `json:"user"`
		Role  string       `json:"role"`
		Items []Membership `json:"items"`
	}{User: u.Email, Role: string(u.Role), Items: []Membership{}}
	for _, m := range ms {
		out.Items = append(out.Items, membershipJSON(m))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type membershipIn struct {
	Organisation string `json:"organisation"`
	Queue        string `json:"queue"`
	Service      string `json:"service"`
	Subtree      bool   `json:"subtree"`
}

func (a *API) addMembership(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	var in membershipIn
	if err := decode(r, &in); err != nil {
		return err
	}
	m, err := a.desk.AddMembership(r.Context(), actor, r.PathValue("email"), desk.NewMembership{
		Organisation: in.Organisation, Queue: in.Queue, Service: in.Service, Subtree: in.Subtree})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, membershipJSON(m))
	return nil
}

func (a *API) removeMembership(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return desk.Errorf(desk.ENotFound, "membership not found")
	}
	if err := a.desk.RemoveMembership(r.Context(), actor, r.PathValue("email"), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// TokenInfo is a token in JSON, never its secret value.
type TokenInfo struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

func tokenJSON(t desk.Token) TokenInfo {
	return TokenInfo{ID: t.ID, Name: t.Name, Scopes: strings.Fields(t.Scopes.String()), CreatedAt: t.Created,
		ExpiresAt: timePtr(t.Expires), RevokedAt: timePtr(t.Revoked)}
}

func (a *API) tokens(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	ts, err := a.desk.MyTokens(r.Context(), actor)
	if err != nil {
		return err
	}
	out := struct {
		Items []TokenInfo `json:"items"`
	}{Items: []TokenInfo{}}
	for _, t := range ts {
		out.Items = append(out.Items, tokenJSON(t))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type newTokenIn struct {
	Name          string   `json:"name"`
	Scopes        []string `json:"scopes"`
	ExpiresInDays int      `json:"expires_in_days"`
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	var in newTokenIn
	if err := decode(r, &in); err != nil {
		return err
	}
	scopes, err := desk.ParseScopes(strings.Join(in.Scopes, " "))
	if err != nil {
		return err
	}
	tok, t, err := a.desk.IssueToken(r.Context(), actor, in.Name, time.Duration(in.ExpiresInDays)*24*time.Hour, scopes)
	if err != nil {
		return err
	}
	out := struct {
		TokenInfo
		Token string `json:"token"`
	}{tokenJSON(t), tok}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return desk.Errorf(desk.ENotFound, "token not found")
	}
	if err := a.desk.RevokeMyToken(r.Context(), actor, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
