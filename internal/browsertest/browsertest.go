// Package browsertest drives a headless Chromium from Go tests, for end-to-end
// and accessibility checks of Sportello's pages.
//
// It wraps chromedp (pinned at v0.23.0, whose API changes often) so that the
// rest of the code base depends only on these helpers:
//
//	func TestLogin(t *testing.T) {
//		srv := httptest.NewServer(app.Handler())
//		defer srv.Close()
//
//		b := browsertest.New(t) // skips locally, fails in CI, without Chromium
//		b.Navigate(srv.URL + "/login")
//		b.FillLabel("Nome utente", "mario.rossi")
//		b.FillLabel("Password", "segreta")
//		if status := b.Submit("form#login"); status != http.StatusOK {
//			t.Fatalf("status %d", status)
//		}
//		if got := b.Text("h1"); got != "I miei ticket" {
//			t.Errorf("heading %q", got)
//		}
//		b.Screenshot(filepath.Join(t.TempDir(), "login.png"))
//		b.AssertNoSeriousViolations("") // axe-core on the current page
//	}
//
// Selectors are CSS selectors (document.querySelector), except where a method
// says it takes a label or a visible text. Every method fails the test
// (t.Fatal) when the browser action fails or times out (default 30 s).
//
// Chromium is found through $SPORTELLO_CHROMIUM, else chromium,
// chromium-browser, google-chrome or google-chrome-stable in $PATH. When it is
// missing the test is skipped, unless $CI is set, in which case it fails:
// install it with scripts/ci-deps.sh (apt-get install chromium).
package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// DefaultTimeout bounds each browser action.
const DefaultTimeout = 30 * time.Second

// startTimeout bounds the start of the browser.
const startTimeout = 60 * time.Second

// Browser is one headless Chromium process with one tab, owned by a test.
// Use it from the test's goroutine only; for a subtest, use [Browser.For].
type Browser struct {
	t       testing.TB
	ctx     context.Context // the chromedp context of the tab
	timeout time.Duration
	shared  *shared
}

// shared is the state that the copies made by For have in common.
type shared struct {
	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// Option changes how [New] starts the browser.
type Option func(*config)

type config struct {
	timeout       time.Duration
	width, height int
}

// WithTimeout sets the time limit of each browser action (default 30 s).
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithWindowSize sets the size of the window in CSS pixels (default 1280×900).
func WithWindowSize(width, height int) Option {
	return func(c *config) { c.width, c.height = width, height }
}

// Unavailable stops the test because a tool the browser tests need is
// missing: it fails the test when the environment variable CI is non-empty,
// and skips it otherwise.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " (required in CI)")
	}
	t.Skip(msg + " (skipped; set CI=1 to make this a failure)")
}

// FindChromium returns the path of the Chromium executable: the value of
// SPORTELLO_CHROMIUM when set, else the first of chromium, chromium-browser,
// google-chrome and google-chrome-stable found in PATH.
func FindChromium() (string, error) {
	if p := os.Getenv("SPORTELLO_CHROMIUM"); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("SPORTELLO_CHROMIUM=%s is not an executable: %w", p, err)
		}
		return path, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", errors.New("Chromium not found (looked for $SPORTELLO_CHROMIUM, chromium, chromium-browser, google-chrome): " +
		"Chromium is required in CI: apt-get install chromium (or run scripts/ci-deps.sh)")
}

