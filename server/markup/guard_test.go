package markup

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOnlyMarkupMakesTemplateHTML keeps THREATS item 4 true: converting a
// string to template.HTML switches off html/template's escaping, so only
// this package may do it. It scans every non-test .go file of the module.
func TestOnlyMarkupMakesTemplateHTML(t *testing.T) {
	root := filepath.Join("..", "..")
	if mod, err := os.ReadFile(filepath.Join(root, "go.mod")); err != nil || !strings.Contains(string(mod), "module sitrep") {
		t.Fatalf("cannot find the repository root at %s (go.mod of module sitrep): %v", root, err)
	}
	self, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	scanned := 0
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			if abs, err := filepath.Abs(path); err == nil && abs == self {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		scanned++
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		reported := map[int]bool{}
		for i, line := range strings.Split(string(src), "\n") {
			if strings.Contains(line, "template.HTML(") {
				t.Errorf("%s:%d: template.HTML( outside server/markup; render user text with markup.Render instead", path, i+1)
				reported[i+1] = true
			}
		}
		for _, c := range trustedTypeConversions(t, path, src) {
			if !reported[c.pos.Line] {
				t.Errorf("%s: %s outside server/markup bypasses html/template escaping", c.pos, c.what)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned == 0 {
		t.Fatal("scanned no .go files; is the walk rooted at the repository?")
	}
}

// Guard against the rule being dodged by an import alias
// (htmltemplate.HTML(s)) or by html/template's other trusted types, which
// switch off escaping in the same way.
func TestTrustedTypeConversionsDetector(t *testing.T) {
	src := []byte(`package x
import ht "html/template"
var a = ht.HTML(s)
var b = ht.URL(s)
var c ht.HTML
`)
	got := trustedTypeConversions(t, "x.go", src)
	if len(got) != 2 {
		t.Fatalf("found %v, want the HTML and URL conversions", got)
	}
}

type conversion struct {
	pos  token.Position
	what string
}

func (c conversion) String() string { return c.pos.String() + " " + c.what }

// trustedTypes are html/template's types that mark a string as safe and so
// switch off escaping for it.
var trustedTypes = map[string]bool{
	"HTML": true, "HTMLAttr": true, "JS": true, "JSStr": true,
	"CSS": true, "URL": true, "Srcset": true,
}

// trustedTypeConversions finds calls of the form NAME.T(...) where NAME is
// the file's name for html/template and T one of its trusted types.
func trustedTypeConversions(t *testing.T, path string, src []byte) []conversion {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return nil
	}
	var names []string
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if p != "html/template" {
			continue
		}
		name := "template"
		if imp.Name != nil {
			name = imp.Name.Name
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil
	}
	var found []conversion
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || !trustedTypes[sel.Sel.Name] {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); ok {
			for _, name := range names {
				if id.Name == name {
					found = append(found, conversion{fset.Position(call.Pos()), fmt.Sprintf("conversion to html/template.%s", sel.Sel.Name)})
				}
			}
		}
		return true
	})
	return found
}
