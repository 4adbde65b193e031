package markup

import (
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// The guards below keep goldmark's parsing linear in the size of the
// source. Three constructs make goldmark v1.8 do work that grows with the
// square of the input (each measured on 32 KiB: hundreds of milliseconds
// where ordinary text takes a few):
//
//   - Link destinations. After "](" goldmark scans the rest of the line for
//     the end of the destination, with no bound on nested parentheses, and
//     in "<...>" form it ignores a "<" that ends it per CommonMark. Every
//     "[a](" that is not closed scans to the end of the line again.
//   - Container blocks on one line. Each ">" or list marker opened on a line
//     measures the line's indentation again from the line's start
//     (text.Reader.LineOffset), so thousands of them on one line cost
//     thousands of scans of a growing prefix.
//   - Emphasis. Delimiter processing walks back over every earlier
//     delimiter of the block for each closer that finds no opener; it lacks
//     CommonMark's "openers bottom", so "*a_*a_..." is quadratic.
//
// Each guard is an extra parser that runs before goldmark's own and steps
// in only where the construct goes past a bound no ordinary post comes
// near; below it, goldmark parses exactly as it would without the guards.

// maxLinkParens bounds the nesting of parentheses in a link destination,
// as cmark does (CommonMark allows implementations such a bound).
const maxLinkParens = 32

// maxOpenBlocks bounds the blocks open at once (quotes, lists and their
// items): twice maxNesting, because every list level is a list and an
// item. Deeper markers on a line are text of a paragraph; nestingLimit
// would flatten that depth anyway.
const maxOpenBlocks = 2 * maxNesting

// maxLinkClosers bounds the "]" of one block that goldmark's link parser
// sees. For each, it walks the nodes after the matching "[" and, for a
// reference, copies the label after looking for its line from the
// block's last line backwards; a paragraph of "[]" lines costs the square
// of its lines. Later "]" of the block are text.
const maxLinkClosers = 128

// maxDelimiters bounds the emphasis and strikethrough delimiters that can
// still match in one block (a paragraph, a heading, a table cell); later
// "*", "_" and "~" of that block are plain text. A long paragraph with heavy
// formatting has a few dozen.
const maxDelimiters = 128

var (
	links      = parser.NewLinkParser()
	paragraphs = parser.NewParagraphParser()
)

// bracketGuard stands before goldmark's link parser at every "]". Past
// maxLinkClosers in a block, a "]" is text. An inline link whose
// destination CommonMark (with cmark's bound on nested parentheses) would
// not accept, and whose end goldmark would look for to the end of the line,
// is refused: its "]" is parsed as if no "(" followed (a shortcut
// reference, or text).
type bracketGuard struct{}

func (bracketGuard) Trigger() []byte { return []byte{']'} }

func (bracketGuard) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	line, seg := block.PeekLine()
	l, pos := block.Position()
	if t := tallyOf(parent, pc); t.closers < maxLinkClosers {
		t.closers++
		if len(line) < 2 || line[1] != '(' || !badDestination(line[2:]) {
			return nil // goldmark's link parser decides, in bounded time
		}
		if n := links.Parse(parent, &hiddenParen{Reader: block, at: seg.Start + 1}, pc); n != nil {
			return n
		}
		// The link parser has closed the bracket's state; the bracket
		// itself is text. (Returning nil would let goldmark's link parser
		// try the same bracket again, with the parenthesis in view.)
		block.SetPosition(l, pos)
	}
	block.Advance(1)
	return ast.NewTextSegment(seg.WithStop(seg.Start + 1))
}

