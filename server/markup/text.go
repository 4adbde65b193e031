package markup

import (
	"html/template"
	"strconv"
	"strings"

	"golang.org/x/net/html"
)

// Text returns the plain text of HTML that Render produced, for places that
// cannot show HTML: Statuspage-style plain "body" fields, search snippets,
// feed summaries and e-mail. Blocks are separated by a blank line, list items
// and table rows by a line break, table cells by a tab; list items get "- "
// or "N. " (indented by two spaces per level of nesting) and task items
// "[x] " or "[ ] ", so lists still read as lists.
// Text inside <pre> is kept as it is. Images contribute their alt text. A
// link whose text is not its address is followed by the address in
// parentheses, so a workaround's URL survives in plain text.
//
// The result is plain text, not HTML: it must be escaped like any other
// string wherever it is shown (html/template does this).
//
// It works on the token stream of golang.org/x/net/html rather than the
// parsed tree: the tree builder gives up on documents nested more than 512
// elements deep, and a summary should never be empty because of that.
func Text(h template.HTML) string {
	var w textWriter
	z := html.NewTokenizer(strings.NewReader(string(h)))
	for {
		switch z.Next() {
		case html.ErrorToken:
			// Only io.EOF is possible when reading from a string.
			return strings.TrimRight(strings.TrimLeft(w.b.String(), "\n"), " \t\n")
		case html.TextToken:
			if w.skip == 0 {
				w.text(string(z.Text()))
			}
		case html.StartTagToken:
			w.start(z.Token(), false)
		case html.SelfClosingTagToken:
			w.start(z.Token(), true)
		case html.EndTagToken:
			name, _ := z.TagName()
			w.end(string(name))
		}
	}
}

type textWriter struct {
	b     strings.Builder
	nl    int      // newlines at the end of b
	space bool     // a space is owed before the next word
	pre   int      // depth of <pre> elements
	skip  int      // depth of elements whose content is not reading matter
	open  []string // open elements, innermost last
	lists []*list  // open lists, innermost last
	cells int      // cells so far in the current table row
	links []link   // open links, innermost last
	// marker is set right after a list marker, so that a block opening
	// the item (a loose item's <p>) stays on the marker's line.
	marker bool
}

type link struct {
	href  string
	start int // length of b when the link opened
}

type list struct {
	ordered bool
	next    int
}

// brk ends the current line and leaves up to n-1 blank lines, so runs of
// nested or empty blocks never pile up empty lines.
func (w *textWriter) brk(n int) {
	if w.marker {
		return
	}
	w.space = false
	if w.b.Len() == 0 {
		return
	}
	for w.nl < n {
		w.b.WriteByte('\n')
		w.nl++
	}
}

// text writes inline text. Outside <pre> runs of white space become one
// space, as a browser shows them, and no line starts with a space.
func (w *textWriter) text(s string) {
	if s == "" {
		return
	}
	if w.pre > 0 {
		if w.marker && w.nl == 0 {
			w.b.WriteByte('\n')
		}
		w.marker = false
		w.space = false
		w.b.WriteString(s)
		if trimmed := strings.TrimRight(s, "\n"); trimmed == "" {
			w.nl += len(s)
		} else {
			w.nl = len(s) - len(trimmed)
		}
		return
	}
	words := strings.Fields(s)
	if len(words) == 0 {
		w.space = w.space || w.nl == 0
		return
	}
	if w.nl == 0 && w.b.Len() > 0 && (w.space || startsWithSpace(s)) {
		w.b.WriteByte(' ')
	}
	w.b.WriteString(strings.Join(words, " "))
	w.nl = 0
	w.space = endsWithSpace(s)
	w.marker = false
}

func startsWithSpace(s string) bool { return strings.TrimLeft(s, " \t\n\r\f") != s }
func endsWithSpace(s string) bool   { return strings.TrimRight(s, " \t\n\r\f") != s }

// blockGap is the number of newlines around each block element: 2 leaves a
// blank line.
var blockGap = map[string]int{
	"p": 2, "div": 2, "blockquote": 2, "table": 2, "pre": 2, "hr": 2,
	"h1": 2, "h2": 2, "h3": 2, "h4": 2, "h5": 2, "h6": 2,
	"section": 2, "article": 2, "header": 2, "footer": 2, "figure": 2,
	"dl": 2, "ul": 2, "ol": 2,
	"li": 1, "tr": 1, "thead": 1, "tbody": 1, "tfoot": 1, "dt": 1, "dd": 1, "figcaption": 1,
}

