package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/sportello/sportello/internal/app"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/workflow"
)

// demoAccounts are the Contract's demo accounts, all with password "sportello".
var demoAccounts = []struct {
	email, name, phone string
	role               desk.Role
	org                string
	inst               bool
}{
	{"admin@demo.example.it", "Amministratore Demo", "", desk.RoleAdmin, "", true},
	{"agente@demo.example.it", "Antonio Pugliese", "0831 565354", desk.RoleAgent, demoProvince, false},
	{"responsabile@demo.example.it", "Luigi Settembrini", "0831 565353", desk.RoleApprover, demoProvince, false},
	{"utente@demo.example.it", "Maria Colucci", "0831 565400", desk.RoleRequester, demoProvince, false},
	{"piero.nolasco@demo.example.it", "Piero Nolasco", "0831 565355", desk.RoleAgent, demoProvince, false},
	{"valentino.semeraro@demo.example.it", "Valentino Semeraro", "0831 565356", desk.RoleAgent, demoProvince, false},
	{"operatore.bdna@demo.example.it", "Operatore Service Desk BDNA", "", desk.RoleAgent, demoNational, false},
	{"stazione@comune-ferrara.example.it", "Giulia Bianchi", "0532 419111", desk.RoleRequester, "comune-ferrara", false},
	// Organisations kept apart: one agent per prefecture, each seeing only
	// their prefecture's tickets; the ministry's administrator administers
	// both prefectures (and what lies below them).
	{"agente.ferrara@demo.example.it", "Franca Estense", "0532 294311", desk.RoleAgent, "prefettura-ferrara", false},
	{"agente.bologna@demo.example.it", "Bruno Felsineo", "051 6401111", desk.RoleAgent, "prefettura-bologna", false},
	{"admin.ministero@demo.example.it", "Amministratore Ministero", "", desk.RoleAdmin, demoNational, false},
}

// demoTenancyAccounts are printed with the Contract's accounts: the demo of
// organisations kept apart (docs/security.md).
var demoTenancyAccounts = []struct{ email, what string }{
	{"agente.ferrara@demo.example.it", "agent, Prefettura di Ferrara only"},
	{"agente.bologna@demo.example.it", "agent, Prefettura di Bologna only"},
	{"admin.ministero@demo.example.it", "admin of the ministry and its prefectures"},
	{"operatore.bdna@demo.example.it", "agent of the national desk: the ministry and every prefecture"},
}

const (
	demoProvince = "provincia-brindisi"
	demoNational = "ministero-interno-dippp"
	demoPassword = "sportello"
)

func cmdDemo(ctx context.Context, env *Env, args []string) error {
	fs := env.newFlags("demo", "demo [--data DIR] [--tickets N]")
	n := fs.Int("tickets", 300, "how many demo tickets to generate on first load")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := requireNoArgs(fs); err != nil {
		return err
	}
	a, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := loadDemo(ctx, a, *n, func(format string, args ...any) { fmt.Fprintf(env.Stderr, format, args...) }); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "Account dimostrativi / demo accounts (password: "+demoPassword+"):")
	for _, acc := range demoAccounts[:4] {
		fmt.Fprintf(env.Stdout, "  %-32s %s\n", acc.email, acc.role)
	}
	fmt.Fprintln(env.Stdout, "Organizzazioni separate / organisations kept apart:")
	for _, acc := range demoTenancyAccounts {
		fmt.Fprintf(env.Stdout, "  %-32s %s\n", acc.email, acc.what)
	}
	return nil
}

