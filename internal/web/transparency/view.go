package transparency

import (
	"html/template"
	"net/url"
	"strings"

	"github.com/sportello/sportello/internal/catalog"
	"github.com/sportello/sportello/internal/web/static"
)

var funcs = template.FuncMap{"text": text, "inc": func(i int) int { return i + 1 }}

// text escapes s for element content. Unlike html/template's own escaping
// it leaves apostrophes and quotes as they are (they matter only inside
// attributes, where this function is never used), so that the page
// carries the published wording verbatim ("dell'Ente"), as people and
// tools searching for it expect.
func text(s string) template.HTML {
	return template.HTML(textEscaper.Replace(s))
}

var textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\x00", "")

type crumb struct {
	Label string
	URL   string // "" for the current page or a level without a page
}

// layoutView is what every page's frame shows.
type layoutView struct {
	Title    string
	OrgName  string
	Tagline  string
	Org      catalog.OrgInfo
	Website  string
	HomeURL  string
	JSONURL  string
	CSVURL   string
	Styles   []string
	Icon     string
	Crumbs   []crumb
	JSONLD   []template.JS
	Contacts bool
}

type listView struct {
	layoutView
	Publisher string
	Criteria  []catalog.Criterion
	Services  []serviceView
}

type servicePage struct {
	layoutView
	Service serviceView
}

type errorView struct {
	layoutView
	Status  int
	Message string
}

type serviceView struct {
	Code     string
	Name     string
	Anchor   string
	URL      string
	Fields   []fieldView
	Phases   []phaseView
	Smart    []smartView
	Assessed bool
	Full     bool // the criteria's text beside each value (service page)
}

type fieldView struct {
	Label string
	Art35 string
	Text  string
	Links []link // shown instead of Text when present
}

type link struct {
	Label string
	URL   template.URL // built here from validated values only
	Note  string
}

type phaseView struct {
	Name        string
	Kind        string
	Description string
	Channels    string
	Approval    bool
	Supplier    bool
}

type smartView struct {
	Letter    string
	Criterion string
	Value     string
}

func (h *handler) layout(cat *catalog.Catalogue, ente, title string) layoutView {
	v := layoutView{
		Title:   title,
		OrgName: "Sportello",
		Tagline: "Amministrazione trasparente",
		HomeURL: withEnte(listPath, ente),
		JSONURL: withEnte(listPath+".json", ente),
		CSVURL:  withEnte(listPath+".csv", ente),
		Styles: []string{h.assets.URL(static.BootstrapItaliaCSS), h.assets.URL(static.FontsCSS),
			h.assets.URL(static.SportelloCSS), h.cssURL()},
		Icon: h.assets.Icon("it-pa"),
	}
	if cat != nil {
		v.Org = cat.Organisation
		v.OrgName = cat.Organisation.Name
		v.Website = catalog.NormalizeURL(cat.Organisation.Website)
		o := cat.Organisation
		v.Contacts = v.Website != "" || o.Email != "" || o.PEC != "" || o.Phone != "" || o.Address != ""
	}
	return v
}

func newListView(h *handler, cat *catalog.Catalogue, ente string) listView {
	v := listView{layoutView: h.layout(cat, ente, "Tipologie di procedimento"), Criteria: cat.EffectiveCriteria()}
	v.Crumbs = []crumb{{Label: "Amministrazione trasparente"}, {Label: "Attività e procedimenti"}, {Label: "Tipologie di procedimento"}}
	o := cat.Organisation
	v.Publisher = strings.Join(nonEmpty(o.Name, o.Area, o.Sector), " – ")
	for _, s := range cat.ActiveServices() {
		sv := newService(s, cat, ente, false)
		v.Services = append(v.Services, sv)
		if ld, err := catalog.JSONLD(s, &cat.Organisation); err == nil {
			v.JSONLD = append(v.JSONLD, template.JS(ld)) // JSONLD escapes <, > and &
		}
	}
	return v
}

func newServiceView(h *handler, cat *catalog.Catalogue, s *catalog.Service, ente string) servicePage {
	v := servicePage{layoutView: h.layout(cat, ente, s.Name), Service: newService(s, cat, ente, true)}
	v.Crumbs = []crumb{{Label: "Amministrazione trasparente"}, {Label: "Attività e procedimenti"},
		{Label: "Tipologie di procedimento", URL: v.HomeURL}, {Label: s.Name}}
	if ld, err := catalog.JSONLD(s, &cat.Organisation); err == nil {
		v.JSONLD = []template.JS{template.JS(ld)}
	}
	return v
}

func newService(s *catalog.Service, cat *catalog.Catalogue, ente string, full bool) serviceView {
	v := serviceView{Code: s.Code, Name: s.Name, Anchor: "procedimento-" + s.Code,
		URL: withEnte(listPath+"/"+url.PathEscape(s.Code), ente), Full: full, Assessed: len(s.SmartWorking) > 0}
	for _, f := range catalog.PublishedFields() {
		fv := fieldView{Label: f.Label, Art35: f.Art35, Text: f.Value(s)}
		switch f.Key {
		case "code", "name":
			continue // the heading and the URL
		case "target_duration":
			if s.TargetDuration.IsZero() {
				continue // Sportello's own, not in the published schema
			}
		case "phones":
			for _, p := range s.Phones {
				fv.Links = append(fv.Links, link{Label: p, URL: telURL(p)})
			}
		case "email":
			if s.Email != "" {
				fv.Links = []link{{Label: s.Email, URL: mailtoURL(s.Email)}}
			}
		case "pec":
			if s.PEC != "" {
				fv.Links = []link{{Label: s.PEC, URL: mailtoURL(s.PEC), Note: s.PECNote}}
			}
		case "link":
			if u := catalog.NormalizeURL(s.Link); u != "" {
				fv.Links = []link{{Label: s.Link, URL: template.URL(u)}}
			}
		case "forms":
			for _, fm := range s.Forms {
				if u := catalog.NormalizeURL(fm.URL); u != "" {
					fv.Links = append(fv.Links, link{Label: fm.Title, URL: template.URL(u)})
				}
			}
		}
		v.Fields = append(v.Fields, fv)
	}
	for _, p := range s.Phases {
		pv := phaseView{Name: p.Name, Kind: p.Kind.Label(), Description: p.Description,
			Approval: p.NeedsApproval(), Supplier: p.InvolvesSupplier()}
		var chs []string
		for _, ch := range p.Channels {
			chs = append(chs, catalog.ChannelLabel(ch))
		}
		pv.Channels = strings.Join(chs, ", ")
		v.Phases = append(v.Phases, pv)
	}
	for _, c := range cat.EffectiveCriteria() {
		v.Smart = append(v.Smart, smartView{Letter: c.Letter, Criterion: c.Text, Value: string(s.SmartWorking[c.Letter])})
	}
	return v
}

// telURL keeps the digits (and a leading +) of a validated phone number.
func telURL(p string) template.URL {
	var b strings.Builder
	for i, r := range p {
		if r >= '0' && r <= '9' || (r == '+' && i == 0) {
			b.WriteRune(r)
		}
	}
	return template.URL("tel:" + b.String())
}

// mailtoURL links a validated bare e-mail address.
func mailtoURL(addr string) template.URL {
	return template.URL("mailto:" + url.PathEscape(addr))
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
