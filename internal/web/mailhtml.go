package web

import (
	"html"
	"html/template"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// E-mail HTML is shown inside <iframe sandbox srcdoc=…>: the frame runs no
// script, submits no form, has an opaque origin (no cookies, no access to
// the page), and carries its own CSP that allows no network access at all
// besides data: images. The HTML is sanitised first (bluemonday's UGC
// allow-list without styles, since the page's CSP forbids inline styles,
// which srcdoc documents inherit) and remote images are replaced by their
// alt text, so that opening a message never tells its sender.

var mailPolicy = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowDataURIImages()
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}()

// frameCSP is the frame's own policy, on top of the page's.
const frameCSP = "default-src 'none'; img-src data:; style-src 'self'"

// SanitizeMailHTML returns an HTML fragment safe to show in the mail frame:
// no scripts, styles, forms, frames or event handlers, and no image that
// would be fetched from another server.
func SanitizeMailHTML(s string) string {
	clean := mailPolicy.Sanitize(s)
	body := &xhtml.Node{Type: xhtml.ElementNode, DataAtom: atom.Body, Data: "body"}
	nodes, err := xhtml.ParseFragment(strings.NewReader(clean), body)
	if err != nil {
		return html.EscapeString(s)
	}
	for _, n := range nodes {
		body.AppendChild(n)
	}
	blockRemoteImages(body)
	var b strings.Builder
	for n := body.FirstChild; n != nil; n = n.NextSibling {
		if err := xhtml.Render(&b, n); err != nil {
			return html.EscapeString(s)
		}
	}
	return b.String()
}

func blockRemoteImages(n *xhtml.Node) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		if c.Type == xhtml.ElementNode && c.DataAtom == atom.Img {
			src := ""
			alt := ""
			for _, a := range c.Attr {
				switch a.Key {
				case "src":
					src = a.Val
				case "alt":
					alt = a.Val
				}
			}
			if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(src)), "data:image/") {
				if alt != "" {
					n.InsertBefore(&xhtml.Node{Type: xhtml.TextNode, Data: "[" + alt + "]"}, c)
				}
				n.RemoveChild(c)
			}
		} else {
			blockRemoteImages(c)
		}
		c = next
	}
}

// MailFrame returns the <iframe> that shows a message's HTML safely; title
// names the frame for assistive technology. The srcdoc document is built
// here and escaped as one attribute value.
func MailFrame(title, rawHTML string) template.HTML {
	doc := `<!doctype html><html><head><meta charset="utf-8">` +
		`<meta http-equiv="Content-Security-Policy" content="` + frameCSP + `">` +
		`<base target="_blank"><title>` + html.EscapeString(title) + `</title></head><body>` +
		SanitizeMailHTML(rawHTML) + `</body></html>`
	return template.HTML(`<iframe class="sp-mail-frame" sandbox="allow-popups allow-popups-to-escape-sandbox" referrerpolicy="no-referrer" loading="lazy" title="` +
		html.EscapeString(title) + `" srcdoc="` + html.EscapeString(doc) + `"></iframe>`)
}
