// Package markup turns the Markdown that people write into HTML that is safe
// to put on a page. It is the only place in the program that creates
// template.HTML from user text, so every rule about what a post may contain
// lives here and nowhere else.
//
// Rendering happens in two steps, always in this order: goldmark renders the
// Markdown with its safe defaults (raw HTML omitted, no attribute syntax), and
// then a bluemonday allow-list policy sanitizes the result. Sanitizing the
// source first would mangle quotes and code and let Markdown build links the
// sanitizer never saw; sanitizing last means the policy is the final word on
// everything goldmark produced.
package markup

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// MaxSourceBytes caps the Markdown source of one post. Markdown parsing can be
// made slow with deliberately nested input; a cap bounds the work per post,
// and posts are rendered once, when written, not on every view.
const MaxSourceBytes = 32 << 10

// ErrTooLong is returned by Render for sources over MaxSourceBytes. Its
// message is meant to be shown to the person who wrote the post.
var ErrTooLong = errors.New("A post can be at most 32 KiB of text.")

// linkRel is set on every link: posts are user-generated content that search
// engines should not credit (nofollow, ugc), and a linked page must not get a
// handle on the forum's window (noopener).
const linkRel = "nofollow ugc noopener"

var md = newMarkdown(true)

// newMarkdown builds the Markdown renderer. Only tests build it without its
// guards (guarded false), to show that the guards change nothing in
// ordinary text.
func newMarkdown(guarded bool) goldmark.Markdown {
	parserOptions := []parser.Option{
		parser.WithASTTransformers(
			util.Prioritized(nestingLimit{}, 100),
			util.Prioritized(mentionLinker{}, 150),
			util.Prioritized(linkGuard{}, 200),
		),
	}
	if guarded {
		// Guards that keep parsing linear in the size of the source
		// (guards.go), each before the goldmark parsers it guards.
		parserOptions = append(parserOptions,
			parser.WithBlockParsers(util.Prioritized(containerGuard{}, 10)),
			parser.WithInlineParsers(
				util.Prioritized(bracketGuard{}, 150),
				util.Prioritized(delimiterGuard{}, 450),
			))
	}
	return goldmark.New(
		goldmark.WithExtensions(
			// Only web links are turned into links automatically; plain e-mail
			// addresses still become mailto: links.
			extension.NewLinkify(extension.WithLinkifyAllowedProtocols([]string{"http:", "https:"})),
			// Alignment as the align attribute, because the policy allows no
			// style attributes at all.
			extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
			extension.Strikethrough,
			extension.TaskList,
		),
		goldmark.WithParserOptions(parserOptions...),
		goldmark.WithRendererOptions(
			// People type posts in a text area and expect a line break to stay
			// a line break, as on GitHub comments and most forums.
			html.WithHardWraps(),
		),
	)
}

// Render converts a post's Markdown source to sanitized HTML. Call it once
// when a post is written and store the result: the output is what pages show.
func Render(source string) (template.HTML, error) { return render(source) }

func render(source string, opts ...parser.ParseOption) (template.HTML, error) {
	if len(source) > MaxSourceBytes {
		return "", ErrTooLong
	}
	// CommonMark asks for U+0000 to be replaced; invalid UTF-8 is replaced
	// too so that stored HTML is always valid text.
	src := strings.ToValidUTF8(source, "\uFFFD")
	src = strings.ReplaceAll(src, "\x00", "\uFFFD")

	var buf bytes.Buffer
	buf.Grow(len(src) + len(src)/2 + 64)
	if err := md.Convert([]byte(src), &buf, opts...); err != nil {
		return "", fmt.Errorf("markup: render: %w", err)
	}
	return template.HTML(policy.SanitizeBytes(finish(buf.Bytes()))), nil
}

// maxNesting bounds how deeply quotes, lists, emphasis and strikethrough
// nest. A few levels are normal; thousands ("> > > ..." or "- - - ...") are an
// attack: 32 KiB of such source renders to close to a megabyte of HTML, and
// HTML parsers stop at 512 open elements (Blink flattens the rest,
// golang.org/x/net/html refuses the document), so the output could no
// longer be checked the way a browser reads it.
const maxNesting = 32

