package fleet

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/hardgate/hardgate/internal/result"
)

// Progress follows a run: Done is called once per finished target (one
// call at a time, from Runner.OnDone), Finish once at the end.
type Progress interface {
	Done(o *Outcome)
	Finish()
}

// NewProgress returns a live progress bar on w when terminal is true
// (done/total, failing so far, rate, ETA), else one plain line per
// finished target, for CI logs.
func NewProgress(w io.Writer, total int, terminal bool) Progress {
	if terminal {
		return newBar(w, total)
	}
	return &lines{w: w, total: total}
}

// lines writes one line per finished target:
// "[  12/1000] gw-0012  pass  green  risk 0  findings 0  1.2s".
type lines struct {
	w           io.Writer
	total, done int
}

func (l *lines) Done(o *Outcome) {
	l.done++
	width := len(fmt.Sprint(l.total))
	line := fmt.Sprintf("[%*d/%d] %s  %s", width, l.done, l.total, o.Row.Name, o.Status)
	if o.Row.Posture != "" {
		line += fmt.Sprintf("  %s  risk %d  findings %d", o.Row.Posture, o.Row.RiskScore, o.Row.Findings)
	}
	line += "  " + o.Duration.Round(time.Millisecond).String()
	if o.Err != nil {
		line += "  " + o.Err.Error()
	}
	fmt.Fprintln(l.w, line)
}

func (l *lines) Finish() {}

// bar is a live progress bar (schollz/progressbar).
type bar struct {
	w       io.Writer
	mu      sync.Mutex
	pb      *progressbar.ProgressBar
	failing int
	undec   int
}

func newBar(w io.Writer, total int) *bar {
	b := &bar{w: w}
	b.pb = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(b.describe()),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("targets"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionFullWidth(),
		progressbar.OptionShowElapsedTimeOnFinish(),
	)
	return b
}

func (b *bar) describe() string {
	return fmt.Sprintf("failing %d, undecided %d", b.failing, b.undec)
}

func (b *bar) Done(o *Outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch o.Status {
	case result.FleetFail:
		b.failing++
	case result.FleetPass:
	default:
		b.undec++
	}
	b.pb.Describe(b.describe())
	_ = b.pb.Add(1)
}

func (b *bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.pb.Exit()
	fmt.Fprintln(b.w) // end the bar's line
}
