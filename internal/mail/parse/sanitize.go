package parse

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// rasterDataURIRe matches the data: image URIs that are kept.
var rasterDataURIRe = regexp.MustCompile(`(?i)^data:image/(png|jpeg|gif|webp);base64,`)

// policy is built once; bluemonday policies are safe for concurrent use.
var policy = newPolicy()

func newPolicy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	// Inline images: data: URIs with a raster image type (validated by
	// bluemonday) and cid: references, resolved after sanitising.
	p.AllowDataURIImages()
	p.AllowURLSchemes("cid")
	// Links open outside the viewer and leak nothing.
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	// Harmless presentation that mail relies on. bluemonday's default
	// handlers validate each value (no url(), no expression()).
	p.AllowStyles("color", "background-color", "font-weight", "font-style",
		"text-decoration", "text-align", "font-size", "font-family").Globally()
	p.AllowElements("center")
	p.AllowAttrs("color").Matching(bluemonday.Paragraph).OnElements("font")
	p.AllowAttrs("align").Matching(bluemonday.CellAlign).OnElements("p", "div", "table")
	p.AllowAttrs("border", "cellpadding", "cellspacing").Matching(bluemonday.Integer).OnElements("table")
	return p
}

// Sanitize makes HTML from a message safe to display. It applies
// bluemonday's UGC allow-list, extended with a few presentational styles,
// so that scripts, event handlers, javascript: and other non-http URLs,
// forms, frames, objects, <style>/<link>/<meta>/<base> and CSS that could
// load resources are removed. Links get rel="nofollow noreferrer" and open
// in a new window.
//
// Images are then restricted so that displaying the mail contacts no other
// server (no tracking pixels):
//   - remote images (http, https, protocol-relative or relative URLs) are
//     removed and replaced by their alt text, if any;
//   - cid: images are rewritten with cidURL(contentID); if cidURL is nil,
//     or returns "" or a URL that is neither relative nor http(s), they are
//     removed like remote images;
//   - data: images of raster types are kept.
//
// Links to cid: URLs are rewritten the same way, or lose their href.
// The result is an HTML fragment (no <html>, <head> or <body>).
func Sanitize(h string, cidURL func(contentID string) string) string {
	return sanitize(h, cidURL, false)
}

// sanitize is Sanitize; keepRemote keeps remote http(s) images (see
// Options.RemoteImages).
func sanitize(h string, cidURL func(string) string, keepRemote bool) (out string) {
	if recoverPanics {
		defer func() {
			if r := recover(); r != nil {
				out = ""
			}
		}()
	}
	clean := strings.TrimSpace(policy.Sanitize(fixUTF8(h)))
	if !strings.Contains(clean, "<img") && !strings.Contains(clean, "cid:") {
		return clean
	}
	body := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(strings.NewReader(clean), body)
	if err != nil {
		return ""
	}
	for _, n := range nodes {
		body.AppendChild(n)
	}
	rewriteResources(body, cidURL, keepRemote)
	var b strings.Builder
	for n := body.FirstChild; n != nil; n = n.NextSibling {
		if err := html.Render(&b, n); err != nil {
			return ""
		}
	}
	return strings.TrimSpace(b.String())
}

// rewriteResources applies the image rules of Sanitize to the tree.
func rewriteResources(n *html.Node, cidURL func(string) string, keepRemote bool) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		if c.Type == html.ElementNode {
			switch c.DataAtom {
			case atom.Img:
				src := strings.TrimSpace(attr(c, "src"))
				switch scheme := urlScheme(src); scheme {
				case "data":
					// bluemonday checked base64 image data; keep raster
					// types only (no SVG).
					if !rasterDataURIRe.MatchString(src) {
						replaceWithAlt(c)
					}
				case "cid":
					if u := resolveCID(src, cidURL); u != "" {
						setAttr(c, "src", u)
					} else {
						replaceWithAlt(c)
					}
				case "http", "https":
					if !keepRemote || safeURL(src) == "" {
						replaceWithAlt(c)
					}
				default:
					replaceWithAlt(c)
				}
			case atom.A, atom.Area:
				if href := strings.TrimSpace(attr(c, "href")); urlScheme(href) == "cid" {
					if u := resolveCID(href, cidURL); u != "" {
						setAttr(c, "href", u)
					} else {
						removeAttr(c, "href")
					}
				}
			}
			rewriteResources(c, cidURL, keepRemote)
		}
		c = next
	}
}

// urlScheme returns the lower-case scheme of a URL, or "" if it has none.
func urlScheme(u string) string {
	i := strings.IndexByte(u, ':')
	if i <= 0 {
		return ""
	}
	s := u[:i]
	for j := 0; j < len(s); j++ {
		c := s[j]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return ""
		}
	}
	return strings.ToLower(s)
}

// resolveCID maps a cid: URL through cidURL and checks the result.
func resolveCID(u string, cidURL func(string) string) string {
	if cidURL == nil {
		return ""
	}
	id := u[len("cid:"):]
	if un, err := url.PathUnescape(id); err == nil {
		id = un
	}
	id = strings.Trim(strings.TrimSpace(id), "<>")
	if id == "" {
		return ""
	}
	return safeURL(cidURL(id))
}

// safeURL accepts a relative URL or an absolute http(s) URL without
// characters that could break out of an attribute.
func safeURL(u string) string {
	u = strings.TrimSpace(u)
	if u == "" || strings.ContainsAny(u, " \t\r\n\"'<>`\\") {
		return ""
	}
	pu, err := url.Parse(u)
	if err != nil {
		return ""
	}
	switch pu.Scheme {
	case "", "http", "https": // url.Parse lower-cases the scheme
		return u
	}
	return ""
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}

func setAttr(n *html.Node, key, val string) {
	for i, a := range n.Attr {
		if a.Namespace == "" && strings.EqualFold(a.Key, key) {
			n.Attr[i].Val = val
			return
		}
	}
	n.Attr = append(n.Attr, html.Attribute{Key: key, Val: val})
}

func removeAttr(n *html.Node, key string) {
	out := n.Attr[:0]
	for _, a := range n.Attr {
		if !(a.Namespace == "" && strings.EqualFold(a.Key, key)) {
			out = append(out, a)
		}
	}
	n.Attr = out
}

// replaceWithAlt replaces an image by its alt text (or nothing).
func replaceWithAlt(img *html.Node) {
	if alt := strings.TrimSpace(attr(img, "alt")); alt != "" {
		img.Parent.InsertBefore(&html.Node{Type: html.TextNode, Data: alt}, img)
	}
	img.Parent.RemoveChild(img)
}
