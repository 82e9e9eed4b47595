package secrets

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

const planted = "s3cr3t-Pl4nted-V4lue"

func TestValueNeverPrints(t *testing.T) {
	v := NewValue(planted)
	type holder struct {
		Name   string
		Secret Value
		Ptr    *Value
	}
	h := holder{Name: "n", Secret: v, Ptr: &v}

	var slogText, slogJSON bytes.Buffer
	slog.New(slog.NewTextHandler(&slogText, nil)).Info("msg", "secret", v, "holder", h)
	slog.New(slog.NewJSONHandler(&slogJSON, nil)).Info("msg", "secret", v, slog.Any("ptr", &v))

	renderings := map[string]func() (string, error){
		"%s":          func() (string, error) { return fmt.Sprintf("%s", v), nil },
		"%v":          func() (string, error) { return fmt.Sprintf("%v", v), nil },
		"%+v":         func() (string, error) { return fmt.Sprintf("%+v", v), nil },
		"%#v":         func() (string, error) { return fmt.Sprintf("%#v", v), nil },
		"%q":          func() (string, error) { return fmt.Sprintf("%q", v), nil },
		"%x":          func() (string, error) { return fmt.Sprintf("%x", v), nil },
		"%X":          func() (string, error) { return fmt.Sprintf("%X", v), nil },
		"%d":          func() (string, error) { return fmt.Sprintf("%d", v), nil },
		"%T":          func() (string, error) { return fmt.Sprintf("%T", v), nil },
		"%20.3s":      func() (string, error) { return fmt.Sprintf("%20.3s", v), nil },
		"struct %v":   func() (string, error) { return fmt.Sprintf("%v", h), nil },
		"struct %+v":  func() (string, error) { return fmt.Sprintf("%+v", h), nil },
		"struct %#v":  func() (string, error) { return fmt.Sprintf("%#v", h), nil },
		"pointer %v":  func() (string, error) { return fmt.Sprintf("%v", &v), nil },
		"File %+v":    func() (string, error) { return fmt.Sprintf("%+v", File{ClientSecret: ClientSecret{Value: v}}), nil },
		"File %#v":    func() (string, error) { return fmt.Sprintf("%#v", &File{RefreshToken: RefreshToken{Value: v}}), nil },
		"Sprint":      func() (string, error) { return fmt.Sprint(v, h), nil },
		"Sprintln":    func() (string, error) { return fmt.Sprintln(v), nil },
		"error %v":    func() (string, error) { return fmt.Errorf("wrapped %v: %w", v, errors.New("x")).Error(), nil },
		"String":      func() (string, error) { return v.String(), nil },
		"GoString":    func() (string, error) { return v.GoString(), nil },
		"slog text":   func() (string, error) { return slogText.String(), nil },
		"slog json":   func() (string, error) { return slogJSON.String(), nil },
		"json value":  func() (string, error) { b, err := json.Marshal(v); return string(b), err },
		"json struct": func() (string, error) { b, err := json.Marshal(h); return string(b), err },
		"json map": func() (string, error) {
			b, err := json.Marshal(map[string]any{"v": v, "p": &v})
			return string(b), err
		},
		"yaml value":  func() (string, error) { b, err := yaml.Marshal(v); return string(b), err },
		"yaml struct": func() (string, error) { b, err := yaml.Marshal(h); return string(b), err },
		"xml struct":  func() (string, error) { b, err := xml.Marshal(h); return string(b), err },
		"text":        func() (string, error) { b, err := v.MarshalText(); return string(b), err },
		"append text": func() (string, error) { b, err := v.AppendText([]byte("x=")); return string(b), err },
		"cmp.Diff": func() (string, error) {
			return cmp.Diff(File{ClientSecret: ClientSecret{Value: v}}, File{ClientSecret: ClientSecret{Value: NewValue("other")}}), nil
		},
	}
	for name, render := range renderings {
		t.Run(name, func(t *testing.T) {
			got, err := render()
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if strings.Contains(got, planted) || strings.Contains(got, fmt.Sprintf("%x", planted)) {
				t.Fatalf("the secret leaked: %q", got)
			}
			if name != "%T" && name != "cmp.Diff" && !strings.Contains(got, Redacted) {
				t.Errorf("want %q in %q", Redacted, got)
			}
		})
	}
}

func TestValueRevealAndCompare(t *testing.T) {
	tests := map[string]struct {
		reason    string
		a, b      Value
		wantEqual bool
	}{
		"same text": {reason: "values compare by content", a: NewValue("x"), b: NewValue("x"), wantEqual: true},
		"different": {reason: "different content is unequal", a: NewValue("x"), b: NewValue("y")},
		"zero":      {reason: "NewValue(\"\") is the zero Value", a: NewValue(""), b: Value{}, wantEqual: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.a.Equal(tc.b); got != tc.wantEqual {
				t.Errorf("%s: Equal = %v, want %v", tc.reason, got, tc.wantEqual)
			}
			if got := cmp.Equal(tc.a, tc.b); got != tc.wantEqual {
				t.Errorf("%s: cmp.Equal = %v, want %v", tc.reason, got, tc.wantEqual)
			}
		})
	}
	if got := NewValue(planted).Reveal(); got != planted {
		t.Errorf("Reveal = %q, want the text", got)
	}
	if !(Value{}).IsZero() || NewValue("a").IsZero() {
		t.Error("IsZero wrong")
	}
	if _, err := NewValue("a").GobEncode(); err == nil {
		t.Error("GobEncode must refuse")
	}
}
