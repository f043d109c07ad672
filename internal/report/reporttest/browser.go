package reporttest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/hardgate/hardgate/internal/interop"
)

// Page is an HTML file opened in headless Chromium, with what the browser
// did while loading it.
type Page struct {
	// Ctx runs chromedp actions against the tab.
	Ctx context.Context
	// URL is the file:// URL that was opened.
	URL string

	mu       sync.Mutex
	requests []string
	problems []string
}

// Requests are the URLs the page asked for, the file itself included.
func (p *Page) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.requests...)
}

// ConsoleErrors are console errors, uncaught exceptions and error log
// entries (a Content-Security-Policy violation is one).
func (p *Page) ConsoleErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.problems...)
}

// ExternalRequests are the requests for anything but the file itself and
// inline data: URLs.
func (p *Page) ExternalRequests() []string {
	var out []string
	for _, u := range p.Requests() {
		if u != p.URL && !strings.HasPrefix(u, "data:") {
			out = append(out, u)
		}
	}
	return out
}

// OpenInChromium opens the HTML file at path in headless Chromium (Debian
// package chromium), with a fresh profile in t.TempDir and background
// networking off. It skips the test when Chromium is missing (fails under
// CI). The browser stops in t.Cleanup; a deadline bounds any hang.
func OpenInChromium(t *testing.T, path string) *Page {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return OpenURLInChromium(t, "file://"+filepath.ToSlash(abs))
}

// OpenURLInChromium opens url (a file:// URL, or a page a test serves on
// loopback) as OpenInChromium does.
func OpenURLInChromium(t *testing.T, url string) *Page {
	t.Helper()
	bin := interop.Binary(t, "chromium", "chromium")
	ctx, cancelTimeout := context.WithTimeout(context.Background(), 90*time.Second)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	p := &Page{URL: url}
	tabCtx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(func(ev any) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if ev.Request != nil {
				p.requests = append(p.requests, ev.Request.URL)
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				p.problems = append(p.problems, "console."+string(ev.Type))
			}
		case *runtime.EventExceptionThrown:
			text := "exception"
			if ev.ExceptionDetails != nil {
				text += ": " + ev.ExceptionDetails.Text
			}
			p.problems = append(p.problems, text)
		case *cdplog.EventEntryAdded:
			if ev.Entry != nil && ev.Entry.Level == cdplog.EntryLevelError {
				p.problems = append(p.problems, "log: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	}))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelTimeout()
	})
	enable := func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return chromedp.Void{}, err
		}
		_, err := cdp.Call(ctx, tg, cdplog.Enable, cdp.Empty{})
		return chromedp.Void{}, err
	}
	if err := chromedp.Do(tabCtx, enable, chromedp.Navigate(p.URL), chromedp.WaitReady("body")); err != nil {
		t.Fatalf("open %s in chromium: %v", p.URL, err)
	}
	p.Ctx = tabCtx
	return p
}

// Eval evaluates a JavaScript expression in the page and decodes its value;
// a promise is awaited.
func Eval[T any](t *testing.T, p *Page, expr string) T {
	t.Helper()
	v, err := chromedp.Run(p.Ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// Screenshot writes a full-page PNG named name into $HARDGATE_ARTIFACTS when
// set, else into t.TempDir, and logs its path.
func Screenshot(t *testing.T, p *Page, name string) string {
	t.Helper()
	png, err := chromedp.Run(p.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("HARDGATE_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	return path
}