// New starts a headless Chromium for the test and closes it when the test
// ends. Without Chromium it skips the test, or fails it when $CI is set.
func New(t testing.TB, opts ...Option) *Browser {
	t.Helper()
	cfg := config{timeout: DefaultTimeout, width: 1280, height: 900}
	for _, o := range opts {
		o(&cfg)
	}
	execPath, err := FindChromium()
	if err != nil {
		if os.Getenv("SPORTELLO_CHROMIUM") != "" {
			t.Fatal(err) // explicitly configured: a mistake, never a skip
		}
		Unavailable(t, "%v", err)
	}
	dataDir, err := os.MkdirTemp("", "sportello-chromium-")
	if err != nil {
		t.Fatalf("browsertest: user data dir: %v", err)
	}

	logger := &testLogger{t: t}
	allocOpts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(dataDir),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,MediaRouter,OptimizationHints"),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("no-pings", true),
		chromedp.WindowSize(cfg.width, cfg.height),
	)
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), allocOpts...)
	ctx, cancel := chromedp.NewContext(allocCtx,
		chromedp.WithLogf(logger.logf),
		chromedp.WithErrorf(logger.logf),
	)

	b := &Browser{t: t, ctx: ctx, timeout: cfg.timeout, shared: &shared{}}
	var consoleDone sync.WaitGroup
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		if err := chromedp.Cancel(cctx); err != nil && !errors.Is(err, context.Canceled) {
			logger.logf("browsertest: closing Chromium: %v", err)
		}
		ccancel()
		cancel()
		allocCancel()
		consoleDone.Wait()
		logger.stop()
		removeAll(dataDir)
	})

	// Start the browser with a context that has no deadline: the first Run
	// binds the browser's life to its context.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err = <-started:
	case <-time.After(startTimeout):
		err = fmt.Errorf("no answer after %v", startTimeout)
	}
	if err != nil {
		t.Fatalf("browsertest: starting %s: %v", execPath, err)
	}

	messages := chromedp.Console(ctx)
	consoleDone.Add(1)
	go func() {
		defer consoleDone.Done()
		for m, err := range messages {
			if err != nil {
				return
			}
			b.shared.mu.Lock()
			b.shared.console = append(b.shared.console, m)
			b.shared.mu.Unlock()
		}
	}()
	return b
}

// For returns a copy of b that reports to t, for use in a subtest. The copy
// drives the same tab.
func (b *Browser) For(t testing.TB) *Browser {
	c := *b
	c.t = t
	return &c
}

// Context returns the chromedp context of the tab, for what these helpers
// do not cover. Prefer adding a helper here over using chromedp elsewhere.
func (b *Browser) Context() context.Context { return b.ctx }

// Run runs chromedp actions on the tab within the action timeout, and fails
// the test on error.
func (b *Browser) Run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.do("run", actions...)
}

func (b *Browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browsertest: %s: %v", what, err)
	}
}

// run runs one action that returns a value.
func run[T any](b *Browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browsertest: %s: %v", what, err)
	}
	return v
}

