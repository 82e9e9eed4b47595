package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// TextOptions control the text renderer.
type TextOptions struct {
	Color bool // ANSI colours; the caller decides (TTY and no NO_COLOR)
}

var symbols = map[Action]string{Create: "+", Update: "~", Delete: "-", Replace: "-/+", Manual: "!", NoOp: "="}

var colors = map[Action]string{Create: "\x1b[32m", Update: "\x1b[33m", Delete: "\x1b[31m", Replace: "\x1b[35m", Manual: "\x1b[36m", NoOp: "\x1b[2m"}

const reset = "\x1b[0m"

// WriteText renders a plan the way Terraform users read one: a block per tenant, one line
// per change with its symbol, the reason and field differences under it, then a summary.
func WriteText(w io.Writer, p *Plan, opt TextOptions) error {
	var b strings.Builder
	for i := range p.Tenants {
		writeTenantText(&b, &p.Tenants[i], opt)
		b.WriteString("\n")
	}
	b.WriteString(SummaryLine(p))
	_, err := io.WriteString(w, b.String())
	return err
}

func writeTenantText(b *strings.Builder, t *Tenant, opt TextOptions) {
	if t.TenantID == "" {
		fmt.Fprintf(b, "%s (%s)\n", t.Name, t.Path)
	} else {
		fmt.Fprintf(b, "%s (%s, tenant %s)\n", t.Name, t.Path, t.TenantID)
	}
	if t.Error != "" {
		fmt.Fprintf(b, "  error: %s\n", t.Error)
		if t.Hint != "" {
			fmt.Fprintf(b, "  hint: %s\n", t.Hint)
		}
		return
	}
	if len(t.Changes) == 0 {
		b.WriteString("  no changes\n")
		return
	}
	for _, c := range t.Changes {
		sym := symbols[c.Action]
		line := fmt.Sprintf("%-3s %s", sym, c.Address)
		if c.Action == Manual {
			line += " (manual step)"
		}
		if opt.Color {
			line = colors[c.Action] + line + reset
		}
		fmt.Fprintf(b, "  %s\n", line)
		if c.Reason != "" {
			fmt.Fprintf(b, "        # %s\n", c.Reason)
		}
		for _, f := range c.Fields {
			writeFieldText(b, f)
		}
		for _, n := range c.Notes {
			fmt.Fprintf(b, "        # %s\n", n)
		}
	}
}

func writeFieldText(b *strings.Builder, f FieldChange) {
	switch {
	case f.Before != nil && f.After != nil:
		fmt.Fprintf(b, "        ~ %s: %s -> %s\n", f.Path, strconv.Quote(*f.Before), strconv.Quote(*f.After))
	case f.After != nil:
		fmt.Fprintf(b, "        + %s: %s\n", f.Path, strconv.Quote(*f.After))
	case f.Before != nil:
		fmt.Fprintf(b, "        - %s: %s\n", f.Path, strconv.Quote(*f.Before))
	default:
		fmt.Fprintf(b, "          %s:\n", f.Path)
		for _, v := range f.Add {
			fmt.Fprintf(b, "            + %s\n", v)
		}
		for _, v := range f.Remove {
			fmt.Fprintf(b, "            - %s\n", v)
		}
		for _, v := range f.Keep {
			fmt.Fprintf(b, "            = %s (not in the spec; kept)\n", v)
		}
	}
}

// SummaryLine is the last line of a text plan. Its wording is API: scripts grep it.
func SummaryLine(p *Plan) string {
	s := p.Summary
	var b strings.Builder
	if p.Pending() {
		fmt.Fprintf(&b, "Plan: %d to create, %d to update, %d to delete, %d to replace.\n", s.Create, s.Update, s.Delete, s.Replace)
	} else {
		n := len(p.Tenants) - s.Errors
		fmt.Fprintf(&b, "No changes: %d %s in sync.\n", n, plural(n, "tenant is", "tenants are"))
	}
	if s.Manual > 0 {
		fmt.Fprintf(&b, "Manual steps: %d (marked !); uicctl cannot take them for you.\n", s.Manual)
	}
	if s.Errors > 0 {
		fmt.Fprintf(&b, "Errors: %d %s could not be planned.\n", s.Errors, plural(s.Errors, "tenant", "tenants"))
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// WriteJSON renders the plan as JSON (docs/plan-json.md).
func WriteJSON(w io.Writer, p *Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(p)
}

// WriteMarkdown renders the plan for a pull-request comment: a table of counts per tenant,
// then each tenant's changes in a collapsible diff block.
func WriteMarkdown(w io.Writer, p *Plan) error {
	var b strings.Builder
	b.WriteString("### uicctl plan\n\n")
	b.WriteString("| tenant | create | update | delete | replace | manual | status |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---|\n")
	for i := range p.Tenants {
		t := &p.Tenants[i]
		c := t.Counts()
		status := "in sync"
		switch {
		case t.Error != "":
			status = "error"
		case t.Pending():
			status = "changes"
		}
		fmt.Fprintf(&b, "| `%s` | %d | %d | %d | %d | %d | %s |\n", mdEscape(t.Name), c.Create, c.Update, c.Delete, c.Replace, c.Manual, status)
	}
	b.WriteString("\n")
	for i := range p.Tenants {
		t := &p.Tenants[i]
		if t.Error == "" && len(t.Changes) == 0 {
			continue
		}
		fmt.Fprintf(&b, "<details><summary><code>%s</code> (%s)</summary>\n\n```diff\n", mdEscape(t.Name), mdEscape(t.Path))
		var tb strings.Builder
		writeTenantText(&tb, t, TextOptions{})
		// diff highlighting keys on the first column: move each symbol there.
		for _, line := range strings.Split(strings.TrimRight(tb.String(), "\n"), "\n")[1:] {
			trimmed := strings.TrimLeft(line, " ")
			switch {
			case strings.HasPrefix(trimmed, "+"), strings.HasPrefix(trimmed, "-"), strings.HasPrefix(trimmed, "!"):
				b.WriteString(trimmed[:1] + " " + line + "\n")
			default:
				b.WriteString("  " + line + "\n")
			}
		}
		b.WriteString("```\n\n</details>\n\n")
	}
	b.WriteString(strings.ReplaceAll(SummaryLine(p), "\n", "  \n"))
	_, err := io.WriteString(w, b.String())
	return err
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", "\\|", "<", "&lt;", ">", "&gt;", "`", "'").Replace(s)
}