// badDestination tells whether the text after "](" starts a destination
// that cannot be one: "<" form with an unescaped "<" or no ">" on the line,
// or parentheses nested deeper than maxLinkParens. Its scan stops where
// goldmark's would, or earlier. A destination that starts on the next line
// is left to goldmark (that scan covers a line of its own).
func badDestination(rest []byte) bool {
	i := 0
	for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t') {
		i++
	}
	if i == len(rest) || rest[i] == '\n' || rest[i] == '\r' || rest[i] == ')' {
		return false
	}
	escaped := func(j int) bool { return rest[j] == '\\' && j+1 < len(rest) && util.IsPunct(rest[j+1]) }
	if rest[i] == '<' {
		for j := i + 1; j < len(rest); j++ {
			switch {
			case escaped(j):
				j++
			case rest[j] == '>':
				return false
			case rest[j] == '<' || rest[j] == '\n':
				return true
			}
		}
		return true
	}
	depth := 0
	for j := i; j < len(rest); j++ {
		switch c := rest[j]; {
		case escaped(j):
			j++
		case c == '(':
			if depth++; depth > maxLinkParens {
				return true
			}
		case c == ')':
			if depth--; depth < 0 {
				return false
			}
		case util.IsSpace(c):
			return false
		}
	}
	return false
}

// hiddenParen is a reader on which the "(" at offset at reads as a space,
// so that the link parser takes its failure path, which keeps its state
// right.
type hiddenParen struct {
	text.Reader
	at int
}

func (r *hiddenParen) Peek() byte {
	c := r.Reader.Peek()
	if _, pos := r.Reader.Position(); c == '(' && pos.Start == r.at && pos.Padding == 0 {
		return ' '
	}
	return c
}

// containerGuard opens no more quotes or lists once maxOpenBlocks blocks
// are open: the rest of the line starts a paragraph instead.
type containerGuard struct{}

func (containerGuard) Trigger() []byte { return []byte(">-+*0123456789") }

func (containerGuard) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	if _, list := parent.(*ast.List); list || len(pc.OpenedBlocks()) < maxOpenBlocks {
		// The usual parsers decide (a list holds only items: its item
		// opens, one block past the bound).
		return nil, parser.NoChildren
	}
	return paragraphs.Open(parent, reader, pc)
}

func (containerGuard) Continue(node ast.Node, reader text.Reader, pc parser.Context) parser.State {
	return paragraphs.Continue(node, reader, pc)
}

func (containerGuard) Close(node ast.Node, reader text.Reader, pc parser.Context) {
	paragraphs.Close(node, reader, pc)
}

func (containerGuard) CanInterruptParagraph() bool { return true }
func (containerGuard) CanAcceptIndentedLine() bool { return false }

// delimiterGuard turns into text the runs of "*", "_" and "~" that
// goldmark would make delimiters but that cannot take part in emphasis (a
// run that can neither open nor close), and every one past maxDelimiters in
// a block. The rest go on to goldmark's parsers.
type delimiterGuard struct{}

func (delimiterGuard) Trigger() []byte { return []byte{'*', '_', '~'} }

func (delimiterGuard) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	before := block.PrecendingCharacter()
	line, seg := block.PeekLine()
	d := parser.ScanDelimiter(line, before, 1, anyDelimiter{})
	if d == nil || line[0] == '~' && (d.OriginalLength > 2 || before == '~') {
		return nil // not a delimiter (strikethrough takes runs of one or two)
	}
	if t := tallyOf(parent, pc); (d.CanOpen || d.CanClose) && t.delimiters < maxDelimiters {
		t.delimiters++
		return nil // emphasis or strikethrough parses it
	}
	block.Advance(d.OriginalLength)
	return ast.NewTextSegment(seg.WithStop(seg.Start + d.OriginalLength))
}

var tallyKey = parser.NewContextKey()

// tally counts what the guards let through in one block.
type tally struct {
	block               ast.Node
	closers, delimiters int
}

// tallyOf is the count of the block being parsed, a new one at each block.
func tallyOf(block ast.Node, pc parser.Context) *tally {
	t, _ := pc.Get(tallyKey).(*tally)
	if t == nil || t.block != block {
		t = &tally{block: block}
		pc.Set(tallyKey, t)
	}
	return t
}

// anyDelimiter lets parser.ScanDelimiter judge a run of any of the three
// characters by CommonMark's flanking rules, as goldmark's emphasis and
// strikethrough parsers do.
type anyDelimiter struct{}

func (anyDelimiter) IsDelimiter(b byte) bool { return b == '*' || b == '_' || b == '~' }

func (anyDelimiter) CanOpenCloser(opener, closer *parser.Delimiter) bool {
	return opener.Char == closer.Char
}

func (anyDelimiter) OnMatch(int) ast.Node { return nil }
