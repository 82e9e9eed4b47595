package isoduration

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

const day = 24 * time.Hour

// Parse reads PnYnMnWnDTnHnMnS (each part optional, whole numbers, seconds may have a
// fraction). Years count 365 days and months 30: Graph's examples use days, and a
// lifetime limit read a day short or long errs on neither side by more than that.
func Parse(s string) (time.Duration, error) {
	bad := errors.New("not an ISO 8601 duration such as P90D")
	rest, ok := strings.CutPrefix(strings.ToUpper(strings.TrimSpace(s)), "P")
	if !ok || rest == "" || strings.HasSuffix(rest, "T") {
		return 0, bad
	}
	var d time.Duration
	inTime := false
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return 0, bad
			}
			inTime, rest = true, rest[1:]
			continue
		}
		i := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if i <= 0 {
			return 0, bad
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil || n < 0 {
			return 0, bad
		}
		var unit time.Duration
		switch u := rest[i]; {
		case !inTime && u == 'Y':
			unit = 365 * day
		case !inTime && u == 'M':
			unit = 30 * day
		case !inTime && u == 'W':
			unit = 7 * day
		case !inTime && u == 'D':
			unit = day
		case inTime && u == 'H':
			unit = time.Hour
		case inTime && u == 'M':
			unit = time.Minute
		case inTime && u == 'S':
			unit = time.Second
		default:
			return 0, bad
		}
		if n > float64(1<<62)/float64(unit) {
			return 0, bad
		}
		d += time.Duration(n * float64(unit))
		rest = rest[i+1:]
	}
	return d, nil
}

// Format writes d the way Graph's examples do: days, then a time part for the rest
// ("P90D", "P1DT12H").
func Format(d time.Duration) string {
	if d <= 0 {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteString("P")
	if days := d / day; days > 0 {
		b.WriteString(strconv.FormatInt(int64(days), 10) + "D")
		d -= days * day
	}
	if d > 0 {
		b.WriteString("T")
		for _, u := range []struct {
			unit time.Duration
			s    string
		}{{time.Hour, "H"}, {time.Minute, "M"}, {time.Second, "S"}} {
			if n := d / u.unit; n > 0 {
				b.WriteString(strconv.FormatInt(int64(n), 10) + u.s)
				d -= n * u.unit
			}
		}
	}
	return b.String()
}