// gap adjusts blockGap for context: a nested list and the paragraphs of a
// loose list item belong to their item.
func (w *textWriter) gap(name string) int {
	g := blockGap[name]
	if len(w.lists) > 0 && (name == "ul" || name == "ol" || name == "p") {
		g = 1
	}
	return g
}

var voidElements = map[string]bool{
	"br": true, "hr": true, "img": true, "input": true, "wbr": true,
	"area": true, "base": true, "col": true, "embed": true, "link": true,
	"meta": true, "source": true, "track": true,
}

func (w *textWriter) start(t html.Token, selfClosing bool) {
	name := t.Data
	switch name {
	case "br":
		w.b.WriteByte('\n')
		w.nl++
		w.space = false
		w.marker = false
	case "img":
		w.text(" " + attr(t, "alt") + " ")
	case "input":
		if attr(t, "type") == "checkbox" {
			if hasAttr(t, "checked") {
				w.text("[x] ")
			} else {
				w.text("[ ] ")
			}
		}
	case "li":
		w.brk(1)
		if len(w.lists) > 0 {
			l := w.lists[len(w.lists)-1]
			if w.nl > 0 && len(w.lists) > 1 {
				// Indent nested items; written directly because text()
				// collapses white space.
				w.b.WriteString(strings.Repeat("  ", len(w.lists)-1))
				w.nl = 0
			}
			if l.ordered {
				w.text(strconv.Itoa(l.next) + ". ")
				l.next++
			} else {
				w.text("- ")
			}
			w.marker = true
		}
	case "tr":
		w.brk(1)
		w.cells = 0
	case "td", "th":
		if w.cells > 0 {
			w.b.WriteByte('\t')
			w.nl = 0
			w.space = false
		}
		w.cells++
	default:
		if g := w.gap(name); g > 0 {
			w.brk(g)
		}
	}
	if voidElements[name] || selfClosing {
		return
	}
	w.open = append(w.open, name)
	switch name {
	case "pre":
		w.pre++
	case "ul", "ol":
		l := &list{ordered: name == "ol", next: 1}
		if v, err := strconv.Atoi(attr(t, "start")); err == nil {
			l.next = v
		}
		w.lists = append(w.lists, l)
	case "script", "style", "template", "textarea", "title", "noscript":
		w.skip++
	case "a":
		w.links = append(w.links, link{href: attr(t, "href"), start: w.b.Len()})
	}
}

func (w *textWriter) end(name string) {
	// Close up to the matching open element; a stray end tag is ignored.
	i := len(w.open) - 1
	for i >= 0 && w.open[i] != name {
		i--
	}
	if i < 0 {
		return
	}
	for j := len(w.open) - 1; j >= i; j-- {
		w.close(w.open[j])
	}
	w.open = w.open[:i]
}

func (w *textWriter) close(name string) {
	switch name {
	case "pre":
		w.pre--
	case "ul", "ol":
		w.lists = w.lists[:len(w.lists)-1]
	case "script", "style", "template", "textarea", "title", "noscript":
		w.skip--
	case "a":
		l := w.links[len(w.links)-1]
		w.links = w.links[:len(w.links)-1]
		if shown := strings.TrimSpace(w.b.String()[l.start:]); l.href != "" && !sameAddress(shown, l.href) {
			w.text(" (" + l.href + ")")
		}
	}
	if g := w.gap(name); g > 0 {
		w.brk(g)
	}
}

func attr(t html.Token, key string) string {
	for _, a := range t.Attr {
		if a.Key == key && a.Namespace == "" {
			return a.Val
		}
	}
	return ""
}

func hasAttr(t html.Token, key string) bool {
	for _, a := range t.Attr {
		if a.Key == key && a.Namespace == "" {
			return true
		}
	}
	return false
}

// sameAddress tells whether a link's text already shows its address, as an
// autolink's does ("example.org" for http://example.org, an email address for
// its mailto: link).
func sameAddress(shown, href string) bool {
	for _, prefix := range []string{"", "mailto:", "http://", "https://"} {
		if prefix+shown == href || prefix+shown+"/" == href {
			return true
		}
	}
	return false
}
