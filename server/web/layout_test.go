package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// parsePackage parses the non-test Go files of the package in dir.
func parsePackage(t *testing.T, dir string) []*ast.File {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		t.Fatalf("no Go files in %s", dir)
	}
	return files
}

func imports(f *ast.File) []string {
	var out []string
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		out = append(out, p)
	}
	return out
}

// TestSeams keeps the packages' borders where the layout puts them: the
// visitors' cache knows HTTP but nothing of the application's data or
// sessions, the Statuspage package does not reach back into the web
// application, and the web application uses the Statuspage package only
// through what it exports for mounting.
func TestSeams(t *testing.T) {
	for _, dir := range []string{"../httpcache", "../statuspage"} {
		for _, f := range parsePackage(t, dir) {
			for _, p := range imports(f) {
				forbidden := p == "sitrep/server/web" || dir == "../httpcache" && (p == "sitrep/models" || strings.HasPrefix(p, "sitrep/"))
				if forbidden {
					t.Errorf("%s imports %s", dir, p)
				}
			}
		}
	}
	mount := []string{"Site", "Route", "Prefix", "MaxAge", "CORS", "Preflight"}
	for _, f := range parsePackage(t, ".") {
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "statuspage" && !slices.Contains(mount, sel.Sel.Name) {
				t.Errorf("web uses statuspage.%s; it mounts the API through %v only", sel.Sel.Name, mount)
			}
			return true
		})
	}
}
