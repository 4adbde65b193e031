package markup

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// superlinear are the inputs that made goldmark's parsing grow faster than
// their size (see guards.go), each made at n bytes (about n; never more).
// The fuzz corpus, the ratio test and the scaling benchmark read them.
var superlinear = []struct {
	name string
	make func(n int) string
}{
	{"unclosed links", repeat("[a](")},
	{"unclosed empty links", repeat("[](")},
	{"unclosed angle links", repeat("[a](<")},
	{"unclosed links with text", repeat("[a](b")},
	{"unclosed link titles", repeat("[a](b (")},
	{"links across lines", repeat("[a](\n")},
	{"titles across lines", repeat("[a](b \"\n")},
	{"brackets on every line", repeat("[]\n")},
	{"nested brackets", func(n int) string {
		return strings.Repeat("[", n/2-1) + "a" + strings.Repeat("]", n/2-1)
	}},
	{"quotes on one line", func(n int) string { return strings.Repeat(">", n-2) + " x" }},
	{"quotes with spaces", repeat("> ")},
	{"ordered lists on one line", repeat("1. ")},
	{"bullet lists on one line", repeat("+ ")},
	{"quoted lists", repeat("> - ")},
	{"deep quotes on every line", func(n int) string {
		return repeat(strings.Repeat(">", 70) + " a\n")(n)
	}},
	{"mismatched emphasis", repeat("*a_")},
	{"emphasis closers after an opener", func(n int) string { return "a**b" + repeat("c* ")(n-4) }},
	{"emphasis in many paragraphs", repeat(strings.Repeat("*a_", 128) + "\n\n")},
	{"strikethrough runs", repeat("~~a")},
}

// repeat fills n bytes with whole copies of unit.
func repeat(unit string) func(n int) string {
	return func(n int) string { return strings.Repeat(unit, n/len(unit)) }
}

// plainOfSize is ordinary Markdown (the benchmark's post, repeated) of n
// bytes.
func plainOfSize(n int) string {
	return strings.Repeat(benchPost, n/len(benchPost)+1)[:n]
}

// fastest renders src a few times and returns the shortest time, the
// least disturbed by whatever else the machine does.
func fastest(t testing.TB, src string, runs int) time.Duration {
	best := time.Duration(1<<63 - 1)
	for range runs {
		start := time.Now()
		if _, err := Render(src); err != nil {
			t.Fatalf("Render: %v", err)
		}
		best = min(best, time.Since(start))
	}
	return best
}

// TestPathologicalAsFastAsPlain renders each input that used to take
// hundreds of milliseconds at the size cap and compares its time with
// ordinary Markdown of the same size, measured in the same run: a ratio,
// not a wall-clock bound. Unguarded, "[a](" repeated to 32 KiB took 50 to
// 100 times as long as the plain post; guarded, every input here stays
// within a few times.
func TestPathologicalAsFastAsPlain(t *testing.T) {
	if testing.Short() {
		t.Skip("times renders")
	}
	const bound = 20
	plainSrc := plainOfSize(MaxSourceBytes)
	plain := fastest(t, plainSrc, 5)
	for _, in := range superlinear {
		src := in.make(MaxSourceBytes)
		if len(src) > MaxSourceBytes {
			t.Fatalf("%s: %d bytes, over the cap", in.name, len(src))
		}
		took := fastest(t, src, 3)
		ratio := float64(took) / float64(plain)
		// A busy machine can slow one measurement: over the bound, both
		// are measured again, side by side, and the input fails only if
		// it stays over (unguarded inputs stay over every time).
		for retry := 0; retry < 3 && ratio > bound; retry++ {
			plain, took = fastest(t, plainSrc, 5), fastest(t, src, 5)
			ratio = float64(took) / float64(plain)
		}
		t.Logf("%-34s %6d bytes %10v, %5.1f× plain (%v)", in.name, len(src), took, ratio, plain)
		if ratio > bound {
			t.Errorf("%s: %v, %.0f times ordinary Markdown of the same size (%v); want at most %d times", in.name, took, ratio, plain, bound)
		}
	}
}

// TestGuardsKeepOrdinaryMarkdown renders ordinary and tricky but
// reasonable Markdown with and without the guards: the HTML is the same,
// byte for byte.
func TestGuardsKeepOrdinaryMarkdown(t *testing.T) {
	sources := []string{
		benchPost,
		"[Foo (bar)](https://en.wikipedia.org/wiki/Foo_(bar)) and [x](<https://e.com/a b> \"t\")",
		"[a](https://e.com/((((nested)))) 'title') [b](/p \"t\") [c](/p (t)) [d]() [e][] [f][e]\n\n[e]: /u",
		"[x](<a>) [y](\n/next-line) [z](/u\n\"title on the next line\")",
		"![i](https://e.com/i.png) [![i](https://e.com/i.png)](https://e.com)",
		"> quote\n> > nested\n> > > three\n>\n> - list in quote\n>   1. ordered\n>      - deeper",
		strings.Repeat("> ", 20) + "twenty deep",
		strings.Repeat("- ", 20) + "twenty lists",
		"*em* **strong** ***both*** _em_ __strong__ ~~gone~~ ~one~ snake_case_name a*b*c 2*3*4",
		"***a** b* **a *b*** *a **b** c* _a __b__ c_ ~~a **b** c~~",
		"some_function_name(arg_one, arg_two) and __init__ and *args **kwargs",
		"| a | *b* |\n|---|:-:|\n| [l](/u) | `c` |",
		"- [ ] task\n- [x] done *em*\n\n1. one\n2. two\n\n    code\n\n```\n[a](((((\n```",
		"`[a](` and `*a_` in code, \\[not a link\\](x) and \\*not em\\*",
		"www.example.com/a_(b) https://e.com/x*y* a@b.co",
	}
	for _, name := range goldenSources(t) {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, string(b))
	}
	corpus := readXSSCorpus(t)
	sources = append(sources, corpus...)
	sources = append(sources, strings.Join(corpus, "\n\n"))
	plain := newMarkdown(false)
	for _, src := range sources {
		var guarded, unguarded bytes.Buffer
		if err := md.Convert([]byte(src), &guarded); err != nil {
			t.Fatal(err)
		}
		if err := plain.Convert([]byte(src), &unguarded); err != nil {
			t.Fatal(err)
		}
		if guarded.String() != unguarded.String() {
			t.Errorf("the guards changed %.200q:\nguarded   %.400s\nunguarded %.400s", src, guarded.String(), unguarded.String())
		}
	}
}