// Eval evaluates a JavaScript expression in the page and decodes its JSON
// value into T. A promise is awaited.
func Eval[T any](b *Browser, expr string) T {
	b.t.Helper()
	return run(b, "eval "+short(expr), chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// Navigate loads url, waits for the load event and returns the HTTP status
// of the document (0 when there is none, e.g. for about:blank).
func (b *Browser) Navigate(url string) int {
	b.t.Helper()
	res := run(b, "navigate to "+url, chromedp.NavigateResponse(url))
	if res == nil {
		return 0
	}
	return int(res.Status)
}

// URL returns the address of the current page.
func (b *Browser) URL() string {
	b.t.Helper()
	return run(b, "location", chromedp.Location())
}

// Title returns the title of the current page.
func (b *Browser) Title() string {
	b.t.Helper()
	return run(b, "title", chromedp.Title())
}

// Fill types value into the form control matched by the CSS selector,
// replacing its content. A <select> gets the option whose value or visible
// text is value; date, time, color and range inputs get the value set
// directly. Input and change events fire as for a user.
func (b *Browser) Fill(selector, value string) {
	b.t.Helper()
	b.fill("fill "+selector, cssExpr(selector), value)
}

// FillLabel is Fill for the control whose label is label: the text of its
// <label> (a trailing "*" ignored), its aria-label or its aria-labelledby
// text, compared with normalised white space. It waits for the control.
func (b *Browser) FillLabel(label, value string) {
	b.t.Helper()
	b.fill(fmt.Sprintf("fill field labelled %q", label), labelExpr(label), value)
}

func (b *Browser) fill(what, elExpr, value string) {
	b.t.Helper()
	sel := chromedp.JSPath(elExpr)
	b.do(what, chromedp.WaitReady(sel))
	// kind is "keys" for controls that take typing, "set" when the value was
	// set by script, or an error message.
	kind := run(b, what, chromedp.Evaluate[string](`(`+setValueJS+`)(`+elExpr+`, `+jsString(value)+`)`))
	switch kind {
	case "keys":
		b.do(what, chromedp.Focus(sel), chromedp.SendKeys(sel, value))
	case "set":
	default:
		b.t.Fatalf("browsertest: %s: %s", what, kind)
	}
}

// Click clicks the element matched by the CSS selector, once it is visible.
// It does not wait for a navigation: see ClickAndWait.
func (b *Browser) Click(selector string) {
	b.t.Helper()
	b.do("click "+selector, chromedp.Click(chromedp.JSPath(cssExpr(selector)), chromedp.NodeVisible))
}

// ClickText clicks the button, link, summary or submit input whose visible
// text, value or aria-label is text (white space normalised).
func (b *Browser) ClickText(text string) {
	b.t.Helper()
	b.do(fmt.Sprintf("click %q", text), chromedp.Click(chromedp.JSPath(textExpr(text)), chromedp.NodeVisible))
}

// ClickAndWait clicks the element matched by the CSS selector and waits for
// the page it leads to; it returns that page's HTTP status.
func (b *Browser) ClickAndWait(selector string) int {
	b.t.Helper()
	sel := chromedp.JSPath(cssExpr(selector))
	b.do("click "+selector, chromedp.WaitVisible(sel))
	return b.navigation("click "+selector, chromedp.Click(sel, chromedp.NodeVisible))
}

// Submit submits the form matched by the CSS selector, or the form of the
// matched control (a matched submit button is the submitter), like a user
// would: constraint validation runs and submit handlers see the event. It
// waits for the resulting page and returns its HTTP status. A form that does
// not navigate (invalid, or handled by htmx) makes it fail after the timeout:
// use Click for those.
func (b *Browser) Submit(selector string) int {
	b.t.Helper()
	what := "submit " + selector
	sel := chromedp.JSPath(cssExpr(selector))
	b.do(what, chromedp.WaitReady(sel))
	return b.navigation(what, chromedp.Evaluate[chromedp.Void](`(`+submitJS+`)(`+cssExpr(selector)+`)`))
}

// navigation runs the action and waits for the document it loads.
func (b *Browser) navigation(what string, a chromedp.Action[chromedp.Void]) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, a)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no page loaded within %v (form invalid, or handled by script?): %w", b.timeout, err)
		}
		b.t.Fatalf("browsertest: %s: %v", what, err)
	}
	if res == nil {
		return 0
	}
	return int(res.Status)
}

// Press sends key presses to the focused element (or the page), as a user
// typing keys would; special keys are the constants of chromedp's kb package
// (e.g. kb.Escape). Like a real keystroke, and unlike chromedp.KeyEvent, a
// keydown that the page cancels (preventDefault) inserts no character.
func (b *Browser) Press(keys string) {
	b.t.Helper()
	b.do(fmt.Sprintf("press %q", keys), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, r := range keys {
			events := kb.Encode(r)
			if len(events) == 3 && events[1].Type == kb.KeyChar {
				// One keyDown that carries the text, so that Chromium
				// suppresses the character when keydown is cancelled.
				down := *events[0]
				down.Text, down.UnmodifiedText = events[1].Text, events[1].UnmodifiedText
				events = []*input.DispatchKeyEventParams{&down, events[2]}
			}
			for _, e := range events {
				if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, *e); err != nil {
					return err
				}
			}
		}
		return nil
	}))
}

// WaitVisible waits until the element matched by the CSS selector is visible.
func (b *Browser) WaitVisible(selector string) {
	b.t.Helper()
	b.do("wait for "+selector, chromedp.WaitVisible(chromedp.JSPath(cssExpr(selector))))
}

// WaitGone waits until no element matches the CSS selector.
func (b *Browser) WaitGone(selector string) {
	b.t.Helper()
	b.do("wait until gone "+selector, chromedp.WaitNotPresent(chromedp.JSPath(cssExpr(selector))))
}