// nestingLimit removes the wrappers nested deeper than maxNesting, keeping
// their content in place.
type nestingLimit struct{}

func (nestingLimit) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	var deep []ast.Node
	depth := 0
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		switch n.(type) {
		case *ast.Blockquote, *ast.List, *ast.Emphasis, *east.Strikethrough:
		default:
			return ast.WalkContinue, nil
		}
		if !entering {
			depth--
			return ast.WalkContinue, nil
		}
		depth++
		if depth > maxNesting {
			deep = append(deep, n)
		}
		return ast.WalkContinue, nil
	})
	for _, n := range deep {
		if _, ok := n.(*ast.List); ok {
			// An item outside its list would be invalid HTML.
			for c := n.FirstChild(); c != nil; {
				next := c.NextSibling()
				unwrapNode(c)
				c = next
			}
		}
		unwrapNode(n)
	}
}

// unwrapNode replaces n by its children. Parents are read when this runs,
// after the walk, so nodes unwrapped earlier are already out of the way.
func unwrapNode(n ast.Node) {
	parent := n.Parent()
	if parent == nil {
		return
	}
	for c := n.FirstChild(); c != nil; {
		next := c.NextSibling()
		parent.InsertBefore(parent, n, c)
		c = next
	}
	parent.RemoveChild(parent, n)
}

// linkGuard runs on the parsed document before rendering. It gives every
// link its rel attribute and turns links and images whose URL the policy
// would refuse into plain text. The sanitizer would strip those URLs anyway;
// doing it here leaves readable text instead of dead links and broken images.
type linkGuard struct{}

func (linkGuard) Transform(doc *ast.Document, reader text.Reader, _ parser.Context) {
	source := reader.Source()
	var unwrap []ast.Node
	var replace []*ast.AutoLink
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link:
			if linkURLAllowed(util.URLEscape(n.Destination, true)) {
				n.SetAttributeString("rel", linkRel)
			} else {
				unwrap = append(unwrap, n)
			}
		case *ast.AutoLink:
			if n.AutoLinkType == ast.AutoLinkEmail || linkURLAllowed(util.URLEscape(n.URL(source), false)) {
				n.SetAttributeString("rel", linkRel)
			} else {
				replace = append(replace, n)
			}
		case *ast.Image:
			if !imageURLAllowed(util.URLEscape(n.Destination, true)) {
				unwrap = append(unwrap, n)
			}
		}
		return ast.WalkContinue, nil
	})
	// Changed after the walk, not during it.
	for _, n := range unwrap {
		unwrapNode(n)
	}
	for _, n := range replace {
		parent := n.Parent()
		if parent == nil {
			continue
		}
		s := ast.NewString(n.Label(source))
		s.SetRaw(true) // escaped as text, no entity or backslash processing
		parent.ReplaceChild(parent, n, s)
	}
}

// linkURLAllowed reports whether an href is relative or uses http, https or
// mailto, and parses the way the sanitizer will parse it.
func linkURLAllowed(u []byte) bool {
	switch urlScheme(string(u)) {
	case "", "http", "https", "mailto":
	default:
		return false
	}
	_, err := url.Parse(strings.TrimSpace(string(u)))
	return err == nil
}

// imageURLAllowed accepts only absolute http(s) URLs with a host. Relative
// images are refused: they would make every reader's browser send a
// cookie-carrying request to a path on this site chosen by the author, and
// they break in feeds and e-mails. data: images are refused as well.
func imageURLAllowed(u []byte) bool {
	s := strings.TrimSpace(string(u))
	if !imageSrc.MatchString(s) {
		return false
	}
	p, err := url.Parse(s)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}

// urlScheme returns the lower-cased scheme of a URL as a browser would read
// it, or "" for a relative URL. Browsers drop tabs and newlines anywhere in a
// URL and trim leading and trailing control characters and spaces before
// looking for the scheme, so "java\tscript:" is a javascript: URL to them;
// this function does the same so that such tricks are seen for what they are.
func urlScheme(raw string) string {
	s := strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, raw)
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return strings.ToLower(s[:i])
		default:
			return ""
		}
	}
	return ""
}
