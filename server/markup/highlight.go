package markup

import (
	"html/template"
	"strings"
)

// Highlight escapes plain text (a search snippet) and wraps the parts
// between open and close markers in <mark>. Unpaired markers are dropped, so
// the result is always balanced, escaped HTML.
func Highlight(text, open, close string) template.HTML {
	var b strings.Builder
	inside := false
	for text != "" {
		marker := open
		if inside {
			marker = close
		}
		i := strings.Index(text, marker)
		if i < 0 {
			break
		}
		b.WriteString(template.HTMLEscapeString(strings.NewReplacer(open, "", close, "").Replace(text[:i])))
		if inside {
			b.WriteString("</mark>")
		} else {
			b.WriteString("<mark>")
		}
		inside = !inside
		text = text[i+len(marker):]
	}
	b.WriteString(template.HTMLEscapeString(strings.NewReplacer(open, "", close, "").Replace(text)))
	if inside {
		b.WriteString("</mark>")
	}
	return template.HTML(b.String())
}
