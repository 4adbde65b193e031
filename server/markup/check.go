package markup

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// CheckSafe reports whether htmlText obeys the rules Render promises: only
// the elements and attributes the policy allows (no images), every link URL
// with an allowed scheme, every link with rel="nofollow ugc noopener", every
// checkbox named, and nothing that sanitizing again would change.
//
// It is exported for tests, here and in the server package, which run it on
// post bodies taken from whole rendered pages. It judges HTML the way a
// browser would see it, by tokenizing and parsing it with
// golang.org/x/net/html, never by searching for strings. Serialization
// details (<br> or <br/>, &quot; or &#34;) do not matter; structure does.
// The returned error lists every problem found.
func CheckSafe(htmlText string) error {
	var errs []error
	report := func(format string, args ...any) {
		if len(errs) < 20 {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}

	// Tokens first: a fragment parse merges <body> and <html> attributes into
	// elements it does not return, so tags are checked as written.
	z := html.NewTokenizer(strings.NewReader(htmlText))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if err := z.Err(); err != io.EOF {
				report("tokenizing: %v", err)
			}
			break
		}
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			t := z.Token()
			checkElement(t.Data, "", t.Attr, report)
		case html.EndTagToken:
			t := z.Token()
			if _, ok := allowedAttrs[t.Data]; !ok {
				report("end tag </%s> of an element that is not allowed", t.Data)
			}
		case html.CommentToken:
			report("comment <!--%s-->", z.Token().Data)
		case html.DoctypeToken:
			report("doctype")
		}
	}

	// Then the tree, as a browser builds it: this catches content that ends
	// up in SVG or MathML, where the same tag names mean other things.
	nodes, err := parseFragment(htmlText)
	if err != nil {
		report("parsing: %v", err)
	} else {
		var walk func(n *html.Node)
		walk = func(n *html.Node) {
			switch n.Type {
			case html.ElementNode:
				checkElement(n.Data, n.Namespace, n.Attr, report)
			case html.TextNode:
			default:
				report("unexpected node type %d in the tree", n.Type)
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
		}
		for _, n := range nodes {
			walk(n)
		}
	}

	// Finally, the policy must have nothing left to remove.
	before, err1 := normalize(htmlText)
	after, err2 := normalize(policy.Sanitize(htmlText))
	if err1 == nil && err2 == nil && before != after {
		report("sanitizing again changes the HTML:\n%s\nbecomes\n%s", before, after)
	}

	return errors.Join(errs...)
}

// attrCheck validates one attribute value; it returns a reason to refuse it.
type attrCheck func(val string) string

func anyValue(string) string { return "" }

func matching(re *regexp.Regexp) attrCheck {
	return func(val string) string {
		if !re.MatchString(val) {
			return "value not allowed"
		}
		return ""
	}
}

func hrefCheck(val string) string {
	switch s := urlScheme(val); s {
	case "", "http", "https", "mailto":
		return ""
	default:
		return "scheme " + s + ": not allowed"
	}
}

// allowedAttrs lists every allowed element with its allowed attributes.
var allowedAttrs = map[string]map[string]attrCheck{
	"p": nil, "br": nil, "hr": nil,
	"h1": nil, "h2": nil, "h3": nil, "h4": nil, "h5": nil, "h6": nil,
	"em": nil, "strong": nil, "del": nil,
	"pre": nil, "blockquote": nil, "ul": nil, "li": nil,
	"table": nil, "thead": nil, "tbody": nil, "tr": nil,
	"a":     {"href": hrefCheck, "title": anyValue, "rel": matching(relValue)},
	"code":  {"class": matching(codeClass)},
	"ol":    {"start": matching(listStart)},
	"th":    {"align": matching(cellAlign)},
	"td":    {"align": matching(cellAlign)},
	"input": {"type": matching(checkboxTy), "checked": matching(emptyValue), "disabled": matching(emptyValue), "aria-label": anyValue},
}

// requiredAttrs must be present: a link without rel, or a checkbox that can
// be ticked or has no name, is a sign that something other than Render
// produced the HTML.
var requiredAttrs = map[string][]string{
	"a":     {"rel"},
	"input": {"type", "disabled", "aria-label"},
}

func checkElement(name, namespace string, attrs []html.Attribute, report func(string, ...any)) {
	if namespace != "" {
		report("<%s> in the %s namespace", name, namespace)
		return
	}
	rules, ok := allowedAttrs[name]
	if !ok {
		report("element <%s> is not allowed", name)
		return
	}
	seen := make(map[string]bool, len(attrs))
	for _, a := range attrs {
		key := a.Key
		if a.Namespace != "" {
			key = a.Namespace + ":" + a.Key
		}
		if seen[key] {
			report("<%s> repeats attribute %s", name, key)
		}
		seen[key] = true
		check, ok := rules[key]
		if !ok {
			report("<%s> has attribute %s=%q, which is not allowed", name, key, a.Val)
			continue
		}
		if why := check(a.Val); why != "" {
			report("<%s %s=%q>: %s", name, key, a.Val, why)
		}
	}
	for _, key := range requiredAttrs[name] {
		if !seen[key] {
			report("<%s> lacks the %s attribute", name, key)
		}
	}
}

// parseFragment parses HTML as the content of a <body>, which is where post
// bodies end up.
func parseFragment(s string) ([]*html.Node, error) {
	return html.ParseFragment(strings.NewReader(s), &html.Node{
		Type:     html.ElementNode,
		Data:     "body",
		DataAtom: atom.Body,
	})
}

// normalize parses and serializes HTML so that two texts with the same
// structure compare equal.
func normalize(s string) (string, error) {
	nodes, err := parseFragment(s)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, n := range nodes {
		if err := html.Render(&b, n); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}
