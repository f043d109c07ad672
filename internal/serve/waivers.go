package serve

import (
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/waiver"
)

// DefaultWaiverMaxDays is how far ahead a waiver's expiry may be when the
// config does not say (waiver_max_days).
const DefaultWaiverMaxDays = 365

// validateWaivers checks the waivers keys; the file itself is read by
// LoadWaivers (check-config and New).
func (c *Config) validateWaivers(v *validator) {
	if c.WaiverMaxDays < 1 || c.WaiverMaxDays > 3650 {
		v.add("waiver_max_days", c.WaiverMaxDays, "must be 1 to 3650")
	}
	if c.Waivers != "" && strings.TrimSpace(c.Waivers) != c.Waivers {
		v.add("waivers", c.Waivers, "must be a file name without leading or trailing spaces")
	}
}

// LoadWaivers reads and validates the config's waivers file with the
// strict loader of package waiver, against the built-in catalog, at now.
// It returns nil without a waivers key.
func (c *Config) LoadWaivers(now time.Time) (*waiver.Set, error) {
	if c.Waivers == "" {
		return nil, nil
	}
	cat, err := catalog.Load()
	if err != nil {
		return nil, fmt.Errorf("load catalog: %w", err)
	}
	set, err := waiver.Load(c.Waivers, cat, waiver.Options{Now: now, MaxAhead: time.Duration(c.WaiverMaxDays) * 24 * time.Hour})
	if err != nil {
		return nil, fmt.Errorf("waivers: %w", err)
	}
	return set, nil
}

// waiverSource is the waivers file as serve applies it: read at start
// (an invalid file refuses to start), then read again before judging any
// result whose audit finished after the file changed (size or
// modification time), so an edit takes effect at the next audit without a
// restart or a signal. An edit that does not validate is logged and the
// last valid waivers stay in force: a typo must not turn every accepted
// risk into a regression alert.
type waiverSource struct {
	cfg *Config
	log *slog.Logger

	mu    sync.Mutex
	set   *waiver.Set
	size  int64
	mtime time.Time
}

func newWaiverSource(cfg *Config, log *slog.Logger, now time.Time) (*waiverSource, error) {
	ws := &waiverSource{cfg: cfg, log: log}
	fi, err := os.Stat(cfg.Waivers)
	if err != nil {
		return nil, fmt.Errorf("waivers: %w", err)
	}
	if ws.set, err = cfg.LoadWaivers(now); err != nil {
		return nil, err
	}
	ws.size, ws.mtime = fi.Size(), fi.ModTime()
	return ws, nil
}

// current returns the waivers in force at now, reading the file again
// when it changed.
func (ws *waiverSource) current(now time.Time) *waiver.Set {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	fi, err := os.Stat(ws.cfg.Waivers)
	if err != nil {
		ws.log.Error("waivers file unreadable; the last valid waivers stay in force", "file", ws.cfg.Waivers, "err", err)
		return ws.set
	}
	if fi.Size() == ws.size && fi.ModTime().Equal(ws.mtime) {
		return ws.set
	}
	set, err := ws.cfg.LoadWaivers(now)
	if err != nil {
		ws.log.Error("waivers file changed but does not validate; the last valid waivers stay in force", "file", ws.cfg.Waivers, "err", err)
		return ws.set
	}
	ws.set, ws.size, ws.mtime = set, fi.Size(), fi.ModTime()
	ws.log.Info("waivers file read again", "file", ws.cfg.Waivers, "waivers", set.Len())
	return set
}

// judgeWaivers gives res the target's fleet labels and applies the
// waivers in force at now, before the result is stored and compared with
// the baseline: a waived finding raises no regression, and a waiver that
// expires (waived, then fail) does.
func (s *Service) judgeWaivers(t Target, res *result.Result) {
	if len(t.Labels) > 0 {
		if res.Target.Labels == nil {
			res.Target.Labels = map[string]string{}
		}
		maps.Copy(res.Target.Labels, t.Labels)
	}
	if s.waivers == nil {
		return
	}
	now := s.now()
	out := waiver.Apply(res, s.waivers.current(now), now)
	for _, u := range out {
		if u.Selected && u.Expired {
			s.log.Warn("waiver expired: what it covered counts again", "target", t.Name, "control", u.Waiver.Control, "expires", u.Waiver.Expires)
		}
	}
}
