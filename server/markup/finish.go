package markup

import (
	"bytes"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// finish is the last step before sanitizing: it rewrites what goldmark
// rendered in two ways.
//
// Images become links to them. A post is read by many people, and an
// <img> would make each reader's browser fetch the picture from whatever
// host the author chose, telling that host who reads the forum, when and
// from where (a tracking pixel needs nothing more), and showing whatever
// the host serves by then. As a link, the picture is one click away, and
// only readers who click contact the host. A link cannot sit inside a
// link, so an image inside one (a badge linking somewhere) becomes its alt
// text. The policy allows no <img> at all, so nothing else can bring one.
//
// A task list's checkbox is named by its item's text (aria-label):
// goldmark writes a bare <input>, which a screen reader announces as an
// unlabelled checkbox.
//
// Its input is goldmark's output, so it works on tokens, and whatever it
// writes is sanitized afterwards like the rest.
func finish(in []byte) []byte {
	if !bytes.Contains(in, []byte("<img")) && !bytes.Contains(in, []byte("<input")) {
		return in
	}
	toks := tokenize(in)
	var out bytes.Buffer
	out.Grow(len(in) + len(in)/8)
	links := 0 // links open around the current rawToken
	for i, t := range toks {
		switch {
		case t.Type == html.StartTagToken && t.Data == "a":
			links++
		case t.Type == html.EndTagToken && t.Data == "a":
			links = max(links-1, 0)
		case isTag(t, "img"):
			src, alt, title := attr(t.Token, "src"), strings.TrimSpace(attr(t.Token, "alt")), attr(t.Token, "title")
			if links > 0 {
				if alt == "" {
					alt = "image"
				}
				out.WriteString(html.EscapeString(alt))
				continue
			}
			text := "Image: " + alt
			if alt == "" {
				text = "Image: " + src
			}
			a := html.Token{Type: html.StartTagToken, Data: "a", Attr: []html.Attribute{{Key: "href", Val: src}, {Key: "rel", Val: linkRel}}}
			if title != "" {
				a.Attr = append(a.Attr, html.Attribute{Key: "title", Val: title})
			}
			out.WriteString(a.String())
			out.WriteString(html.EscapeString(text))
			out.WriteString("</a>")
			continue
		case isTag(t, "input") && attr(t.Token, "type") == "checkbox":
			box := t.Token
			box.Attr = append(slices.Clip(box.Attr), html.Attribute{Key: "aria-label", Val: taskLabel(toks[i+1:])})
			out.WriteString(box.String())
			continue
		}
		out.Write(t.raw)
	}
	return out.Bytes()
}

// rawToken is one token with the bytes it was read from.
type rawToken struct {
	html.Token
	raw []byte
}

func tokenize(in []byte) []rawToken {
	z := html.NewTokenizer(bytes.NewReader(in))
	var toks []rawToken
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return toks
		}
		raw := bytes.Clone(z.Raw())
		toks = append(toks, rawToken{Token: z.Token(), raw: raw})
	}
}

func isTag(t rawToken, name string) bool {
	return (t.Type == html.StartTagToken || t.Type == html.SelfClosingTagToken) && t.Data == name
}

// taskLabelMax bounds a checkbox's label, in characters.
const taskLabelMax = 200

// taskLabel is the text of a task item, read from the tokens after its
// checkbox up to the end of the item's own text: the end of the item or
// paragraph, or the start of a nested block (a sub-list keeps its own
// labels). Images count by their alt text.
func taskLabel(rest []rawToken) string {
	var b strings.Builder
text:
	for _, t := range rest {
		switch t.Type {
		case html.TextToken:
			b.WriteString(t.Data)
		case html.EndTagToken:
			if t.Data == "li" || t.Data == "p" {
				break text
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			switch t.Data {
			case "img":
				b.WriteString(attr(t.Token, "alt"))
			case "ul", "ol", "li", "p", "pre", "blockquote", "table", "hr", "h1", "h2", "h3", "h4", "h5", "h6":
				break text
			}
		}
	}
	label := strings.Join(strings.Fields(b.String()), " ")
	if label == "" {
		return "Task"
	}
	if utf8.RuneCountInString(label) > taskLabelMax {
		label = string([]rune(label)[:taskLabelMax-1]) + "…"
	}
	return label
}
