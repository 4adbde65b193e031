package markup

import (
	"regexp"

	"github.com/microcosm-cc/bluemonday"
)

// Attribute values the policy accepts. They are anchored and narrow on
// purpose: anything goldmark does not produce for ordinary Markdown is
// refused. CheckSafe uses the same expressions.
var (
	relValue   = regexp.MustCompile(`^` + regexp.QuoteMeta(linkRel) + `$`)
	imageSrc   = regexp.MustCompile(`(?i)^https?://`)
	codeClass  = regexp.MustCompile(`^language-[A-Za-z0-9][A-Za-z0-9_.+#-]{0,39}$`)
	listStart  = regexp.MustCompile(`^[0-9]{1,9}$`)
	cellAlign  = regexp.MustCompile(`^(left|center|right)$`)
	checkboxTy = regexp.MustCompile(`^checkbox$`)
	emptyValue = regexp.MustCompile(`^$`)
)

// policy is built once: a bluemonday Policy is safe for concurrent use once
// built, and building it per call would be wasted work.
var policy = newPolicy()

// newPolicy allows what goldmark with the GitHub extensions emits and
// nothing else. It starts from an empty policy rather than bluemonday's UGC
// policy so that every allowed element and attribute is listed here.
func newPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()

	p.AllowElements(
		"p", "br", "hr",
		"h1", "h2", "h3", "h4", "h5", "h6",
		"em", "strong", "del",
		"code", "pre", "blockquote",
		"ul", "ol", "li",
		"table", "thead", "tbody", "tr", "th", "td",
	)

	// URLs must parse; links may be relative or http, https or mailto.
	p.RequireParseableURLs(true)
	p.AllowRelativeURLs(true)
	p.AllowURLSchemes("http", "https", "mailto")

	p.AllowAttrs("href", "title").OnElements("a")
	// goldmark sets rel on every link; only that exact value survives.
	p.AllowAttrs("rel").Matching(relValue).OnElements("a")
	// A safety net: should a link ever arrive without rel, bluemonday adds
	// at least nofollow (and CheckSafe fails, because rel is not exact).
	p.RequireNoFollowOnLinks(true)

	// No images: finish makes them links, so that reading a post contacts
	// no other host.

	// The fenced code block's language, for client-side highlighting.
	p.AllowAttrs("class").Matching(codeClass).OnElements("code")
	// "3. item" starts an ordered list at 3.
	p.AllowAttrs("start").Matching(listStart).OnElements("ol")
	// Table column alignment.
	p.AllowAttrs("align").Matching(cellAlign).OnElements("th", "td")
	// Task list items: a checkbox that cannot be changed and is not part of
	// any form (no name, no form attribute).
	p.AllowAttrs("type").Matching(checkboxTy).OnElements("input")
	p.AllowAttrs("checked", "disabled").Matching(emptyValue).OnElements("input")
	// The checkbox's name for screen readers: its item's text (finish).
	p.AllowAttrs("aria-label").OnElements("input")

	return p
}