// Text returns the visible text (innerText) of the first element matched by
// the CSS selector, trimmed, waiting for it to exist.
func (b *Browser) Text(selector string) string {
	b.t.Helper()
	sel := chromedp.JSPath(cssExpr(selector))
	b.do("wait for "+selector, chromedp.WaitReady(sel))
	return strings.TrimSpace(run(b, "text of "+selector, chromedp.Text(sel)))
}

// Value returns the current value of the form control matched by the CSS
// selector.
func (b *Browser) Value(selector string) string {
	b.t.Helper()
	return run(b, "value of "+selector, chromedp.Value(chromedp.JSPath(cssExpr(selector))))
}

// Count returns how many elements match the CSS selector now (no waiting).
func (b *Browser) Count(selector string) int {
	b.t.Helper()
	return run(b, "count "+selector, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(selector)+`).length`))
}

// Screenshot saves a PNG of the whole page (not only the viewport) to path,
// creating its directory. When SPORTELLO_SCREENSHOTS names a directory, a
// copy named after the test is kept there too (e.g. as a CI artifact).
func (b *Browser) Screenshot(path string) {
	b.t.Helper()
	png := run(b, "screenshot", chromedp.FullScreenshot(100))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.t.Fatalf("browsertest: screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("browsertest: screenshot: %v", err)
	}
	if dir := os.Getenv("SPORTELLO_SCREENSHOTS"); dir != "" {
		name := strings.NewReplacer("/", "_", " ", "_").Replace(b.t.Name()) + "-" + filepath.Base(path)
		keep := filepath.Join(dir, name)
		err := os.MkdirAll(dir, 0o755)
		if err == nil {
			err = os.WriteFile(keep, png, 0o644)
		}
		if err != nil {
			b.t.Logf("browsertest: keeping a copy of the screenshot: %v", err)
		}
	}
}

// ConsoleErrors returns the console errors, uncaught exceptions and browser
// log errors (such as Content-Security-Policy violations) seen since the
// browser started, as "type: text (url:line)" strings. The browser's own
// request for /favicon.ico is ignored.
func (b *Browser) ConsoleErrors() []string {
	time.Sleep(50 * time.Millisecond) // let queued events arrive
	b.shared.mu.Lock()
	defer b.shared.mu.Unlock()
	var out []string
	for _, m := range b.shared.console {
		if strings.HasSuffix(m.URL, "/favicon.ico") {
			continue // requested by the browser itself, not by the page
		}
		if m.IsException() || m.Type == "error" || m.Type == "assert" {
			s := fmt.Sprintf("%s: %s", m.Type, m.Text)
			if m.URL != "" {
				s += fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
			}
			out = append(out, s)
		}
	}
	return out
}

// AssertNoConsoleErrors fails the test if [Browser.ConsoleErrors] is not empty.
func (b *Browser) AssertNoConsoleErrors() {
	b.t.Helper()
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		b.t.Errorf("browser console errors:\n  %s", strings.Join(errs, "\n  "))
	}
}

// testLogger forwards chromedp's messages to t.Logf until the test ends.
type testLogger struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (l *testLogger) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.t.Logf("chromedp: "+format, args...)
	}
}

func (l *testLogger) stop() {
	l.mu.Lock()
	l.done = true
	l.mu.Unlock()
}

