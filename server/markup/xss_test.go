package markup

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// xssCorpus is the repository's corpus of attack strings, which the handler
// tests read too.
var xssCorpus = filepath.Join("..", "..", "testdata", "xss-payloads.txt")

type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

func readXSSCorpus(t tb) []string {
	t.Helper()
	data, err := os.ReadFile(xssCorpus)
	if err != nil {
		abs, _ := filepath.Abs(xssCorpus)
		t.Fatalf("XSS corpus missing: %v (expected at %s)", err, abs)
	}
	var lines []string
	for _, line := range strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") {
		if line != "" {
			lines = append(lines, line)
		}
	}
	if len(lines) < 100 {
		t.Fatalf("XSS corpus %s has only %d lines; is it the right file?", xssCorpus, len(lines))
	}
	return lines
}

// TestXSSCorpus renders every attack string as a post, and the whole corpus
// as one post so that reference-style links find their definitions.
func TestXSSCorpus(t *testing.T) {
	lines := readXSSCorpus(t)
	cases := make([]struct{ name, source string }, 0, len(lines)+1)
	for i, line := range lines {
		cases = append(cases, struct{ name, source string }{name: "line" + strconv.Itoa(i+1), source: line})
	}
	cases = append(cases, struct{ name, source string }{name: "whole file", source: strings.Join(lines, "\n\n")})

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Render(tc.source)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if err := CheckSafe(string(out)); err != nil {
				t.Errorf("unsafe output for %q:\n%v\noutput:\n%s", tc.source, err, out)
			}
			// The plain text is used in feeds and JSON; it must come out
			// without panicking, and is escaped where it is shown.
			_ = Text(out)
		})
	}
}

// TestXSSCorpusLinksConnect makes sure the whole-file case really exercises
// reference links: the safe reference becomes a link, the hostile ones do not.
func TestXSSCorpusLinksConnect(t *testing.T) {
	out, err := Render(strings.Join(readXSSCorpus(t), "\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `<a href="https://example.com" title="t&#34; onmouseover=&#34;alert(1)" rel="nofollow ugc noopener">click</a>`) {
		t.Errorf("reference link xss-ref-5 did not connect:\n%s", out)
	}
	if strings.Contains(strings.ToLower(string(out)), "href=\"javascript") {
		t.Errorf("javascript: href in output")
	}
}

// FuzzRender checks the same properties as TestXSSCorpus on generated
// input. Run it with:
//
//	go test -run='^$' -fuzz=FuzzRender -fuzztime=30s ./server/markup
func FuzzRender(f *testing.F) {
	lines := readXSSCorpus(f)
	for _, line := range lines {
		f.Add(line)
	}
	f.Add(strings.Join(lines, "\n\n"))
	f.Add("- [x] a\n- [ ] b\n\n| a | b |\n|:-|-:|\n| 1 | 2 |\n\n~~x~~ www.example.com a@b.co")
	f.Add("```go\n<b>&\n```\n\n> [t](https://e.com \"t\")\n\n![i](https://e.com/a.png)")
	for _, u := range []string{
		"HTTPS://E.COM/%41", "//evil.example/x", "MAILTO:a@b.c", "https://u:p@h:99999/",
		"https://[fe80::1%25en0]/", "?q=<x>", "\\\\evil/x", "https://h/a%zz", " https://h/ ",
		"https://h/#frag\"x", "/a b", "<https://h/a b>", "java\tscript:x", "https:/h", "https:h",
	} {
		f.Add("[a](" + u + ") ![b](" + u + " \"t\") <" + u + "> " + u)
	}
	// What made the parser super-linear, at a size the fuzzer can vary.
	for _, in := range superlinear {
		f.Add(in.make(2 << 10))
	}
	f.Fuzz(func(t *testing.T, source string) {
		out, err := Render(source)
		if len(source) > MaxSourceBytes {
			if !errors.Is(err, ErrTooLong) {
				t.Fatalf("Render(%d bytes) error = %v, want ErrTooLong", len(source), err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		if err := CheckSafe(string(out)); err != nil {
			t.Fatalf("unsafe output for %q:\n%v\noutput:\n%s", source, err, out)
		}
		_ = Text(out)
	})
}

// TestCheckSafeOnExtractedBody follows what handler tests do: take a post
// body out of a whole parsed page, serialize it again with x/net/html, and
// check it. Serialization differences must not make CheckSafe fail.
func TestCheckSafeOnExtractedBody(t *testing.T) {
	out, err := Render(strings.Join(readXSSCorpus(t), "\n\n") + "\n\n- [x] done\n\n| a |\n|--:|\n| 1 |\n\n![i](https://e.com/a.png \"t\")")
	if err != nil {
		t.Fatal(err)
	}
	page := `<!doctype html><html><head><title>t</title></head><body><main><div class="post-body">` + string(out) + `</div></main></body></html>`
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var body *html.Node
	var find func(n *html.Node)
	find = func(n *html.Node) {
		for _, a := range n.Attr {
			if n.Data == "div" && a.Key == "class" && a.Val == "post-body" {
				body = n
			}
		}
		for c := n.FirstChild; c != nil && body == nil; c = c.NextSibling {
			find(c)
		}
	}
	find(doc)
	if body == nil {
		t.Fatal("post body not found in page")
	}
	var b strings.Builder
	for c := body.FirstChild; c != nil; c = c.NextSibling {
		if err := html.Render(&b, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := CheckSafe(b.String()); err != nil {
		t.Errorf("CheckSafe on re-serialized body: %v", err)
	}
}