// loadDemo loads the demo idempotently: organisations, catalogue and
// accounts are ensured every time; tickets are generated only once.
func loadDemo(ctx context.Context, a *app.App, tickets int, say func(string, ...any)) error {
	d := a.Desk
	orgs := []desk.NewOrg{
		{Code: demoProvince, Name: "Provincia di Brindisi", Province: "BR", Default: true},
		{Code: demoNational, Name: "Ministero dell'Interno — Service Desk BDNA", Province: "RM"},
		{Code: "prefettura-ferrara", Name: "Prefettura di Ferrara", Province: "FE", Parent: demoNational},
		{Code: "prefettura-bologna", Name: "Prefettura di Bologna", Province: "BO", Parent: demoNational},
		{Code: "comune-ferrara", Name: "Comune di Ferrara (stazione appaltante)", Province: "FE", Parent: "prefettura-ferrara"},
	}
	say("organizzazioni…\n")
	for _, o := range orgs {
		_, err := d.CreateOrg(ctx, desk.SystemActor, o)
		if err != nil && desk.ErrorCode(err) != desk.EConflict {
			return fmt.Errorf("organisation %s: %w", o.Code, err)
		}
		if o.Default {
			if err := setDefaultOrg(ctx, a, o.Code); err != nil {
				return err
			}
		}
	}
	say("catalogo dei servizi…\n")
	if err := a.Workflow.LoadSeeds(ctx); err != nil {
		return fmt.Errorf("catalogue: %w", err)
	}
	say("posta del service desk nazionale…\n")
	if err := mail.LoadDemo(ctx, a.DB, demoNational, time.Now()); err != nil {
		return fmt.Errorf("mail demo: %w", err)
	}
	say("account…\n")
	for _, acc := range demoAccounts {
		if _, err := d.EnsureUser(ctx, desk.NewUser{Email: acc.email, Name: acc.name, Phone: acc.phone, Role: acc.role, OrgCode: acc.org,
			Password: demoPassword, InstallationAdmin: acc.inst}); err != nil {
			return fmt.Errorf("account %s: %w", acc.email, err)
		}
	}
	// The national desk's operator works the ministry and every prefecture.
	if _, err := d.AddMembership(ctx, desk.SystemActor, "operatore.bdna@demo.example.it",
		desk.NewMembership{Organisation: demoNational, Subtree: true}); err != nil && desk.ErrorCode(err) != desk.EConflict {
		return fmt.Errorf("membership: %w", err)
	}
	if err := demoPrefectureTickets(ctx, a, say); err != nil {
		return err
	}
	loaded := false
	if err := a.DB.View(ctx, func(tx desk.Tx) error {
		_, err := tx.Setting(ctx, "demo_tickets")
		loaded = err == nil
		if desk.IsNotFound(err) {
			return nil
		}
		return err
	}); err != nil {
		return err
	}
	if loaded {
		say("ticket dimostrativi già presenti / demo tickets already loaded\n")
		return nil
	}
	if err := demoTickets(ctx, a, tickets, say); err != nil {
		return err
	}
	return a.DB.Update(ctx, func(tx desk.Tx) error {
		return tx.SetSetting(ctx, "demo_tickets", strconv.Itoa(tickets))
	})
}

func setDefaultOrg(ctx context.Context, a *app.App, code string) error {
	return a.DB.Update(ctx, func(tx desk.Tx) error {
		o, err := tx.OrgByCode(ctx, code)
		if err != nil {
			return err
		}
		return tx.SetSetting(ctx, desk.SettingDefaultOrg, strconv.FormatInt(o.ID, 10))
	})
}

// demoRequest is a realistic request, by service.
type demoRequest struct{ service, subject, body string }