// removeAll removes Chromium's profile directory, retrying while helper
// processes that outlive the browser still write to it.
func removeAll(dir string) {
	for i := 0; i < 20; i++ {
		if err := os.RemoveAll(dir); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// jsString returns s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func short(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

func cssExpr(selector string) string {
	return "document.querySelector(" + jsString(selector) + ")"
}

func labelExpr(label string) string {
	return "(" + findByLabelJS + ")(" + jsString(label) + ")"
}

func textExpr(text string) string {
	return "(" + findByTextJS + ")(" + jsString(text) + ")"
}

const findByLabelJS = `function (want) {
  const norm = (s) => (s || "").replace(/\s+/g, " ").trim();
  want = norm(want);
  const matches = (s) => { const n = norm(s); return n === want || n.replace(/\s*\*$/, "") === want; };
  const labelText = (l) => {
    const c = l.cloneNode(true);
    c.querySelectorAll("input, select, textarea, button").forEach((e) => e.remove());
    return c.textContent;
  };
  for (const l of document.querySelectorAll("label")) {
    if (l.control && matches(labelText(l))) return l.control;
  }
  for (const el of document.querySelectorAll("[aria-label]")) {
    if (matches(el.getAttribute("aria-label"))) return el;
  }
  for (const el of document.querySelectorAll("[aria-labelledby]")) {
    const txt = el.getAttribute("aria-labelledby").split(/\s+/)
      .map((id) => { const n = document.getElementById(id); return n ? n.textContent : ""; }).join(" ");
    if (matches(txt)) return el;
  }
  return null;
}`

const findByTextJS = `function (want) {
  const norm = (s) => (s || "").replace(/\s+/g, " ").trim();
  want = norm(want);
  const sel = "button, a[href], [role=button], [role=link], [role=menuitem], [role=tab], " +
    "input[type=submit], input[type=button], input[type=reset], summary";
  let hidden = null;
  for (const el of document.querySelectorAll(sel)) {
    const names = [el.innerText, el.getAttribute("aria-label"), el.getAttribute("title")];
    if (el.tagName === "INPUT") names.push(el.value);
    if (!names.some((n) => norm(n) === want)) continue;
    if (el.offsetWidth || el.offsetHeight || el.getClientRects().length) return el;
    hidden = hidden || el;
  }
  return hidden;
}`

// setValueJS prepares a control for Fill. For typing it empties the control
// and returns "keys"; for controls that take no typing it sets the value,
// fires input and change, and returns "set"; otherwise it returns an error.
const setValueJS = `function (el, value) {
  if (!el) return "no such element";
  const fire = () => {
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  };
  if (el.disabled) return "the control is disabled";
  if (el.tagName === "SELECT") {
    const opt = Array.from(el.options).find((o) => o.value === value) ||
      Array.from(el.options).find((o) => o.text.replace(/\s+/g, " ").trim() === value.trim());
    if (!opt) return "no option " + JSON.stringify(value) + " in the select";
    el.value = opt.value; fire(); return "set";
  }
  if (el.tagName === "TEXTAREA" || el.isContentEditable) {
    if (el.isContentEditable) el.textContent = ""; else el.value = "";
    el.dispatchEvent(new Event("input", { bubbles: true }));
    return "keys";
  }
  if (el.tagName !== "INPUT") return "element <" + el.tagName.toLowerCase() + "> is not a form control";
  if (el.readOnly) return "the control is read-only";
  switch (el.type) {
    case "checkbox": case "radio": case "file": case "submit": case "button": case "reset": case "image":
      return "cannot fill an input of type " + el.type + " (use Click)";
    case "date": case "time": case "datetime-local": case "month": case "week": case "color": case "range": case "hidden":
      el.value = value; fire(); return "set";
  }
  el.value = "";
  el.dispatchEvent(new Event("input", { bubbles: true }));
  return "keys";
}`

// submitJS submits the form of el like a user would (requestSubmit).
const submitJS = `function (el) {
  if (!el) throw new Error("no such element");
  const form = el.tagName === "FORM" ? el : (el.form || el.closest("form"));
  if (!form) throw new Error("element is not in a form");
  const submitter = el !== form && (el.type === "submit" || el.type === "image") ? el : undefined;
  const skip = form.noValidate || (submitter && submitter.formNoValidate);
  if (!skip && !form.checkValidity()) {
    const bad = Array.from(form.elements).filter((e) => e.willValidate && !e.checkValidity())
      .map((e) => (e.name || e.id || e.tagName) + ": " + e.validationMessage);
    throw new Error("form is invalid: " + bad.join("; "));
  }
  setTimeout(() => form.requestSubmit(submitter), 0);
}`