func goldenSources(t *testing.T) []string {
	names, err := filepath.Glob(filepath.Join("testdata", "golden", "*.md"))
	if err != nil || len(names) == 0 {
		t.Fatalf("golden sources: %v %v", names, err)
	}
	return names
}

// TestGuardBounds shows what each guard does at its bound.
func TestGuardBounds(t *testing.T) {
	render := func(src string) string {
		t.Helper()
		out, err := Render(src)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	// Parentheses in a destination: 32 levels make a link, 33 do not.
	deep := func(n int) string {
		return "[a](/" + strings.Repeat("(", n) + "x" + strings.Repeat(")", n) + ")"
	}
	if out := render(deep(maxLinkParens)); !strings.Contains(out, "<a href=") {
		t.Errorf("%d nested parentheses: no link in %s", maxLinkParens, out)
	}
	if out := render(deep(maxLinkParens + 1)); strings.Contains(out, "<a href=") {
		t.Errorf("%d nested parentheses: a link in %s", maxLinkParens+1, out)
	}
	// A "<" inside a <...> destination ends it, as CommonMark says.
	if out := render("[a](<b<c>)"); strings.Contains(out, "<a href=") {
		t.Errorf("[a](<b<c>) made a link: %s", out)
	}
	// A refused destination leaves the shortcut reference.
	if out := render("[a](<b<c>)\n\n[a]: /ref"); !strings.Contains(out, `href="/ref"`) {
		t.Errorf("the shortcut reference is lost: %s", out)
	}
	// Links in one paragraph: maxLinkClosers of them; the rest is text.
	links := render(strings.Repeat("[a](/u) ", maxLinkClosers+10))
	if n := strings.Count(links, "<a href="); n != maxLinkClosers {
		t.Errorf("%d links in one paragraph, want %d", n, maxLinkClosers)
	}
	// Emphasis in one block: maxDelimiters delimiters, then text.
	em := render(strings.Repeat("*a* ", maxDelimiters))
	if n := strings.Count(em, "<em>"); n != maxDelimiters/2 {
		t.Errorf("%d emphasized words, want %d", n, maxDelimiters/2)
	}
	// Underscores inside words are no delimiters and use none of the
	// bound.
	em = render(strings.Repeat("snake_case_name ", 2*maxDelimiters) + "*last*")
	if !strings.Contains(em, "<em>last</em>") {
		t.Errorf("emphasis after many intraword underscores is lost: %.200s", em)
	}
	// The next paragraph has its own count.
	if out := render(strings.Repeat("*a* ", maxDelimiters+10) + "\n\n*b*"); !strings.Contains(out, "<em>b</em>") {
		t.Errorf("the count did not start again in the next paragraph")
	}
	// Quotes: maxOpenBlocks open, the rest of the line is text.
	out := render(strings.Repeat(">", 3*maxOpenBlocks) + " deep")
	if n := strings.Count(out, "<blockquote>"); n > maxNesting || n < maxNesting/2 {
		t.Errorf("%d quotes", n)
	}
	if !strings.Contains(out, "deep") {
		t.Errorf("text lost: %.300s", out)
	}
}

// BenchmarkRenderScaling renders each input of superlinear at 8 KiB and at
// four times that, and reports both times and their ratio (4N/N): about 4
// when rendering is linear in the size (garbage collection adds some), 16
// when it is quadratic. Run with:
//
//	go test -run '^$' -bench RenderScaling ./server/markup
func BenchmarkRenderScaling(b *testing.B) {
	const n = MaxSourceBytes / 4
	cases := append([]struct {
		name string
		make func(int) string
	}{{"plain", plainOfSize}}, superlinear...)
	for _, c := range cases {
		small, large := c.make(n), c.make(4*n)
		b.Run(strings.ReplaceAll(c.name, " ", "_"), func(b *testing.B) {
			var tSmall, tLarge time.Duration
			for b.Loop() {
				tSmall += fastest(b, small, 1)
				tLarge += fastest(b, large, 1)
			}
			b.ReportMetric(float64(tSmall.Microseconds())/float64(b.N), "µs-8KiB/op")
			b.ReportMetric(float64(tLarge.Microseconds())/float64(b.N), "µs-32KiB/op")
			b.ReportMetric(float64(tLarge)/float64(tSmall), "4N/N")
		})
	}
}
