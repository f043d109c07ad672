package report

import (
	"encoding/csv"
	"github.com/hardgate/hardgate/internal/result"
	"io"
	"strings"
)

// CSVHeader is the header row of the csv format.
var CSVHeader = []string{"id", "control_id", "title", "priority", "severity", "domain", "owner", "acceptance_test"}

// renderCSV writes the remediation backlog, RFC 4180, for import into a
// ticket system: one row per item, each on one physical line (white space
// runs inside a cell, line breaks included, become one space). Cells that a spreadsheet would run as a
// formula are neutralised.
func renderCSV(w io.Writer, res *result.Result, _ RenderOptions) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, b := range sortedBacklog(res) {
		row := []string{b.ID, b.ControlID, b.Title, b.Priority, b.Severity, b.Domain, b.Owner, b.AcceptanceTest}
		for i := range row {
			row[i] = NeutraliseCell(oneLine(row[i]))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// NeutraliseCell defends against CSV (formula) injection: a cell starting
// with = + - @ or a tab or carriage return is prefixed with a single quote,
// so spreadsheet programs show it as text instead of evaluating it.
func NeutraliseCell(s string) string {
	if s == "" {
		return s
	}
	if strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
