package markup

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// mentionKey carries, in a render's parser context, the test of whether a
// name belongs to a person.
var mentionKey = parser.NewContextKey()

// RenderMentions is Render, with every "@name" of a person (isPerson says
// which names are) turned into a link to their page, /users/NAME. Names
// of nobody stay plain text, as do mentions in code and in links.
func RenderMentions(source string, isPerson func(name string) bool) (template.HTML, error) {
	if isPerson == nil {
		return Render(source)
	}
	pc := parser.NewContext()
	pc.Set(mentionKey, isPerson)
	return render(source, parser.WithContext(pc))
}

// mentionLinker turns mentions of people into links. It runs before
// linkGuard, which gives them their rel like every link.
type mentionLinker struct{}

func (mentionLinker) Transform(doc *ast.Document, reader text.Reader, pc parser.Context) {
	isPerson, _ := pc.Get(mentionKey).(func(string) bool)
	if isPerson == nil {
		return
	}
	source := reader.Source()
	var texts []*ast.Text
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link, *ast.AutoLink, *ast.CodeSpan, *ast.CodeBlock, *ast.FencedCodeBlock, *ast.Image:
			return ast.WalkSkipChildren, nil
		case *ast.Text:
			if bytes.IndexByte(n.Segment.Value(source), '@') >= 0 {
				texts = append(texts, n)
			}
		}
		return ast.WalkContinue, nil
	})
	for _, t := range texts {
		linkMentions(t, source, isPerson)
	}
}

// linkMentions splits a text node around the mentions of people it holds.
func linkMentions(t *ast.Text, source []byte, isPerson func(string) bool) {
	seg := t.Segment
	value := seg.Value(source)
	parent := t.Parent()
	soft, hard := t.SoftLineBreak(), t.HardLineBreak()
	var before ast.Node = t
	start := 0 // of the text not yet placed, within value
	for i := 0; i < len(value); i++ {
		if value[i] != '@' || (i > 0 && isNameByte(value[i-1])) {
			continue
		}
		j := i + 1
		for j < len(value) && isNameByte(value[j]) {
			j++
		}
		// Names end on a letter or digit ("@sam." mentions sam).
		for j > i+1 && (value[j-1] == '.' || value[j-1] == '-') {
			j--
		}
		name := string(value[i+1 : j])
		if len(name) < 3 || len(name) > 30 || !isPerson(name) {
			continue
		}
		if start == 0 {
			t.Segment = text.NewSegment(seg.Start, seg.Start+i)
			t.SetSoftLineBreak(false)
			t.SetHardLineBreak(false)
		} else {
			head := ast.NewTextSegment(text.NewSegment(seg.Start+start, seg.Start+i))
			parent.InsertAfter(parent, before, head)
			before = head
		}
		link := ast.NewLink()
		link.Destination = fmt.Appendf(nil, "/users/%s", strings.ToLower(name))
		link.AppendChild(link, ast.NewTextSegment(text.NewSegment(seg.Start+i, seg.Start+j)))
		parent.InsertAfter(parent, before, link)
		before = link
		start, i = j, j-1
	}
	if start == 0 {
		return
	}
	// The rest of the text, if only to carry the line's break.
	tail := ast.NewTextSegment(text.NewSegment(seg.Start+start, seg.Stop))
	tail.SetSoftLineBreak(soft)
	tail.SetHardLineBreak(hard)
	parent.InsertAfter(parent, before, tail)
}

// isNameByte tells the bytes a user name is made of.
func isNameByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '.' || b == '-'
}
