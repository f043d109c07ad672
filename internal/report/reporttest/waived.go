package reporttest

import (
	"bytes"
	"fmt"
	"time"

	"github.com/hardgate/hardgate/examples"
	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/waiver"
)

// WaiverDay is the clock the worked example's waivers are applied at: the
// morning of the before audit, 2026-01-15 09:00 UTC.
var WaiverDay = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

// WaiverExpiredDay is the first moment the worked example's waiver no
// longer applies: 2026-04-01 00:00 UTC, the day after its last day.
var WaiverExpiredDay = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)

// WorkedExampleWaivers returns the worked example's waivers file
// (examples/gateway-hardening/waivers.yaml), validated at WaiverDay
// against the embedded catalog.
func WorkedExampleWaivers() *waiver.Set {
	cat, err := catalog.Load()
	if err != nil {
		panic(fmt.Sprintf("reporttest: catalog: %v", err))
	}
	f, err := waiver.Parse(bytes.NewReader(examples.Waivers))
	if err != nil {
		panic(fmt.Sprintf("reporttest: waivers.yaml: %v", err))
	}
	s, err := waiver.NewSet(f, cat, waiver.Options{Now: WaiverDay})
	if err != nil {
		panic(fmt.Sprintf("reporttest: waivers.yaml: %v", err))
	}
	return s
}

// WorkedExampleBeforeWaived returns the before result with the worked
// example's waiver applied at now: at WaiverDay the unsafe-defaults finding
// is waived (FAIL, red, risk 60, 3 findings, 1 waived); at
// WaiverExpiredDay the waiver has expired and the result reads as before,
// with the expired waiver reported.
func WorkedExampleBeforeWaived(now time.Time) *result.Result {
	res := WorkedExampleBefore()
	waiver.Apply(res, WorkedExampleWaivers(), now)
	return res
}

// WorkedExampleAfterWaived returns the after result with the same waivers
// applied at WaiverDay: nothing fails, so the waiver is stale.
func WorkedExampleAfterWaived() *result.Result {
	res := WorkedExampleAfter()
	waiver.Apply(res, WorkedExampleWaivers(), WaiverDay)
	return res
}