var demoRequests = []demoRequest{
	{"assistenza-stazioni-lavoro", "Il PC non si accende", "Buongiorno, da stamattina il computer della mia postazione non si accende. Il led dell'alimentatore è spento."},
	{"assistenza-stazioni-lavoro", "Rete non raggiungibile dal secondo piano", "Non riusciamo ad accedere alle cartelle condivise né a Internet dall'ufficio protocollo."},
	{"installazione-software", "Installazione Acrobat Reader", "Chiedo l'installazione di Acrobat Reader per aprire gli atti in PDF."},
	{"sicurezza-informatica", "Richiesta regola firewall per il portale SUAP", "Il Settore Attività produttive chiede l'apertura della porta 443 verso il fornitore del portale SUAP."},
	{"sicurezza-informatica", "IP del server di posta in blacklist", "Le mail verso alcuni comuni tornano indietro: il nostro IP risulta in blacklist."},
	{"posta-elettronica", "Configurazione casella PEC su Thunderbird", "Devo configurare la casella PEC del settore sul nuovo PC."},
	{"posta-elettronica", "Casella di posta piena", "Ricevo l'avviso di casella piena, non riesco a ricevere mail."},
	{"firma-digitale", "Firma digitale non riconosciuta", "Il software di firma non rileva il dispositivo, errore 'token non presente'."},
	{"telefonia-fissa", "Telefono fisso muto", "L'apparecchio dell'interno 354 non dà il segnale di linea."},
	{"app-smartphone", "App numero aziendale non registra", "L'app sullo smartphone non si registra al centralino dopo l'aggiornamento."},
	{"dispositivi-hardware-sito-web", "Stampante di rete inceppata", "La stampante del corridoio al primo piano segnala inceppamento continuo."},
	{"dispositivi-hardware-sito-web", "Aggiornamento pagina amministrazione trasparente", "Pubblicare la nuova determina nella sezione Bandi di gara."},
	{"sistemi-operativi", "Aggiornamenti Windows bloccati", "Il PC resta fermo su 'installazione aggiornamenti 0%' da due giorni."},
	{"software-gestionali", "Civilia Open non si avvia", "All'avvio di Civilia Open compare un errore di connessione al database."},
}

// demoFields are the values of the services' own fields for some of the
// demo requests, by subject (the form of those services asks for them).
var demoFields = map[string]map[string]string{
	"Installazione Acrobat Reader": {"software": "Acrobat Reader DC", "postazione": "PC-PROT-012"},
	"Richiesta regola firewall per il portale SUAP": {"tipo": "regola-firewall", "sorgente": "10.20.1.0/24", "destinazione": "suap.fornitore.example.it",
		"porta": "443", "protocollo": "tcp", "motivazione": "Accesso degli uffici al portale SUAP del fornitore."},
	"IP del server di posta in blacklist":       {"tipo": "blacklist", "motivazione": "Le mail verso i comuni vengono respinte."},
	"Configurazione casella PEC su Thunderbird": {"tipo-casella": "pec", "casella": "attivita.produttive@pec.provincia.brindisi.it"},
	"Stampante di rete inceppata":               {"dispositivo": "stampante-rete", "ubicazione": "Corridoio, primo piano", "inventario": "INV-4471"},
}

var demoNames = []string{"Giuseppe Greco", "Anna Leo", "Francesco Caliandro", "Rosa Epifani", "Cosimo Palma", "Lucia Errico",
	"Vito Martina", "Teresa Lanzilotti", "Angelo Saponaro", "Carmela Rizzo", "Donato Guadalupi", "Paola Marinazzo"}

var demoReplies = []string{
	"Abbiamo preso in carico la richiesta, un tecnico passerà in giornata.",
	"Può indicarci il numero di inventario del dispositivo?",
	"Intervento eseguito in sede: problema risolto.",
	"Abbiamo contattato il fornitore esterno, riferimento pratica in arrivo.",
}

