package web

import (
	"fmt"

	"github.com/sportello/sportello/internal/desk"
)

// The interface speaks Italian first and English second. The catalogue is
// a plain map from key to both texts; a test checks that every key used by
// a template or by this package exists, in both languages.

type texts struct{ it, en string }

// translate returns the text of key in lang, formatted with args. A missing
// key shows as ⟦key⟧ (and fails the tests).
func translate(lang, key string, args ...any) string {
	t, ok := catalogue[key]
	if !ok {
		return "⟦" + key + "⟧"
	}
	s := t.it
	if lang == "en" && t.en != "" {
		s = t.en
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// formError turns a domain error the user can fix into a message by the
// field it concerns (the domain's field name, "" for the whole form). ok
// is false for errors that are not about the input (not found, internal),
// which the caller shows as an error page instead.
func formError(lang string, err error) (field, msg string, ok bool) {
	var e *desk.Error
	if !asDeskError(err, &e) {
		return "", "", false
	}
	switch e.Code {
	case desk.EInvalid:
		key := "err.field." + e.Field
		if _, ok := catalogue[key]; !ok {
			key = "err.invalid"
		}
		return e.Field, translate(lang, key), true
	case desk.ETooLarge:
		return "attachments", translate(lang, "err.too_large"), true
	case desk.EConflict:
		key := "err.conflict." + e.Field
		if _, ok := catalogue[key]; e.Field == "" || !ok {
			key = "err.conflict"
		}
		return e.Field, translate(lang, key), true
	case desk.EForbidden:
		return e.Field, translate(lang, "err.forbidden"), true
	}
	return "", "", false
}

func asDeskError(err error, target **desk.Error) bool {
	for err != nil {
		if e, ok := err.(*desk.Error); ok {
			*target = e
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// catalogueKeys lists the keys (for tests).
func catalogueKeys() []string {
	out := make([]string, 0, len(catalogue))
	for k := range catalogue {
		out = append(out, k)
	}
	return out
}

var catalogue = map[string]texts{
	// Layout.
	"layout.skip":           {"Vai al contenuto principale", "Skip to main content"},
	"layout.switch":         {"English", "Italiano"},
	"layout.login":          {"Accedi", "Log in"},
	"layout.logout":         {"Esci", "Log out"},
	"layout.nav":            {"Navigazione principale", "Main navigation"},
	"layout.tagline":        {"Assistenza tecnica — punto unico di accesso", "Technical assistance — single point of access"},
	"layout.assets_missing": {"Gli stili grafici non sono stati installati (eseguire make assets).", "The style sheets are not installed (run make assets)."},
	"nav.home":              {"Home", "Home"},
	"nav.workspace":         {"Scrivania", "Workspace"},
	"nav.call":              {"Registra chiamata", "Register a call"},
	"nav.my_requests":       {"Le mie richieste", "My requests"},
	"nav.new_request":       {"Nuova richiesta", "New request"},
	"footer.accessibility":  {"Dichiarazione di accessibilità", "Accessibility statement"},
	"footer.feedback":       {"Segnala un problema di accessibilità", "Report an accessibility problem"},
	"footer.transparency":   {"Catalogo dei servizi (trasparenza)", "Service catalogue (transparency)"},
	"breadcrumb":            {"Percorso di navigazione", "Breadcrumb"},
	"pager.label":           {"Pagine", "Pages"},
	"pager.first":           {"« Torna ai più recenti", "« Back to the newest"},
	"pager.next":            {"Successivi »", "Older »"},
	"value.none":            {"—", "—"},
	"value.unassigned":      {"Non assegnato", "Unassigned"},
	"form.errors":           {"Correggi questi errori:", "Please correct these errors:"},
	"form.email.invalid":    {"Indica un indirizzo e-mail valido, ad esempio nome@ente.it.", "Enter a valid e-mail address, such as name@example.org."},

	// Errors.
	"error.generic.title":       {"Si è verificato un problema", "Something went wrong"},
	"error.generic":             {"Non è stato possibile completare la richiesta. Riprova più tardi.", "The request could not be completed. Please try again later."},
	"error.400.title":           {"Richiesta non valida", "Bad request"},
	"error.400":                 {"La richiesta non è valida. Controlla i dati e riprova.", "The request is not valid. Check the data and try again."},
	"error.403.title":           {"Accesso non consentito", "Access denied"},
	"error.403":                 {"Non hai i permessi per aprire questa pagina.", "You are not allowed to open this page."},
	"error.404.title":           {"Pagina non trovata", "Page not found"},
	"error.404":                 {"La pagina o il ticket che cerchi non esiste, oppure non hai i permessi per vederlo.", "The page or ticket you are looking for does not exist, or you may not see it."},
	"error.409.title":           {"Operazione non possibile", "Not possible"},
	"error.409":                 {"L'operazione non è possibile nello stato attuale del ticket.", "This is not possible in the ticket's current state."},
	"error.413.title":           {"File troppo grande", "File too large"},
	"error.413":                 {"I dati inviati superano la dimensione massima consentita.", "What you sent is larger than allowed."},
	"error.500.title":           {"Errore interno", "Internal error"},
	"error.500":                 {"Si è verificato un errore interno. Se il problema persiste, comunica al servizio il codice qui sotto.", "An internal error occurred. If it persists, give the desk the code below."},
	"error.crossorigin":         {"La richiesta proviene da un altro sito ed è stata bloccata per sicurezza. Torna alla pagina e riprova.", "The request came from another site and was blocked for safety. Go back to the page and try again."},
	"error.id":                  {"Codice dell'errore:", "Error code:"},
	"error.home":                {"Torna alla home", "Back to the home page"},
	"err.invalid":               {"Controlla i dati inseriti.", "Check the data you entered."},
	"err.too_large":             {"Gli allegati superano la dimensione massima consentita.", "The attachments are larger than allowed."},
	"err.conflict":              {"L'operazione non è possibile nello stato attuale del ticket.", "This is not possible in the ticket's current state."},
	"err.conflict.service":      {"Il servizio non si può più cambiare: sulle fasi del servizio attuale c'è già lavoro registrato (una fase completata, un'approvazione o una chiamata al fornitore). Chiudi il ticket e aprine uno nuovo per l'altro servizio.", "The service can no longer change: work is recorded on the phases of the current service (a phase completed, an approval or a supplier call). Close the ticket and open a new one for the other service."},
	"err.forbidden":             {"Non hai i permessi per questa operazione.", "You are not allowed to do this."},
	"err.field.subject":         {"Indica l'oggetto (al massimo 300 caratteri).", "Enter a subject (at most 300 characters)."},
	"err.field.description":     {"La descrizione è troppo lunga.", "The description is too long."},
	"err.field.body":            {"Scrivi un messaggio o allega un file.", "Write a message or attach a file."},
	"err.field.requester.email": {"L'indirizzo e-mail non è valido.", "The e-mail address is not valid."},
	"err.field.service":         {"Il servizio scelto non esiste o non è attivo.", "The chosen service does not exist or is not active."},
	"err.field.queue":           {"La coda scelta non esiste.", "The chosen queue does not exist."},
	"err.field.assignee":        {"La persona scelta non è un operatore di questo ente.", "That person is not an agent of this organisation."},
	"err.field.priority":        {"Priorità non valida.", "Invalid priority."},
	"err.field.channel":         {"Canale non valido.", "Invalid channel."},
	"err.field.to":              {"Stato non valido.", "Invalid status."},
	"err.field.cause.category":  {"Categoria della causa non valida.", "Invalid cause category."},
	"err.field.cause.text":      {"La descrizione della causa è troppo lunga.", "The cause description is too long."},
	"err.field.reason":          {"La motivazione è troppo lunga.", "The reason is too long."},
	"err.field.ticket":          {"Il ticket indicato non esiste o non può essere collegato.", "That ticket does not exist or cannot be linked."},
	"err.field.target":          {"Il ticket indicato non esiste.", "That ticket does not exist."},
	"err.field.kind":            {"Tipo di collegamento non valido.", "Invalid link type."},
	"err.field.cursor":          {"La pagina richiesta non è più disponibile: riparti dai più recenti.", "That page is no longer available: start again from the newest."},
	"err.field.status":          {"Stato non valido.", "Invalid status."},

	// Identifiers.
	"status.new":               {"Nuovo", "New"},
	"status.open":              {"In lavorazione", "Open"},
	"status.waiting_requester": {"In attesa del richiedente", "Waiting for requester"},
	"status.waiting_supplier":  {"In attesa del fornitore", "Waiting for supplier"},
	"status.resolved":          {"Risolto", "Resolved"},
	"status.closed":            {"Chiuso", "Closed"},
	"status.cancelled":         {"Annullato", "Cancelled"},
	"status.redirected":        {"Inoltrato ad altro ufficio", "Redirected"},
	"priority.low":             {"Bassa", "Low"},
	"priority.normal":          {"Normale", "Normal"},
	"priority.high":            {"Alta", "High"},
	"priority.urgent":          {"Urgente", "Urgent"},
	"channel.web":              {"Portale", "Portal"},
	"channel.email":            {"E-mail", "E-mail"},
	"channel.pec":              {"PEC", "PEC"},
	"channel.phone":            {"Telefono", "Phone"},
	"channel.in_person":        {"Di persona", "In person"},
	"channel.api":              {"API", "API"},
	"channel.":                 {"—", "—"},
	"link.related":             {"Correlato", "Related"},
	"link.duplicate":           {"Duplicato di", "Duplicate of"},
	"link.parent":              {"Ticket padre", "Parent"},
	"link.follow_up":           {"Seguito di", "Follow-up of"},
	"link.merged":              {"Unito", "Merged"},
	"cause.hardware":           {"Hardware", "Hardware"},
	"cause.software":           {"Software", "Software"},
	"cause.network":            {"Rete", "Network"},
	"cause.account":            {"Utenza e credenziali", "Account and credentials"},
	"cause.configuration":      {"Configurazione", "Configuration"},
	"cause.user_error":         {"Errore d'uso", "User error"},
	"cause.supplier":           {"Fornitore esterno", "External supplier"},
	"cause.other":              {"Altro", "Other"},
	"cause.":                   {"—", "—"},
	"level.0":                  {"—", "—"},
	"level.1":                  {"Primo livello", "First level"},
	"level.2":                  {"Secondo livello", "Second level"},

	// History events.
	"event.created":     {"Richiesta registrata (canale: %s)", "Request registered (channel: %s)"},
	"event.status":      {"Stato: da «%s» a «%s»", "Status: from “%s” to “%s”"},
	"event.priority":    {"Priorità: da «%s» a «%s»", "Priority: from “%s” to “%s”"},
	"event.level":       {"Livello: da «%s» a «%s»", "Level: from “%s” to “%s”"},
	"event.assignee":    {"Assegnatario: da %s a %s", "Assignee: from %s to %s"},
	"event.queue":       {"Coda: da %s a %s", "Queue: from %s to %s"},
	"event.service":     {"Servizio: da %s a %s", "Service: from %s to %s"},
	"event.team":        {"Gruppo: da %s a %s", "Team: from %s to %s"},
	"event.tags":        {"Etichette: da %s a %s", "Tags: from %s to %s"},
	"event.subject":     {"Oggetto: da «%s» a «%s»", "Subject: from “%s” to “%s”"},
	"event.cause":       {"Causa individuata: %s", "Cause identified: %s"},
	"event.reason":      {"Motivazione: %s", "Reason: %s"},
	"event.link":        {"Collegato: %s %s", "Linked: %s %s"},
	"event.merged_into": {"Unito al ticket %s", "Merged into ticket %s"},
	"event.merged_from": {"Ha ricevuto i messaggi del ticket %s", "Received the messages of ticket %s"},
	"event.other":       {"%s: da %s a %s", "%s: from %s to %s"},

	// Home.
	"home.title":         {"Assistenza", "Help desk"},
	"home.heading":       {"Benvenuto nel %s", "Welcome to %s"},
	"home.lead":          {"Il punto unico di accesso per le richieste di assistenza tecnica.", "The single point of access for technical assistance requests."},
	"home.single_point":  {"Ogni richiesta viene registrata con un numero, le cause dei problemi vengono individuate e si avviano le azioni per ripristinare il servizio. Puoi seguire lo stato delle tue richieste da questo sito.", "Every request is registered with a number; the causes of problems are identified and work starts to restore the service. You can follow your requests on this site."},
	"home.channels":      {"Come chiedere assistenza", "How to ask for help"},
	"home.web":           {"Sul sito", "On this site"},
	"home.web.text":      {"Apri una richiesta scegliendo il servizio e segui le risposte.", "Open a request by choosing the service, and follow the answers."},
	"home.web.login":     {"Accedi per aprire una richiesta", "Log in to open a request"},
	"home.email":         {"Per e-mail", "By e-mail"},
	"home.email.text":    {"Scrivi a", "Write to"},
	"home.email.subject": {"Nell'oggetto indica l'applicativo: %s.", "Put the application in the subject: %s."},
	"home.email.none":    {"L'indirizzo e-mail del servizio sarà pubblicato qui.", "The desk's e-mail address will be published here."},
	"home.pec":           {"Per la posta certificata:", "For certified mail (PEC):"},
	"home.phone":         {"Per telefono", "By phone"},
	"home.phone.none":    {"I numeri di telefono del servizio saranno pubblicati qui.", "The desk's phone numbers will be published here."},
	"home.manual":        {"Manuale utente", "User manual"},
	"home.manual.text":   {"Le istruzioni operative per usare il servizio.", "How to use the service, step by step."},
	"home.manual.link":   {"Consulta il manuale utente", "Read the user manual"},
	"home.manual.none":   {"Il manuale utente sarà pubblicato qui.", "The user manual will be published here."},
	"home.how":           {"Come funziona", "How it works"},
	"home.how.1":         {"Registriamo la richiesta e ti comunichiamo il numero.", "We register your request and tell you its number."},
	"home.how.2":         {"Un operatore la valuta e, se serve, ti chiede altre informazioni.", "An agent assesses it and asks you for more information if needed."},
	"home.how.3":         {"Individuiamo la causa e interveniamo, anche con il fornitore.", "We find the cause and act, with the supplier if needed."},
	"home.how.4":         {"Ti chiediamo di confermare che il problema è risolto.", "We ask you to confirm that the problem is solved."},
	"home.logged_out":    {"Sei uscito. A presto.", "You have logged out."},

	// Log-in.
	"login.title":    {"Accedi", "Log in"},
	"login.heading":  {"Accedi al servizio", "Log in"},
	"login.lead":     {"Usa l'indirizzo e-mail e la password del tuo account.", "Use your account's e-mail address and password."},
	"login.email":    {"Indirizzo e-mail", "E-mail address"},
	"login.password": {"Password", "Password"},
	"login.submit":   {"Accedi", "Log in"},
	"login.failed":   {"Indirizzo e-mail o password non corretti.", "Wrong e-mail address or password."},
	"login.throttled": {"Troppi tentativi di accesso non riusciti: per sicurezza l'accesso è sospeso. Riprova tra %d minuti.",
		"Too many failed log-in attempts: logging in is suspended for safety. Try again in %d minutes."},
	"logout.title":   {"Esci", "Log out"},
	"logout.heading": {"Vuoi uscire?", "Do you want to log out?"},
	"logout.cancel":  {"Annulla", "Cancel"},

	// Accessibility statement.
	"a11y.title":            {"Dichiarazione di accessibilità", "Accessibility statement"},
	"a11y.heading":          {"Dichiarazione di accessibilità", "Accessibility statement"},
	"a11y.lead":             {"L'amministrazione si impegna a rendere accessibile %s, in conformità alla legge 9 gennaio 2004, n. 4 e alle Linee guida AgID sull'accessibilità degli strumenti informatici.", "The administration is committed to making %s accessible, under Italian Law 4/2004 and AgID's accessibility guidelines."},
	"a11y.status":           {"Stato di conformità", "Compliance status"},
	"a11y.status.text":      {"Questo sito è parzialmente conforme ai requisiti della norma UNI CEI EN 301549 (WCAG 2.1 livello AA), per i contenuti elencati sotto.", "This site partially complies with EN 301 549 (WCAG 2.1 level AA), because of the content listed below."},
	"a11y.limits":           {"Contenuti non accessibili", "Content that is not accessible"},
	"a11y.limits.mail":      {"I messaggi di posta elettronica in formato HTML sono mostrati come li ha scritti il mittente, che ne determina l'accessibilità.", "HTML e-mail messages are shown as their sender wrote them; their accessibility depends on the sender."},
	"a11y.limits.files":     {"Gli allegati inviati dagli utenti (documenti, immagini) possono non essere accessibili.", "Files attached by users (documents, images) may not be accessible."},
	"a11y.limits.shortcuts": {"Nella scrivania degli operatori alcune scorciatoie da tastiera usano un solo carattere (/, j, k); non sono attive mentre si scrive in un campo.", "The agents' workspace has single-key shortcuts (/, j, k); they do not act while typing in a field."},
	"a11y.method":           {"Redazione della dichiarazione", "How this statement was prepared"},
	"a11y.method.text":      {"La dichiarazione è stata redatta con un'autovalutazione: verifiche automatiche con axe-core su ogni pagina a ogni modifica del software e prove manuali con la sola tastiera.", "By self-assessment: automatic axe-core checks of every page at every change of the software, and manual keyboard-only tests."},
	"a11y.enforcement":      {"Procedura di attuazione", "Enforcement procedure"},
	"a11y.enforcement.text": {"Se la risposta alla tua segnalazione è insoddisfacente o non arriva entro 30 giorni, puoi rivolgerti al Difensore civico per il digitale presso AgID:", "If the answer to your report is unsatisfactory or does not arrive within 30 days, you can turn to AgID's Digital Ombudsman:"},
	"a11y.feedback":         {"Segnala un problema di accessibilità", "Report an accessibility problem"},
	"a11y.feedback.text":    {"Se incontri un ostacolo nell'uso del sito, descrivilo qui: la segnalazione viene registrata come una richiesta e riceverai una risposta.", "If something on this site is hard to use, describe it here: your report is registered as a request and you will get an answer."},
	"a11y.name":             {"Nome e cognome", "Name"},
	"a11y.email":            {"Indirizzo e-mail", "E-mail address"},
	"a11y.page":             {"Pagina interessata", "Page concerned"},
	"a11y.page.hint":        {"Facoltativo: l'indirizzo o il titolo della pagina.", "Optional: the address or title of the page."},
	"a11y.text":             {"Descrizione del problema", "Describe the problem"},
	"a11y.text.required":    {"Descrivi il problema che hai incontrato.", "Describe the problem you met."},
	"a11y.submit":           {"Invia la segnalazione", "Send the report"},
	"a11y.sent":             {"Grazie: la segnalazione è stata registrata. Ti risponderemo all'indirizzo indicato.", "Thank you: your report has been registered. We will answer at the address you gave."},
	"a11y.date":             {"Dichiarazione redatta il 1° marzo 2026 e aggiornata a ogni rilascio del software.", "Statement prepared on 1 March 2026 and updated with every release."},
	"a11y.ticket.subject":   {"Segnalazione di accessibilità", "Accessibility report"},
	"a11y.ticket.page":      {"Pagina: %s", "Page: %s"},

	// Portal.
	"requests.title":           {"Le mie richieste", "My requests"},
	"requests.heading":         {"Le mie richieste", "My requests"},
	"requests.caption":         {"Le tue richieste, dalla più recente", "Your requests, newest first"},
	"requests.empty":           {"Non hai ancora aperto richieste.", "You have not opened any request yet."},
	"requests.confirm_hint":    {"conferma richiesta", "please confirm"},
	"new.title":                {"Nuova richiesta", "New request"},
	"new.heading":              {"Nuova richiesta", "New request"},
	"new.choose":               {"Scegli il servizio per cui ti serve assistenza.", "Choose the service you need help with."},
	"new.no_service":           {"Non so quale servizio scegliere", "I don't know which service"},
	"new.form_heading":         {"Descrivi la richiesta", "Describe your request"},
	"new.for_service":          {"Servizio: %s", "Service: %s"},
	"new.for_none":             {"Un operatore assegnerà la richiesta al servizio giusto.", "An agent will assign the request to the right service."},
	"new.subject.hint":         {"In poche parole, ad esempio «Stampante del secondo piano non stampa».", "In a few words, e.g. “Second-floor printer does not print”."},
	"new.description.hint":     {"Cosa è successo, da quando, eventuali messaggi di errore.", "What happened, since when, any error message."},
	"new.phone.hint":           {"Facoltativo: un numero per ricontattarti.", "Optional: a number to call you back."},
	"new.submit":               {"Invia la richiesta", "Send the request"},
	"new.change_service":       {"Cambia servizio", "Change service"},
	"new.created":              {"Richiesta registrata con il numero %s.", "Request registered with number %s."},
	"field.subject":            {"Oggetto", "Subject"},
	"field.description":        {"Descrizione", "Description"},
	"field.phone":              {"Telefono", "Phone"},
	"field.email":              {"E-mail", "E-mail"},
	"field.name":               {"Nome e cognome", "Name"},
	"field.message":            {"Messaggio", "Message"},
	"field.attachments":        {"Allegati", "Attachments"},
	"field.attachments.hint":   {"Facoltativi; al massimo %s in tutto.", "Optional; at most %s in all."},
	"request.description":      {"Richiesta", "Request"},
	"request.resolved.heading": {"Il problema è risolto?", "Is the problem solved?"},
	"request.resolved.text":    {"Il servizio ritiene di aver risolto il problema. Confermalo per chiudere la richiesta, oppure riaprila spiegando cosa non va.", "The desk believes the problem is solved. Confirm to close the request, or reopen it and say what is wrong."},
	"request.confirm":          {"Sì, confermo: chiudi la richiesta", "Yes, close the request"},
	"request.reopen":           {"No, riapri la richiesta", "No, reopen the request"},
	"request.reopen.reason":    {"Cosa non funziona ancora? (facoltativo)", "What still does not work? (optional)"},
	"request.waiting_you":      {"Il servizio attende una tua risposta: leggi l'ultimo messaggio e rispondi qui sotto.", "The desk is waiting for your answer: read the last message and reply below."},
	"request.reply.heading":    {"Rispondi", "Reply"},
	"request.reply.submit":     {"Invia il messaggio", "Send the message"},
	"request.final":            {"Questa richiesta è conclusa. Per un nuovo problema apri una nuova richiesta:", "This request is over. For a new problem open a new request:"},
	"request.replied":          {"Messaggio inviato.", "Message sent."},
	"request.confirmed":        {"Grazie per la conferma: la richiesta è chiusa.", "Thank you for confirming: the request is closed."},
	"request.reopened":         {"La richiesta è stata riaperta.", "The request has been reopened."},
	"timeline.heading":         {"Cronologia", "History"},
	"timeline.label":           {"Messaggi ed eventi, dal più vecchio", "Messages and events, oldest first"},
	"timeline.note":            {"Nota interna", "Internal note"},
	"timeline.reply":           {"Risposta", "Reply"},
	"timeline.system":          {"Messaggio automatico", "Automatic message"},
	"timeline.incoming":        {"Dal richiedente", "From requester"},
	"timeline.empty":           {"Ancora nessun messaggio.", "No messages yet."},
	"live.changed":             {"Il ticket è stato aggiornato.", "The ticket has been updated."},
	"live.reload":              {"Ricarica la pagina", "Reload the page"},

	// Workspace.
	"ws.title":           {"Scrivania", "Workspace"},
	"ws.heading":         {"Scrivania", "Workspace"},
	"ws.in_person":       {"Registra visita allo sportello", "Register a walk-in"},
	"ws.views":           {"Viste", "Views"},
	"ws.view.open":       {"Tutti i ticket aperti", "All open tickets"},
	"ws.view.mine":       {"Assegnati a me", "Assigned to me"},
	"ws.view.unassigned": {"Non assegnati", "Unassigned"},
	"ws.view.all":        {"Tutti, anche chiusi", "All, including closed"},
	"ws.queues":          {"Code", "Queues"},
	"ws.queue.open":      {"ticket aperti", "open tickets"},
	"ws.filters":         {"Cerca e filtra i ticket", "Search and filter tickets"},
	"ws.search":          {"Cerca", "Search"},
	"ws.search.hint":     {"Parole dell'oggetto, della descrizione o dei messaggi; scorciatoia: /", "Words of the subject, description or messages; shortcut: /"},
	"ws.status.open":     {"Aperti", "Open"},
	"ws.status.all":      {"Tutti", "All"},
	"ws.any":             {"Qualsiasi", "Any"},
	"ws.assignee.me":     {"Io", "Me"},
	"ws.assignee.none":   {"Nessuno", "Nobody"},
	"ws.filter":          {"Applica", "Apply"},
	"ws.reset":           {"Azzera i filtri", "Clear filters"},
	"ws.keys":            {"Tastiera: j e k (o frecce) per spostarsi tra i ticket, Invio per aprirli.", "Keyboard: j and k (or arrow keys) to move between tickets, Enter to open."},
	"ws.empty":           {"Nessun ticket corrisponde ai filtri.", "No ticket matches the filters."},
	"col.number":         {"Numero", "Number"},
	"col.subject":        {"Oggetto", "Subject"},
	"col.service":        {"Servizio", "Service"},
	"col.status":         {"Stato", "Status"},
	"col.updated":        {"Aggiornato", "Updated"},
	"col.created":        {"Aperto il", "Opened"},
	"col.channel":        {"Canale", "Channel"},
	"col.requester":      {"Richiedente", "Requester"},
	"col.priority":       {"Priorità", "Priority"},
	"col.queue":          {"Coda", "Queue"},
	"col.assignee":       {"Assegnatario", "Assignee"},
	"col.organisation":   {"Ente", "Organisation"},
	"col.team":           {"Gruppo", "Team"},
	"col.tags":           {"Etichette", "Tags"},
	"col.cause":          {"Causa", "Cause"},

	// Ticket page.
	"ticket.merged_badge":    {"Unito a un altro ticket", "Merged into another ticket"},
	"ticket.reply.heading":   {"Rispondi o aggiungi una nota", "Reply or add a note"},
	"ticket.reply.hint":      {"La risposta è inviata al richiedente (%s); la nota interna resta visibile solo agli operatori.", "A reply goes to the requester (%s); an internal note is seen by staff only."},
	"ticket.reply.submit":    {"Invia la risposta", "Send reply"},
	"ticket.note.submit":     {"Aggiungi nota interna", "Add internal note"},
	"ticket.canned":          {"Risposta predefinita", "Canned answer"},
	"ticket.canned.choose":   {"Scegli…", "Choose…"},
	"ticket.canned.use":      {"Inserisci", "Insert"},
	"ticket.details":         {"Dettagli", "Details"},
	"ticket.links":           {"Ticket collegati", "Linked tickets"},
	"ticket.assign":          {"Assegnazione", "Assignment"},
	"ticket.assign.me":       {"Prendi in carico", "Take it"},
	"ticket.assign.to":       {"Assegna a", "Assign to"},
	"ticket.assign.email":    {"oppure l'e-mail dell'operatore", "or the agent's e-mail"},
	"ticket.assign.submit":   {"Assegna", "Assign"},
	"ticket.status":          {"Stato", "Status"},
	"ticket.status.to":       {"Nuovo stato", "New status"},
	"ticket.status.submit":   {"Cambia stato", "Change status"},
	"ticket.status.none":     {"Nessun cambio di stato possibile.", "No status change is possible."},
	"ticket.cause":           {"Causa (alla risoluzione)", "Cause (when resolving)"},
	"ticket.cause.hint":      {"Indica la causa individuata quando risolvi il ticket.", "Record the cause you found when you resolve the ticket."},
	"ticket.cause.category":  {"Categoria", "Category"},
	"ticket.cause.text":      {"Descrizione della causa", "Cause description"},
	"ticket.reason":          {"Motivazione (facoltativa)", "Reason (optional)"},
	"ticket.fields":          {"Priorità, coda e servizio", "Priority, queue and service"},
	"ticket.fields.submit":   {"Salva", "Save"},
	"ticket.escalate":        {"Passa al secondo livello", "Escalate to second level"},
	"ticket.escalate.reason": {"Motivazione", "Reason"},
	"ticket.escalate.submit": {"Passa al secondo livello", "Escalate"},
	"ticket.link":            {"Collega o unisci", "Link or merge"},
	"ticket.link.kind":       {"Tipo di collegamento", "Link type"},
	"ticket.link.other":      {"Numero del ticket da collegare", "Number of the ticket to link"},
	"ticket.link.submit":     {"Collega", "Link"},
	"ticket.number.hint":     {"Nel formato anno-numero, ad esempio 2026-000123.", "As year-number, e.g. 2026-000123."},
	"ticket.merge":           {"Unisci a un altro ticket", "Merge into another ticket"},
	"ticket.merge.target":    {"Numero del ticket che riceve i messaggi", "Number of the ticket that receives the messages"},
	"ticket.merge.hint":      {"Questo ticket viene chiuso e i suoi messaggi passano all'altro.", "This ticket is closed and its messages move to the other."},
	"ticket.merge.confirm":   {"Unire questo ticket all'altro? L'operazione non si può annullare.", "Merge this ticket into the other? This cannot be undone."},
	"ticket.merge.submit":    {"Unisci", "Merge"},
	"ticket.replied":         {"Risposta inviata sul ticket %s.", "Reply sent on ticket %s."},
	"ticket.noted":           {"Nota interna aggiunta al ticket %s.", "Internal note added to ticket %s."},
	"ticket.status_changed":  {"Stato del ticket %s aggiornato.", "Status of ticket %s changed."},
	"ticket.updated":         {"Ticket %s aggiornato.", "Ticket %s updated."},
	"ticket.assigned":        {"Assegnazione del ticket %s aggiornata.", "Assignment of ticket %s changed."},
	"ticket.escalated":       {"Ticket %s passato al secondo livello.", "Ticket %s escalated to second level."},
	"ticket.linked":          {"Ticket %s collegato.", "Ticket %s linked."},
	"ticket.merged":          {"Ticket %s unito al ticket %s.", "Ticket %s merged into ticket %s."},

	// Phone and in-person registration.
	"call.title":           {"Registra una chiamata", "Register a call"},
	"call.heading":         {"Registra una chiamata o una visita", "Register a call or a visit"},
	"call.lead":            {"Cerca chi chiama, scegli il servizio, scrivi l'oggetto e registra: il ticket riceve subito il suo numero.", "Find the caller, choose the service, write the subject and register: the ticket gets its number at once."},
	"call.who":             {"Chi chiama", "Caller"},
	"call.what":            {"Richiesta", "Request"},
	"call.lookup":          {"Cerca per telefono, e-mail o nome", "Search by phone, e-mail or name"},
	"call.lookup.hint":     {"I risultati compaiono mentre scrivi (almeno 3 caratteri).", "Results appear as you type (at least 3 characters)."},
	"call.lookup.submit":   {"Cerca", "Search"},
	"call.lookup.short":    {"Scrivi almeno 3 caratteri.", "Type at least 3 characters."},
	"call.lookup.none":     {"Nessuna persona trovata: inserisci i dati qui sotto.", "Nobody found: enter the caller's details below."},
	"call.lookup.found":    {"Persone trovate: %d. Scegli chi chiama.", "People found: %d. Choose the caller."},
	"call.lookup.other":    {"Nessuna di queste persone", "None of these people"},
	"call.new_person":      {"Persona non in elenco", "Caller not listed"},
	"call.new_person.hint": {"Con l'e-mail la persona viene registrata e potrà seguire la richiesta dal portale.", "With an e-mail address the person is registered and can follow the request on the portal."},
	"call.service.none":    {"Da assegnare (smistamento)", "To be assigned (triage)"},
	"call.submit":          {"Registra il ticket", "Register the ticket"},
	"call.caller.required": {"Scegli chi chiama tra i risultati o inserisci almeno nome, telefono o e-mail.", "Pick the caller from the results or enter at least a name, phone or e-mail."},
	"call.created":         {"Ticket %s registrato.", "Ticket %s registered."},
	// Phases, approvals, supplier calls (package workflow).
	"phase.heading":                {"Fasi del servizio", "Service phases"},
	"phase.state.pending":          {"Da avviare", "Pending"},
	"phase.state.active":           {"In corso", "In progress"},
	"phase.state.done":             {"Completata", "Done"},
	"phase.state.skipped":          {"Non necessaria", "Not needed"},
	"phase.state.rejected":         {"Respinta", "Rejected"},
	"phase.needs_approval":         {"richiede l'approvazione del responsabile", "needs the manager's approval"},
	"phase.calls":                  {"Chiamate al fornitore", "Supplier calls"},
	"phase.reference":              {"riferimento", "reference"},
	"phase.call_open":              {"in attesa del fornitore", "waiting for the supplier"},
	"phase.call_resolved":          {"risolta il", "solved on"},
	"phase.start":                  {"Avvia le fasi del servizio", "Start the service's phases"},
	"phase.gate":                   {"«%s» richiede l'approvazione del responsabile.", "“%s” needs the manager's approval."},
	"phase.gate.wait":              {"In attesa della decisione di un responsabile (ruolo approvatore).", "Waiting for a manager's decision (approver role)."},
	"phase.decision_reason":        {"Motivazione della decisione", "Reason for the decision"},
	"phase.approve":                {"Approva", "Approve"},
	"phase.reject":                 {"Respingi", "Reject"},
	"phase.note":                   {"Esito della fase «%s» (facoltativo)", "Outcome of the phase “%s” (optional)"},
	"phase.complete":               {"Completa la fase", "Complete the phase"},
	"phase.skip":                   {"La fase non serve?", "Phase not needed?"},
	"phase.skip_reason":            {"Perché non serve", "Why it is not needed"},
	"phase.skip.submit":            {"Segna come non necessaria", "Mark as not needed"},
	"phase.verification_wait":      {"Verifica con il richiedente: risolvi il ticket (Stato → Risolto) per chiedergli di confermare.", "Verification with the requester: resolve the ticket (Status → Resolved) to ask them to confirm."},
	"phase.resolution":             {"Soluzione del fornitore %s", "Resolution by supplier %s"},
	"phase.resolution.submit":      {"Registra la soluzione del fornitore", "Record the supplier's resolution"},
	"phase.call_supplier":          {"Chiama il fornitore", "Call the supplier"},
	"phase.call_supplier.submit":   {"Registra la chiamata", "Record the call"},
	"phase.supplier":               {"Fornitore", "Supplier"},
	"phase.supplier_ref":           {"Riferimento del fornitore", "Supplier's reference"},
	"phase.supplier_contact":       {"Contatto", "Contact"},
	"phase.supplier_notes":         {"Note", "Notes"},
	"phase.started":                {"Fasi avviate sul ticket %s.", "Phases started on ticket %s."},
	"phase.completed":              {"Fase completata sul ticket %s.", "Phase completed on ticket %s."},
	"phase.skipped":                {"Fase segnata come non necessaria sul ticket %s.", "Phase marked as not needed on ticket %s."},
	"phase.approved":               {"Richiesta %s approvata.", "Request %s approved."},
	"phase.rejected":               {"Richiesta %s respinta.", "Request %s rejected."},
	"phase.supplier_called":        {"Chiamata al fornitore registrata sul ticket %s.", "Supplier call recorded on ticket %s."},
	"phase.supplier_resolved":      {"Soluzione del fornitore registrata sul ticket %s.", "Supplier's resolution recorded on ticket %s."},
	"event.phase":                  {"Fase: da «%s» a «%s»", "Phase: from “%s” to “%s”"},
	"event.phase_start":            {"Fase avviata: «%s»", "Phase started: “%s”"},
	"event.phase_end":              {"Fasi concluse (ultima: «%s»)", "Phases finished (last: “%s”)"},
	"event.phase_skipped":          {"Fase non necessaria: «%s»", "Phase not needed: “%s”"},
	"event.approval.approved":      {"Approvazione: «%s» approvata", "Approval: “%s” approved"},
	"event.approval.rejected":      {"Approvazione: «%s» respinta", "Approval: “%s” rejected"},
	"event.supplier_call":          {"Chiamato il fornitore: %s", "Supplier called: %s"},
	"event.supplier_resolved":      {"Il fornitore ha risolto: %s", "Supplier resolved: %s"},
	"event.verification.requested": {"Chiesta la verifica al richiedente", "Requester asked to verify"},
	"event.verification.confirmed": {"Il richiedente ha confermato la soluzione", "Requester confirmed the fix"},
	"event.verification.reopened":  {"Il richiedente ha riaperto la richiesta", "Requester reopened the request"},
	"event.verification.silent":    {"Chiusura automatica: nessuna risposta del richiedente", "Closed automatically: no answer from the requester"},
	"event.verification.":          {"Verifica", "Verification"},
	"err.field.supplier":           {"Indica il fornitore.", "Enter the supplier."},
	"err.field.contact":            {"Il contatto è troppo lungo.", "The contact is too long."},
	"err.field.reference":          {"Il riferimento è troppo lungo.", "The reference is too long."},
	"err.field.notes":              {"Le note sono troppo lunghe.", "The notes are too long."},
	"err.field.note":               {"La nota è troppo lunga.", "The note is too long."},
	"err.field.resolution":         {"La soluzione è troppo lunga.", "The resolution is too long."},

	// Web UI I (issue 6): saved views and orders, service fields, received
	// e-mail HTML, the approvers' list.
	"nav.approvals":           {"Da approvare", "To approve"},
	"approvals.title":         {"In attesa della mia approvazione", "Waiting for my approval"},
	"approvals.lead":          {"Richieste la cui fase corrente attende l'accettazione e la conferma del responsabile, dalla più vecchia.", "Requests whose current phase waits for the manager's acceptance and confirmation, oldest first."},
	"approvals.caption":       {"Richieste da approvare", "Requests to approve"},
	"approvals.empty":         {"Nessuna richiesta attende la tua approvazione.", "No request is waiting for your approval."},
	"approvals.more":          {"Sono mostrate le prime %d: approva o respingi queste per vedere le altre.", "The first %d are shown: approve or reject these to see the others."},
	"approvals.none_workflow": {"Le fasi dei servizi non sono attive su questa installazione.", "Service phases are not enabled on this installation."},
	"mail.title":              {"Messaggio e-mail (HTML)", "E-mail message (HTML)"},
	"mail.from":               {"Mittente", "From"},
	"mail.subject":            {"Oggetto", "Subject"},
	"mail.received":           {"Ricevuto", "Received"},
	"mail.images_blocked":     {"Le immagini remote sono bloccate: caricarle avvisa il mittente che il messaggio è stato aperto.", "Remote images are blocked: loading them tells the sender the message was opened."},
	"mail.images_shown":       {"Le immagini remote sono mostrate.", "Remote images are shown."},
	"mail.show_images":        {"Mostra immagini remote", "Show remote images"},
	"mail.hide_images":        {"Blocca immagini remote", "Block remote images"},
	"mail.frame_hint":         {"Il messaggio è mostrato in un riquadro isolato: script, moduli e contenuti attivi sono rimossi.", "The message is shown in an isolated frame: scripts, forms and active content are removed."},
	"mail.frame_title":        {"Messaggio e-mail: %s", "E-mail message: %s"},
	"mail.back":               {"Torna al ticket %s", "Back to ticket %s"},
	"mail.html_version":       {"Versione HTML dell'e-mail", "HTML version of the e-mail"},
	"event.fields":            {"Dati della richiesta aggiornati: %s", "Request details updated: %s"},
	"fields.edit":             {"Completa o correggi i dati della richiesta", "Complete or correct the request details"},
	"fields.save":             {"Salva i dati", "Save the details"},
	"ticket.fields_saved":     {"Dati della richiesta del ticket %s aggiornati.", "Request details of ticket %s updated."},
	"fields.legend":           {"Informazioni richieste dal servizio", "Information the service needs"},
	"fields.legend_for":       {"Informazioni per «%s»", "Information for “%s”"},
	"fields.call_hint":        {"Compila i campi del servizio scelto; quelli con * sono obbligatori per quel servizio.", "Fill in the fields of the chosen service; those marked * are required for it."},
	"fields.choose":           {"— scegli —", "— choose —"},
	"fields.required":         {"obbligatorio", "required"},
	"fields.heading":          {"Dati della richiesta", "Request details"},
	"fields.err.required":     {"Questo campo è obbligatorio.", "This field is required."},
	"fields.err.text":         {"Il testo è troppo lungo.", "The text is too long."},
	"fields.err.textarea":     {"Il testo è troppo lungo.", "The text is too long."},
	"fields.err.select":       {"Scegli una delle opzioni proposte.", "Choose one of the options."},
	"fields.err.date":         {"Indica una data valida, ad esempio 31/12/2026.", "Enter a valid date, e.g. 2026-12-31."},
	"fields.err.email":        {"Indica un indirizzo e-mail valido, ad esempio nome@ente.it.", "Enter a valid e-mail address, such as name@example.org."},
	"fields.err.number":       {"Indica un numero, ad esempio 443.", "Enter a number, e.g. 443."},
	"ws.order":                {"Ordina per", "Sort by"},
	"ws.order.newest":         {"Più recenti", "Newest"},
	"ws.order.oldest":         {"Meno recenti", "Oldest"},
	"ws.order.updated":        {"Ultimo aggiornamento", "Last update"},
	"ws.order.priority":       {"Priorità", "Priority"},
	"ws.caption.newest":       {"Ticket, dal più recente", "Tickets, newest first"},
	"ws.caption.oldest":       {"Ticket, dal meno recente", "Tickets, oldest first"},
	"ws.caption.updated":      {"Ticket, dall'ultimo aggiornato", "Tickets, last updated first"},
	"ws.caption.priority":     {"Ticket, dal più urgente", "Tickets, most urgent first"},
	"ws.count":                {"%d ticket", "%d tickets"},
	"views.saved_heading":     {"Viste salvate", "Saved views"},
	"views.shared":            {"condivisa", "shared"},
	"views.no_count":          {"ricerca per parole: senza conteggio", "word search: no count"},
	"views.save":              {"Salva questa vista", "Save this view"},
	"views.name":              {"Nome della vista", "View name"},
	"views.name.hint":         {"Salva i filtri, la ricerca e l'ordinamento attuali.", "Saves the current filters, search and order."},
	"views.share":             {"Condividi con tutto l'ente", "Share with the whole organisation"},
	"views.submit":            {"Salva vista", "Save view"},
	"views.manage":            {"Gestisci le viste salvate", "Manage saved views"},
	"views.delete":            {"Elimina «%s»", "Delete “%s”"},
	"views.saved":             {"Vista «%s» salvata.", "View “%s” saved."},
	"views.deleted":           {"Vista eliminata.", "View deleted."},
	"views.none":              {"Nessuna vista salvata.", "No saved views."},
}
