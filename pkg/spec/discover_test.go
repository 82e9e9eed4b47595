package spec

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDiscoverRefuses: a partner.yaml is trusted as a secrets file is: a symlink only
// within the fleet, and nothing but a regular file (a folder of that name is an error, not
// silently skipped).
func TestDiscoverRefuses(t *testing.T) {
	for name, tc := range map[string]struct {
		reason  string
		setup   func(t *testing.T, fleet, outside string)
		arg     string // relative to the fleet; "" for the fleet itself
		want    []string
		wantErr error
	}{
		"SymlinkInside": {reason: "a symlink to a spec in the fleet is followed",
			setup: func(t *testing.T, fleet, _ string) {
				write(t, filepath.Join(fleet, "shared", "base.yaml"))
				link(t, filepath.Join("..", "shared", "base.yaml"), filepath.Join(fleet, "a", SpecFileName))
			},
			want: []string{"a/partner.yaml"}},
		"SymlinkOutside": {reason: "a symlink leaving the fleet is refused",
			setup: func(t *testing.T, fleet, outside string) {
				write(t, filepath.Join(outside, SpecFileName))
				link(t, filepath.Join(outside, SpecFileName), filepath.Join(fleet, "a", SpecFileName))
			},
			wantErr: errOutside},
		"SymlinkOutsideNamed": {reason: "named as a PATH, the link must stay in its folder",
			setup: func(t *testing.T, fleet, outside string) {
				write(t, filepath.Join(outside, SpecFileName))
				link(t, filepath.Join(outside, SpecFileName), filepath.Join(fleet, "a", SpecFileName))
			},
			arg: "a/partner.yaml", wantErr: errOutside},
		"Directory": {reason: "a folder named partner.yaml is an error",
			setup: func(t *testing.T, fleet, _ string) {
				write(t, filepath.Join(fleet, "a", SpecFileName))
				if err := os.MkdirAll(filepath.Join(fleet, "b", SpecFileName), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: errNotAFile},
		"SymlinkToDirectory": {reason: "a symlink to a folder is not a spec either",
			setup: func(t *testing.T, fleet, _ string) {
				if err := os.MkdirAll(filepath.Join(fleet, "d"), 0o755); err != nil {
					t.Fatal(err)
				}
				link(t, filepath.Join("..", "d"), filepath.Join(fleet, "a", SpecFileName))
			},
			wantErr: errNotAFile},
	} {
		t.Run(name, func(t *testing.T) {
			base := t.TempDir()
			fleet, outside := filepath.Join(base, "fleet"), filepath.Join(base, "outside")
			tc.setup(t, fleet, outside)
			got, err := Discover([]string{filepath.Join(fleet, tc.arg)})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("%s: err = %v, want %v", tc.reason, err, tc.wantErr)
			}
			var pe *PathError
			if err != nil && (!errors.As(err, &pe) || pe.Hint() == "") {
				t.Errorf("%s: %v is not a PathError with a hint", tc.reason, err)
			}
			for i := range got {
				got[i], _ = filepath.Rel(fleet, got[i])
				got[i] = filepath.ToSlash(got[i])
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("%s: -want +got\n%s", tc.reason, d)
			}
		})
	}
}

func write(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func link(t *testing.T, target, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}