// demoTickets generates tickets through the domain, so that they have the
// same history as real ones, across channels and statuses.
func demoTickets(ctx context.Context, a *app.App, n int, say func(string, ...any)) error {
	d := a.Desk
	r := rand.New(rand.NewPCG(2026, 11))
	var agent, requester desk.User
	if err := a.DB.View(ctx, func(tx desk.Tx) error {
		var err error
		if agent, err = tx.UserByEmail(ctx, "agente@demo.example.it"); err != nil {
			return err
		}
		requester, err = tx.UserByEmail(ctx, "utente@demo.example.it")
		return err
	}); err != nil {
		return err
	}
	staff := desk.ActorFor(agent)
	approverUser, err := userByEmail(ctx, a, "responsabile@demo.example.it")
	if err != nil {
		return err
	}
	approver := desk.ActorFor(approverUser)
	channels := []desk.Channel{desk.ChannelEmail, desk.ChannelEmail, desk.ChannelPhone, desk.ChannelPhone, desk.ChannelWeb, desk.ChannelInPerson, desk.ChannelPEC, desk.ChannelAPI}
	start := time.Now()
	// The requests arrive over the last four weeks and are worked over the
	// following hours, so that the dashboard shows a trend and real
	// response and resolution times. The clock never passes the real time.
	clk := &demoClock{cur: start.Add(-demoSpan)}
	d.SetClock(clk.now)
	defer d.SetClock(time.Now)
	for i := 0; i < n; i++ {
		clk.set(start.Add(-demoSpan + time.Duration(i)*demoSpan/time.Duration(n)))
		req := demoRequests[r.IntN(len(demoRequests))]
		in := desk.NewTicket{Subject: req.subject, Description: req.body, Service: req.service,
			Channel: channels[r.IntN(len(channels))], Priority: desk.Priorities[r.IntN(3)], Fields: demoFields[req.subject]}
		actor := staff
		if i%5 == 0 {
			actor = desk.ActorFor(requester)
			in.Channel = desk.ChannelWeb
		} else {
			name := demoNames[r.IntN(len(demoNames))]
			in.Requester = desk.Contact{Name: name, Email: emailFor(name), Phone: fmt.Sprintf("0831 56%04d", r.IntN(10000))}
		}
		t, err := d.CreateTicket(ctx, actor, in)
		if err != nil {
			return fmt.Errorf("demo ticket %d: %w", i, err)
		}
		if err := demoProgress(ctx, a, staff, approver, t, r, clk); err != nil {
			return fmt.Errorf("demo ticket %s: %w", t.Number, err)
		}
		if (i+1)%50 == 0 || i+1 == n {
			say("\rticket dimostrativi / demo tickets: %d/%d", i+1, n)
		}
	}
	say("  (%s)\n", time.Since(start).Round(time.Millisecond))
	return nil
}

func emailFor(name string) string {
	out := make([]rune, 0, len(name))
	for _, c := range name {
		switch {
		case c == ' ':
			out = append(out, '.')
		case c >= 'A' && c <= 'Z':
			out = append(out, c+'a'-'A')
		default:
			out = append(out, c)
		}
	}
	return string(out) + "@provincia.brindisi.example.it"
}

func userByEmail(ctx context.Context, a *app.App, email string) (desk.User, error) {
	var u desk.User
	err := a.DB.View(ctx, func(tx desk.Tx) error {
		var err error
		u, err = tx.UserByEmail(ctx, email)
		return err
	})
	return u, err
}

// demoProgress moves a ticket along a realistic path, through the
// workflow where the service has phases (approval by the IT manager,
// supplier calls), as people would in the UI.
func demoProgress(ctx context.Context, a *app.App, staff, approver desk.Actor, t desk.Ticket, r *rand.Rand, clk *demoClock) error {
	d, wf := a.Desk, a.Workflow
	stage := r.IntN(10)
	if stage == 0 {
		return nil // stays new
	}
	// Taken in charge within minutes to a few hours; later steps follow
	// over the next hours.
	clk.advance(time.Duration(5+r.IntN(180)) * time.Minute)
	step := func() { clk.advance(time.Duration(30+r.IntN(600)) * time.Minute) }
	if _, err := d.AddMessage(ctx, staff, t.Number, desk.NewMessage{Body: demoReplies[0]}); err != nil {
		return err
	}
	if stage >= 2 {
		if _, err := d.Update(ctx, staff, t.Number, desk.Changes{Assignee: &staff.Email}); err != nil {
			return err
		}
	}
	if stage >= 4 && t.ServiceID != 0 {
		p, err := wf.Progress(ctx, staff, t.Number)
		if err != nil {
			return err
		}
		for _, ph := range p.Phases {
			if ph.RequiresApproval {
				if _, err := wf.Approve(ctx, approver, t.Number, "Intervento autorizzato dal Responsabile Sistemi Informativi."); err != nil {
					return err
				}
				break
			}
		}
	}
	switch {
	case stage == 3:
		_, err := d.Transition(ctx, staff, t.Number, desk.TransitionInput{To: desk.StatusWaitingRequester})
		if err == nil {
			_, err = d.AddMessage(ctx, staff, t.Number, desk.NewMessage{Body: demoReplies[1]})
		}
		return err
	case stage == 4:
		_, err := d.AddMessage(ctx, staff, t.Number, desk.NewMessage{Body: demoReplies[3], Internal: true})
		if err == nil {
			_, err = wf.CallSupplier(ctx, staff, t.Number, workflow.SupplierCall{Supplier: "Assistenza fornitore esterno",
				Contact: "numero verde 800 000 000", Reference: fmt.Sprintf("RIF-%06d", r.IntN(1000000))})
		}
		return err
	case stage >= 5:
		step()
		if _, err := d.AddMessage(ctx, staff, t.Number, desk.NewMessage{Body: demoReplies[2]}); err != nil {
			return err
		}
		cat := desk.CauseCategories[r.IntN(len(desk.CauseCategories))]
		if _, err := d.Transition(ctx, staff, t.Number, desk.TransitionInput{To: desk.StatusResolved, Cause: desk.Cause{Category: cat, Text: "Causa individuata durante l'intervento."}}); err != nil {
			return err
		}
		if stage >= 7 {
			step()
			_, err := d.Transition(ctx, staff, t.Number, desk.TransitionInput{To: desk.StatusClosed})
			return err
		}
	}
	return nil
}

