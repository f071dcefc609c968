package main

import (
	"context"

	"github.com/sportello/sportello/internal/app"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/web"
	"github.com/sportello/sportello/internal/web/static"
	"github.com/sportello/sportello/internal/web/transparency"
)

// wire mounts the surfaces and jobs that serve runs beyond the API.
func wire(ctx context.Context, a *app.App) error {
	// The e-mail channel: intake, outbox sender and reminders run as jobs;
	// staff replies and status changes queue their e-mails in the same
	// transaction, whichever surface made them.
	m, err := mail.New(a)
	if err != nil {
		return err
	}
	a.Jobs = append(a.Jobs, m.Jobs()...)
	a.PEC = mail.PECService{Desk: a.Desk, Store: a.DB}
	a.Desk.SetTxHooks(desk.TxHooks{OnMessage: m.EnqueueReply, OnStatus: m.EnqueueStatus})
	assets, err := static.New()
	if err != nil {
		return err
	}
	if missing := assets.Missing(); len(missing) > 0 {
		a.Log.Warn("front-end assets missing: pages will look unstyled; run 'make assets' (or make run)", "missing", len(missing))
	}
	tr, err := transparency.New(transparency.Opts{Catalogue: a.Workflow, Assets: assets, Logger: a.Log})
	if err != nil {
		return err
	}
	a.Mount(transparency.Base, tr)
	ldapSignIn, sso, err := a.Config.Identity()
	if err != nil {
		return err
	}
	ma, err := mail.NewAdmin(a.Desk, a.Key)
	if err != nil {
		return err
	}
	w, err := web.New(web.Opts{Desk: a.Desk, DB: a.DB, Assets: assets, Logger: a.Log, Key: a.Key, Dev: a.Config.Dev,
		SecureCookies: a.Config.SecureCookies(), Proxies: a.Config.Proxies(), Portal: portalInfo(ctx, a), Workflow: a.Workflow,
		PEC: a.PEC, Mail: ma, Catalogue: a.Workflow, LDAP: ldapSignIn, SSO: sso})
	if err != nil {
		return err
	}
	a.Mount("/", w)
	// Live-update streams outlast the shutdown timeout: end them first.
	a.OnShutdown(func() { _ = w.Close() })
	return nil
}

// portalInfo tells the home page the desk's channels, from the default
// organisation's published catalogue data.
func portalInfo(ctx context.Context, a *app.App) web.PortalInfo {
	var p web.PortalInfo
	cat, err := a.Workflow.PublicCatalogue(ctx, "")
	if err != nil {
		return p // a catalogue is optional: the page shows what it has
	}
	o := cat.Organisation
	p.Org, p.Email, p.PEC = o.Name, o.Email, o.PEC
	if o.Phone != "" {
		p.Phones = []web.Phone{{Number: o.Phone}}
	}
	return p
}
