package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/sportello/sportello/internal/desk"
)

// User is a person in JSON.
type User struct {
	Email        string `json:"email"`
	Name         string `json:"name"`
	Phone        string `json:"phone,omitempty"`
	Role         string `json:"role"`
	Organisation string `json:"organisation"`
}

func (a *API) me(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	var org desk.Organisation
	err := a.desk.Store().View(r.Context(), func(tx desk.Tx) error {
		var err error
		org, err = tx.OrgByID(r.Context(), actor.OrgID)
		return err
	})
	if err != nil {
		return err
	}
	scopes := actor.Scopes
	if scopes == 0 {
		scopes = desk.AllScopes
	}
	writeJSON(w, http.StatusOK, map[string]any{"email": actor.Email, "name": actor.Name, "role": actor.Role,
		"organisation": Ref{Code: org.Code, Name: org.Name}, "installation_admin": actor.InstallationAdmin,
		"scopes": strings.Fields(scopes.String())})
	return nil
}

func (a *API) findUsers(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	if !actor.IsStaff() {
		return desk.Errorf(desk.EForbidden, "only staff can look people up")
	}
	limit := 10
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 50 {
			return desk.FieldError("limit", "limit must be between 1 and 50")
		}
		limit = n
	}
	users, err := a.desk.FindPeople(r.Context(), actor, r.URL.Query().Get("q"), limit)
	if err != nil {
		return err
	}
	out := struct {
		Items []User `json:"items"`
	}{Items: []User{}}
	for _, u := range users {
		out.Items = append(out.Items, User{Email: u.Email, Name: u.Name, Phone: u.Phone, Role: string(u.Role), Organisation: u.OrgCode})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type createUserIn struct {
	Email        string `json:"email"`
	Name         string `json:"name"`
	Phone        string `json:"phone"`
	Role         string `json:"role"`
	Organisation string `json:"organisation"`
	Password     string `json:"password"`
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	var in createUserIn
	if err := decode(r, &in); err != nil {
		return err
	}
	u, err := a.desk.CreateUser(r.Context(), actor, desk.NewUser{OrgCode: in.Organisation, Email: in.Email, Name: in.Name, Phone: in.Phone,
		Role: desk.Role(in.Role), Password: in.Password})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, User{Email: u.Email, Name: u.Name, Phone: u.Phone, Role: string(u.Role), Organisation: in.Organisation})
	return nil
}

func (a *API) queues(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	qs, err := a.desk.Queues(r.Context(), actor)
	if err != nil {
		return err
	}
	out := struct {
		Items []map[string]any `json:"items"`
	}{Items: []map[string]any{}}
	for _, q := range qs {
		out.Items = append(out.Items, map[string]any{"code": q.Code, "name": q.Name, "open": q.Open})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) services(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	ss, err := a.desk.Services(r.Context(), actor)
	if err != nil {
		return err
	}
	out := struct {
		Items []Ref `json:"items"`
	}{Items: []Ref{}}
	for _, s := range ss {
		out.Items = append(out.Items, Ref{Code: s.Code, Name: s.Name})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
