package isoduration

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := map[string]struct {
		reason string
		in     string
		want   time.Duration
		err    bool
	}{
		"days":         {reason: "the form Graph's policy examples use", in: "P90D", want: 90 * day},
		"mixed":        {reason: "the documented example P4DT12H30M5S", in: "P4DT12H30M5S", want: 4*day + 12*time.Hour + 30*time.Minute + 5*time.Second},
		"months":       {reason: "M before T is months (30 days)", in: "P1M", want: 30 * day},
		"minutes":      {reason: "M after T is minutes", in: "PT1M", want: time.Minute},
		"year":         {reason: "a year is 365 days", in: "P1Y", want: 365 * day},
		"weeks":        {reason: "weeks are allowed", in: "P2W", want: 14 * day},
		"lower case":   {reason: "read case-insensitively", in: "p30d", want: 30 * day},
		"no P":         {reason: "the P is required", in: "90D", err: true},
		"empty":        {reason: "P alone says nothing", in: "P", err: true},
		"bare T":       {reason: "a T needs a time part", in: "P1DT", err: true},
		"unit missing": {reason: "a number needs its unit", in: "P90", err: true},
		"hours no T":   {reason: "H only after T", in: "P1H", err: true},
		"overflow":     {reason: "too long for a time.Duration", in: "P99999999999D", err: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("%s: Parse(%q) = %v, %v; want %v, error %v", tc.reason, tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestFormatRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{90 * day, day + 12*time.Hour, 5 * time.Second, 730 * day} {
		got, err := Parse(Format(d))
		if err != nil || got != d {
			t.Errorf("Parse(Format(%v)) = %v, %v (Format gave %q)", d, got, err, Format(d))
		}
	}
}
