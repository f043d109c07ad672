// Package report renders an audit result (package result) for its
// readers: text, json, md, html, sarif, junit and csv. Renderers only read
// the result; the output depends on nothing else, and everything printed is
// sorted. The result schema itself lives in package result, a leaf that
// probes and the catalog import without pulling in any renderer.
package report
