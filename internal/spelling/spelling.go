// Package spelling suggests what a user probably meant: the flag, the
// subcommand or the config key closest to one that does not exist
// ("--uri": "--url", "audti": "audit", "htps": "https").
package spelling

import (
	"slices"
	"strings"
)

// Suggest returns the candidates closest to word, best first: those within
// a small edit distance (a typo: one or two letters swapped, missing or
// wrong) and those that word starts with or that start with word (a longer
// or shorter spelling: "output" for "out", "gateway" for "gateway-kind").
// It returns at most three, and none when nothing is close.
func Suggest(word string, candidates []string) []string {
	word = strings.ToLower(word)
	limit := 1
	if len(word) > 4 {
		limit = 2
	}
	type scored struct {
		name  string
		score int
	}
	var best []scored
	for _, c := range candidates {
		lc := strings.ToLower(c)
		score := distance(word, lc)
		if len(word) >= 2 && len(lc) >= 2 && (strings.HasPrefix(word, lc) || strings.HasPrefix(lc, word)) {
			score = min(score, limit)
		}
		if score <= limit && score < max(len(word), 1) {
			best = append(best, scored{c, score})
		}
	}
	slices.SortStableFunc(best, func(a, b scored) int {
		if a.score != b.score {
			return a.score - b.score
		}
		return strings.Compare(a.name, b.name)
	})
	var out []string
	for _, s := range best {
		if len(out) == 3 || s.score > best[0].score {
			break
		}
		out = append(out, s.name)
	}
	return out
}

// distance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of two adjacent letters.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		if a == b {
			return 0
		}
		return max(len(ra), len(rb))
	}
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// Phrase is the suggestion as a sentence fragment: `did you mean "--url"?`,
// with each candidate passed through quote; "" when there is none.
func Phrase(suggestions []string, quote func(string) string) string {
	if len(suggestions) == 0 {
		return ""
	}
	q := make([]string, len(suggestions))
	for i, s := range suggestions {
		q[i] = quote(s)
	}
	return "did you mean " + strings.Join(q, " or ") + "?"
}
