package markup

import "testing"

func TestHighlight(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                          "plain",
		"a [hit] b":                      "a <mark>hit</mark> b",
		"<script>[x]</script> & [y":      "&lt;script&gt;<mark>x</mark>&lt;/script&gt; &amp; <mark>y</mark>",
		"]stray close [two] [three]":     "stray close <mark>two</mark> <mark>three</mark>",
		`"quotes" ['single']`:            "&#34;quotes&#34; <mark>&#39;single&#39;</mark>",
		"[<img src=x onerror=alert(1)>]": "<mark>&lt;img src=x onerror=alert(1)&gt;</mark>",
	} {
		got := string(Highlight(in, "[", "]"))
		if got != want {
			t.Errorf("Highlight(%q) = %q, want %q", in, got, want)
		}
	}
}
