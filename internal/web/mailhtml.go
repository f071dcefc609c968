package web

import (
	"html"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// E-mail HTML is shown in an <iframe sandbox> whose document is served by
// its own URL (mailview.go) with its own headers: a sandbox CSP (opaque
// origin, no script, no form, no cookies), default-src 'none', and no
// referrer. The HTML was sanitised by the mail parser (allow-list, remote
// images kept only for this viewer) and is sanitised again here; remote
// images are replaced by their alt text unless the user asked to see them
// ("Mostra immagini remote"), and only then does the frame's policy allow
// http(s) images. A srcdoc frame would not do: it inherits the page's CSP,
// which allows no remote image at all.

var mailPolicy = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowDataURIImages()
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}()

// mailFrameCSP is the policy of the frame's document; images says whether
// remote images may load.
func mailFrameCSP(images bool) string {
	img := "data:"
	if images {
		img = "data: https: http:"
	}
	return "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; img-src " + img +
		"; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
}

// SanitizeMailHTML returns an HTML fragment safe to show in the mail frame:
// no scripts, styles, forms, frames or event handlers; remote images are
// replaced by their alt text unless remoteImages is set. It reports whether
// the message has remote images (blocked or not).
func SanitizeMailHTML(s string, remoteImages bool) (string, bool) {
	clean := mailPolicy.Sanitize(s)
	body := &xhtml.Node{Type: xhtml.ElementNode, DataAtom: atom.Body, Data: "body"}
	nodes, err := xhtml.ParseFragment(strings.NewReader(clean), body)
	if err != nil {
		return html.EscapeString(s), false
	}
	for _, n := range nodes {
		body.AppendChild(n)
	}
	found := remoteImgs(body, remoteImages)
	var b strings.Builder
	for n := body.FirstChild; n != nil; n = n.NextSibling {
		if err := xhtml.Render(&b, n); err != nil {
			return html.EscapeString(s), false
		}
	}
	return b.String(), found
}

// remoteImgs removes (or, with keep, keeps) the images of n that would be
// fetched from another server, and reports whether there were any.
func remoteImgs(n *xhtml.Node, keep bool) bool {
	found := false
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		if c.Type == xhtml.ElementNode && c.DataAtom == atom.Img {
			src, alt := "", ""
			for _, a := range c.Attr {
				switch a.Key {
				case "src":
					src = a.Val
				case "alt":
					alt = a.Val
				}
			}
			lsrc := strings.ToLower(strings.TrimSpace(src))
			remote := strings.HasPrefix(lsrc, "https://") || strings.HasPrefix(lsrc, "http://")
			found = found || remote
			if !strings.HasPrefix(lsrc, "data:image/") && !(keep && remote) {
				if alt != "" {
					n.InsertBefore(&xhtml.Node{Type: xhtml.TextNode, Data: "[" + alt + "]"}, c)
				}
				n.RemoveChild(c)
			}
		} else if remoteImgs(c, keep) {
			found = true
		}
		c = next
	}
	return found
}

// mailDocument is the frame's whole document.
func mailDocument(lang, title, body string) string {
	return `<!doctype html><html lang="` + html.EscapeString(lang) + `"><head><meta charset="utf-8">` +
		`<meta name="referrer" content="no-referrer"><base target="_blank"><title>` + html.EscapeString(title) + `</title></head><body>` +
		body + `</body></html>`
}
