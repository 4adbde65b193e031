package markup

import (
	"html/template"
	"testing"
)

// TestFragmentIsEscaped: a fragment is what html/template made of its data,
// escaped; included in another page it stays as it was.
func TestFragmentIsEscaped(t *testing.T) {
	tmpl := template.Must(template.New("page").Parse(`{{define "item"}}<li title="{{.}}">{{.}}</li>{{end}}<ol>{{.}}</ol>`))
	frag, err := Fragment(tmpl, "item", `<script>alert(1)</script>"`)
	if err != nil {
		t.Fatal(err)
	}
	want := `<li title="&lt;script&gt;alert(1)&lt;/script&gt;&#34;">&lt;script&gt;alert(1)&lt;/script&gt;&#34;</li>`
	if string(frag) != want {
		t.Fatalf("fragment %q, want %q", frag, want)
	}
	if _, err := Fragment(tmpl, "missing", nil); err == nil {
		t.Fatal("a missing template gave no error")
	}
}
