package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"sort"
	"time"

	"github.com/useitcloud/uicctl/internal/scrub"
	"github.com/useitcloud/uicctl/pkg/verify"
)

//go:embed report.html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"date": func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
	"add":  func(a, b float64) float64 { return a + b },
	"sub":  func(a, b float64) float64 { return a - b },
}).Parse(htmlSource))

// generatorMark is in every HTML report's head: --html replaces only a file that has it.
const generatorMark = `<meta name="generator" content="uicctl verify">`

// IsHTML reports whether b is an HTML report of uicctl verify.
func IsHTML(b []byte) bool {
	return bytes.Contains(b[:min(len(b), 1024)], []byte(generatorMark))
}

// TimelineDays is the span of the HTML report's expiry timeline.
const TimelineDays = 180

// statusView is how a status is shown: never by colour alone, an icon and a word.
type statusView struct {
	Class, Icon, Word string
}

var statusViews = map[verify.Status]statusView{
	verify.Pass: {"pass", "✓", "pass"},
	verify.Warn: {"warn", "⚠", "warn"},
	verify.Fail: {"fail", "✗", "fail"},
	verify.Skip: {"skip", "–", "skip"},
}

type htmlCheck struct {
	Name, Message, Hint string
	Status              statusView
	Since               time.Time // zero: no state
}

type htmlTenant struct {
	Name, Path string
	Status     statusView
	Since      time.Time // when the tenant got to its status, from the state
	Checks     []htmlCheck
	Actions    []Action
}

type htmlMark struct {
	X, Y, WarnX float64
	Shape       string // "secret", "idle", "maxage"
	Title       string
	Expired     bool
}

type htmlRow struct {
	Y     float64
	Name  string
	Class string
	Marks []htmlMark
}

type htmlTick struct {
	X     float64
	Label string
}

type htmlData struct {
	Generated                       time.Time
	Summary                         verify.Summary
	SummaryLine                     string
	Tenants                         []htmlTenant
	Todo                            Todo
	Rows                            []htmlRow
	Ticks                           []htmlTick
	Width, Height, Left, Plot, RowH float64
	Days                            int
	Marks                           int
}

// WriteHTML writes the report as one self-contained page: inline CSS and SVG, no script
// and no request. state (may be nil) gives "failing since"; now is the run's time, the
// timeline's first day.
func WriteHTML(w io.Writer, r *verify.Report, state *State, now time.Time) error {
	d := htmlData{Generated: now, Summary: r.Summary, SummaryLine: verify.SummaryLine(r.Summary), Todo: NewTodo(r), Days: TimelineDays}
	for i := range r.Tenants {
		t := &r.Tenants[i]
		ht := htmlTenant{Name: key(t), Path: t.Path, Status: statusViews[t.Worst()], Actions: Actions(t)}
		var ts TenantState
		if state != nil {
			ts = state.Tenants[key(t)]
			ht.Since = ts.Since
		}
		for _, c := range t.Checks {
			hc := htmlCheck{Name: c.Name, Message: scrub.Text(c.Message), Hint: scrub.Text(c.Hint), Status: statusViews[c.Status]}
			if c.Status == verify.Fail || c.Status == verify.Warn {
				hc.Since = ts.Checks[c.Name].Since
			}
			ht.Checks = append(ht.Checks, hc)
		}
		d.Tenants = append(d.Tenants, ht)
	}
	sort.SliceStable(d.Tenants, func(i, j int) bool {
		a, b := d.Tenants[i], d.Tenants[j]
		if ra, rb := rankOfClass(a.Status.Class), rankOfClass(b.Status.Class); ra != rb {
			return ra > rb
		}
		return a.Name < b.Name
	})
	d.timeline(r, now)
	return htmlTemplate.Execute(w, d)
}

func rankOfClass(c string) int {
	for s, v := range statusViews {
		if v.Class == c {
			return statusRank(s)
		}
	}
	return 0
}

// timeline lays out the expiry timeline: a row per tenant with a deadline before the
// window's end, the soonest first; a deadline already passed sits on the window's first day,
// marked expired.
func (d *htmlData) timeline(r *verify.Report, now time.Time) {
	d.Left, d.Plot, d.RowH = 170, 800, 22
	d.Width = d.Left + d.Plot + 20
	day := func(t time.Time) float64 {
		x := t.Sub(now).Hours() / 24
		return d.Left + max(0, min(x, TimelineDays))*d.Plot/TimelineDays
	}
	end := now.Add(TimelineDays * 24 * time.Hour)
	byName := map[string]*verify.Tenant{}
	for i := range r.Tenants {
		byName[key(&r.Tenants[i])] = &r.Tenants[i]
	}
	firsts := map[string]time.Time{} // a row's earliest deadline
	for _, ht := range d.Tenants {
		t := byName[ht.Name]
		row := htmlRow{Name: ht.Name, Class: ht.Status.Class}
		for _, dl := range Deadlines(t.Expiry, now) {
			if dl.At.After(end) {
				continue
			}
			m := htmlMark{X: day(dl.At), WarnX: day(dl.WarnFrom), Expired: dl.Horizon == HorizonExpired}
			if first, ok := firsts[ht.Name]; !ok || dl.At.Before(first) {
				firsts[ht.Name] = dl.At
			}
			left := int(dl.At.Sub(now).Hours() / 24)
			when := fmt.Sprintf("in %d days", left)
			if m.Expired {
				when = fmt.Sprintf("%d days ago", -left)
			}
			m.Title = fmt.Sprintf("%s: %s %s (%s)", ht.Name, dl.Label(), dl.At.Format(time.DateOnly), when)
			switch dl.Kind {
			case DeadlineClientSecret:
				m.Shape = "secret"
				m.Title += fmt.Sprintf("; verify warns from %s (renewBefore), uicctl apply rotates it", dl.WarnFrom.Format(time.DateOnly))
			case DeadlineRefreshToken:
				m.Shape = "idle"
				m.Title += "; verify --write-back nightly keeps it alive, or uicctl consent"
			case DeadlineConsentMaxAge:
				m.Shape = "maxage"
				m.Title += "; verify warns from here on"
			}
			row.Marks = append(row.Marks, m)
			d.Marks++
		}
		if len(row.Marks) > 0 {
			d.Rows = append(d.Rows, row)
		}
	}
	// Soonest first: the timeline reads as what comes next.
	sort.SliceStable(d.Rows, func(i, j int) bool {
		a, b := firsts[d.Rows[i].Name], firsts[d.Rows[j].Name]
		if !a.Equal(b) {
			return a.Before(b)
		}
		return d.Rows[i].Name < d.Rows[j].Name
	})
	y := 40.0
	for i := range d.Rows {
		d.Rows[i].Y = y
		for j := range d.Rows[i].Marks {
			d.Rows[i].Marks[j].Y = y
		}
		y += d.RowH
	}
	d.Height = y + 10
	for i := 0; i <= TimelineDays; i += 30 {
		t := now.AddDate(0, 0, i)
		label := t.Format("Jan 2")
		if i == 0 {
			label = "today"
		}
		d.Ticks = append(d.Ticks, htmlTick{X: day(t), Label: label})
	}
}
