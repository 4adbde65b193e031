package markup

import (
	"bytes"
	"html/template"
)

// Fragment executes the template name of t and returns its output as HTML
// for another template to include as it is. html/template has escaped
// everything in it already, in context, so this makes no text trusted that
// was not: it lets a page keep a part it renders often (a post on a thread
// page) and include it without executing it again. The output must be
// included where its template's context began (inside an element's
// content).
func Fragment(t *template.Template, name string, data any) (template.HTML, error) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil
}
