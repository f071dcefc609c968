package browsertest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// AxeTags are the axe-core rule tags that Axe runs: WCAG 2.0 and 2.1, levels
// A and AA (the level that Law 4/2004 and EN 301 549 require).
var AxeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// Violation is one failed axe-core rule on a page.
type Violation struct {
	ID          string          `json:"id"`     // rule id, e.g. "color-contrast"
	Impact      string          `json:"impact"` // "minor", "moderate", "serious" or "critical"
	Help        string          `json:"help"`
	HelpURL     string          `json:"helpUrl"`
	Description string          `json:"description"`
	Tags        []string        `json:"tags"`
	Nodes       []ViolationNode `json:"nodes"`
}

// ViolationNode is one element that fails a rule.
type ViolationNode struct {
	// Target is the CSS selector path of the element; more than one entry
	// means the element is inside iframes or shadow roots.
	Target         []string `json:"target"`
	HTML           string   `json:"html"`
	FailureSummary string   `json:"failureSummary"`
}

// Serious reports whether the violation's impact is serious or critical.
func (v Violation) Serious() bool {
	return v.Impact == "serious" || v.Impact == "critical"
}

// Targets returns the selectors of the failing elements.
func (v Violation) Targets() []string {
	out := make([]string, 0, len(v.Nodes))
	for _, n := range v.Nodes {
		out = append(out, strings.Join(n.Target, " >>> "))
	}
	return out
}

// String formats the violation for a test failure message.
func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %s: %s (%s)", v.Impact, v.ID, v.Help, v.HelpURL)
	for i, n := range v.Nodes {
		if i == 5 {
			fmt.Fprintf(&b, "\n      … and %d more", len(v.Nodes)-i)
			break
		}
		fmt.Fprintf(&b, "\n      at %s: %s", strings.Join(n.Target, " >>> "), short(n.HTML))
	}
	return b.String()
}

var axeScript struct {
	once sync.Once
	src  string
	path string
	err  error
}

// axeSource reads node_modules/axe-core/axe.min.js once. SPORTELLO_AXE may
// name the file; otherwise it is looked for in node_modules from the working
// directory up to the repository root.
func axeSource() (src, path string, err error) {
	axeScript.once.Do(func() {
		axeScript.path, axeScript.err = findAxe()
		if axeScript.err != nil {
			return
		}
		var b []byte
		b, axeScript.err = os.ReadFile(axeScript.path)
		if axeScript.err == nil && !bytes.Contains(b[:min(len(b), 200)], []byte("axe v")) {
			axeScript.err = fmt.Errorf("%s does not look like axe-core", axeScript.path)
		}
		axeScript.src = string(b)
	})
	return axeScript.src, axeScript.path, axeScript.err
}

func findAxe() (string, error) {
	if p := os.Getenv("SPORTELLO_AXE"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("SPORTELLO_AXE: %w", err)
		}
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if isRepoRoot(dir) {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", errors.New("node_modules/axe-core/axe.min.js not found up to the repository root: " +
		"run `npm ci --ignore-scripts` (or scripts/ci-deps.sh) at the repository root")
}

// isRepoRoot reports whether dir is the root of the Sportello repository.
func isRepoRoot(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
		return true
	}
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	return err == nil && bytes.Contains(b, []byte("module github.com/sportello/sportello\n"))
}

// Axe runs axe-core with the WCAG 2.0/2.1 A and AA rules on the current page
// of b and returns its violations. It injects axe-core from node_modules
// (see scripts/ci-deps.sh); when that is missing it skips the test, or fails
// it when $CI is set.
func Axe(t testing.TB, b *Browser) []Violation {
	t.Helper()
	src, path, err := axeSource()
	if err != nil {
		Unavailable(t, "axe-core: %v", err)
	}
	b = b.For(t)
	present := run(b, "check for axe", chromedp.Evaluate[bool](`typeof window.axe === "object"`))
	if !present {
		run(b, "inject "+path, chromedp.Evaluate[chromedp.Void](src))
	}
	tags := make([]string, len(AxeTags))
	for i, tag := range AxeTags {
		tags[i] = jsString(tag)
	}
	expr := `axe.run(document, {
  runOnly: { type: "tag", values: [` + strings.Join(tags, ", ") + `] },
  resultTypes: ["violations"]
}).then((r) => r.violations.map((v) => ({
  id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
  description: v.description, tags: v.tags,
  nodes: v.nodes.map((n) => ({
    target: n.target.map((s) => Array.isArray(s) ? s.join(" ") : String(s)),
    html: n.html, failureSummary: n.failureSummary || ""
  }))
})))`
	return run(b, "axe.run", chromedp.Evaluate[[]Violation](expr, chromedp.EvalAwaitPromise))
}

// AssertNoSeriousViolations navigates to url (unless url is empty: then it
// checks the current page), runs [Axe] and fails the test for every serious
// or critical violation. Minor and moderate ones are logged.
func (b *Browser) AssertNoSeriousViolations(url string) {
	b.t.Helper()
	if url != "" {
		b.Navigate(url)
	}
	report(b.t, b.URL(), Axe(b.t, b))
}

// AssertNoSeriousViolations starts a browser for the test, loads url and
// fails the test for every serious or critical axe-core violation. To check
// several pages, use [Browser.AssertNoSeriousViolations] on one browser.
func AssertNoSeriousViolations(t testing.TB, url string) {
	t.Helper()
	New(t).AssertNoSeriousViolations(url)
}

func report(t testing.TB, url string, vs []Violation) {
	t.Helper()
	var serious, other []string
	for _, v := range vs {
		if v.Serious() {
			serious = append(serious, v.String())
		} else {
			other = append(other, v.String())
		}
	}
	if len(other) > 0 {
		t.Logf("axe: %d minor/moderate violation(s) on %s:\n  %s", len(other), url, strings.Join(other, "\n  "))
	}
	if len(serious) > 0 {
		t.Errorf("axe: %d serious/critical WCAG 2.1 AA violation(s) on %s:\n  %s", len(serious), url, strings.Join(serious, "\n  "))
	}
}
