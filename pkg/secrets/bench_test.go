package secrets

import (
	"context"
	"fmt"
	"io"
	"testing"
)

// Benchmarks for the per-tenant costs: validate pays Inspect + Read per tenant, apply and
// consent pay one Update.

func benchFile(b *testing.B) string {
	b.Helper()
	env := newBenchEnv(b)
	p := env.path("contoso")
	if err := Create(context.Background(), p, sampleFile()); err != nil {
		b.Fatal(err)
	}
	return p
}

func BenchmarkInspect(b *testing.B) {
	p := benchFile(b)
	for b.Loop() {
		if _, err := Inspect(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	p := benchFile(b)
	for b.Loop() {
		if _, err := Read(context.Background(), p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdate(b *testing.B) {
	p := benchFile(b)
	i := 0
	for b.Loop() {
		i++
		if _, err := Update(context.Background(), p, func(f *File) error {
			f.RefreshToken.Value = NewValue(fmt.Sprint("rt-", i))
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdateNoChange(b *testing.B) {
	p := benchFile(b)
	for b.Loop() {
		if _, err := Update(context.Background(), p, func(f *File) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValueFormat(b *testing.B) {
	v := NewValue(planted)
	for b.Loop() {
		fmt.Fprintf(io.Discard, "%v %s %q", v, v, v)
	}
}

func BenchmarkCheck(b *testing.B) {
	p := benchFile(b)
	for b.Loop() {
		if _, _, err := Check(context.Background(), p); err != nil {
			b.Fatal(err)
		}
	}
}