// demoPrefectureTickets registers a few requests in each prefecture (once),
// so that each prefecture's agent has work that the other cannot see.
func demoPrefectureTickets(ctx context.Context, a *app.App, say func(string, ...any)) error {
	done := false
	if err := a.DB.View(ctx, func(tx desk.Tx) error {
		_, err := tx.Setting(ctx, "demo_prefectures")
		done = err == nil
		if desk.IsNotFound(err) {
			return nil
		}
		return err
	}); err != nil || done {
		return err
	}
	say("richieste delle prefetture / prefectures' requests…\n")
	reqs := []struct{ org, subject, body, email, name string }{
		{"prefettura-ferrara", "BDNA - errore di accesso", "Dalla stazione appaltante non riusciamo ad accedere alla BDNA: credenziali rifiutate.", "stazione@comune-ferrara.example.it", "Giulia Bianchi"},
		{"prefettura-ferrara", "Rinnovo certificato di firma (FE)", "Il certificato digitale del funzionario scade a fine mese.", "protocollo@comune-ferrara.example.it", "Ufficio protocollo Comune di Ferrara"},
		{"prefettura-ferrara", "Informazioni nuovo service desk", "Vorremmo sapere gli orari del nuovo service desk.", "segreteria@comune-cento.example.it", "Segreteria Comune di Cento"},
		{"prefettura-bologna", "BDNA - richiesta documentazione antimafia bloccata", "La richiesta resta in stato 'in lavorazione' da dieci giorni.", "gare@comune-imola.example.it", "Ufficio gare Comune di Imola"},
		{"prefettura-bologna", "Abilitazione nuovo operatore BDNA", "Chiediamo l'abilitazione di un nuovo operatore dell'ufficio contratti.", "contratti@comune-bologna.example.it", "Ufficio contratti Comune di Bologna"},
	}
	for _, r := range reqs {
		if _, err := a.Desk.CreateTicket(ctx, desk.SystemActor, desk.NewTicket{OrgCode: r.org, Subject: r.subject, Description: r.body,
			Channel: desk.ChannelEmail, Requester: desk.Contact{Email: r.email, Name: r.name}}); err != nil {
			return fmt.Errorf("prefecture ticket: %w", err)
		}
	}
	return a.DB.Update(ctx, func(tx desk.Tx) error { return tx.SetSetting(ctx, "demo_prefectures", "1") })
}

// demoSpan is how far back the demo's requests go.
const demoSpan = 28 * 24 * time.Hour

// demoClock is the desk's clock while the demo registers its tickets: it
// stands still between steps and never passes the real time.
type demoClock struct{ cur time.Time }

func (c *demoClock) now() time.Time { return c.cur }

func (c *demoClock) set(t time.Time) {
	if now := time.Now(); t.After(now) {
		t = now
	}
	c.cur = t
}

func (c *demoClock) advance(d time.Duration) { c.set(c.cur.Add(d)) }
