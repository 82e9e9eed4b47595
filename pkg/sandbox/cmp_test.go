package sandbox

import (
	"sort"

	"github.com/google/go-cmp/cmp"
)

// cmpSorted compares string slices as sets.
var cmpSorted = cmp.Transformer("sorted", func(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
})
