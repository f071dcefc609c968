// Package csvsafe defuses spreadsheet formula injection in CSV exports
// (audit log, dashboards, the transparency catalogue): a cell that a
// spreadsheet would take for a formula is prefixed with an apostrophe.
package csvsafe

import "strings"

// Cell returns cell made inert for spreadsheets: any cell that starts
// with = + - @, a tab or a carriage return gets a leading apostrophe, as
// OWASP advises (a signed number too: "-2+3" would be a formula).
func Cell(cell string) string {
	if cell == "" || !strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return cell
	}
	return "'" + cell
}

// Row applies Cell to every cell of row, in place, and returns it.
func Row(row []string) []string {
	for i := range row {
		row[i] = Cell(row[i])
	}
	return row
}
