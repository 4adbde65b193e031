package models

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"sitrep/server/markup"
)

// The words of a generated site. Posts are made of sentences whose slots
// are filled from these lists with a Zipf law, so that, as on a real forum,
// a few words are in most posts, many in one post in a hundred or a
// thousand, and the long tail (hosts, error codes, team names) in a handful.

var genServices = []string{"Mail", "Calendar", "Dashboard", "Login", "Billing", "API", "Storage", "Search"}

var (
	genObjects = strings.Fields(`message invoice attachment invite token password webhook report folder account
		server relay queue certificate domain browser phone app update export import backup signature alias
		contact group filter rule notification session cookie link chart widget payment receipt quota upload
		download share calendar meeting reminder event label draft template integration key permission`)
	genSymptoms = strings.Fields(`slow blank stuck missing duplicated delayed broken empty frozen garbled truncated
		rejected bouncing failing hanging invisible outdated corrupted unreachable misaligned`)
	genVerbs = strings.Fields(`fails stalls bounces crashes hangs retries freezes disappears reloads errors
		loops flickers expires resets`)
	genBrowsers = []string{"Firefox", "Chrome", "Safari", "Edge", "the iOS app", "the Android app", "Outlook", "Thunderbird"}
	genTimes    = []string{"this morning", "yesterday evening", "the last update", "the weekend", "9:00 UTC",
		"lunchtime", "the maintenance window", "Monday", "the migration", "the release"}
	genSyllables = strings.Fields(`ka lo mi ren tos bar vel quin dor sa phe lux nor ti gam ber cor vin zel ost
		ula pra min dex rho tal fen sor`)
)

// genSentences are what customers and staff say; {x} slots take a word.
var genSentences = []string{
	"Since {time} our {svc} {obj}s are {sym} for everyone in the {team} team.",
	"I tried clearing the cache in {browser} but the {obj} still {verb}.",
	"The error says `{code}: {obj} {sym}` whenever we open the {svc} page.",
	"Same here: {svc} {verb} every time we send through {host}.",
	"Our admin checked the {team} settings and nothing changed on our side.",
	"Is there any news on the {svc} {obj} problem? It started around {time}.",
	"We rely on {svc} for the {team} reports, so this blocks the whole department.",
	"It works in {browser} but not in {browser2}, which is odd.",
	"Restarting the {obj} sync did not help; it {verb} after a minute or two.",
	"Only {obj}s created after {time} seem to be {sym}, older ones look fine.",
	"Our {team} office sees the same {code} error on {host}.",
	"Logging out and in again fixes it for a few minutes, then the {obj} is {sym} again.",
	"Could this be related to the {svc} maintenance announced for {time}?",
	"Here is what the {svc} log shows for the {obj} that {verb}.",
	"I can reproduce it with a brand new {obj} in {browser}.",
	"Thanks, the workaround with the {obj} works for us for now.",
	"Everything was fine until {time}; nobody here changed the {team} rules.",
	"Any estimate for a fix? Our {team} customers keep asking about {svc}.",
}

// genStaffSentences are what staff say in replies.
var genStaffSentences = []string{
	"Thanks for the report. We are looking into {svc} {obj}s being {sym} and will update this thread.",
	"We have found the cause: a {obj} queue on {host} was {sym}. A fix is rolling out.",
	"Could you tell us which {browser} version you use and when the {obj} last worked?",
	"The fix for `{code}` is deployed; please reload {svc} and tell us if the {obj} still {verb}.",
	"We are moving the {team} accounts to a new {obj} cluster; expect delays until {time}.",
}

// genListItems are the items of a bullet list in a post.
var genListItems = []string{
	"{svc} in {browser}: {obj} {sym}",
	"affected since {time}",
	"error `{code}` on {host}",
	"only the {team} team",
	"retrying: the {obj} {verb}",
}

// genTitles are thread titles.
var genTitles = []string{
	"{svc} {obj}s {sym} since {time}",
	"{svc}: {code} when opening the {obj}",
	"{obj} {verb} in {browser}",
	"{svc} {sym} for the {team} team",
	"Cannot open {obj}s in {svc}",
	"{svc} {obj} {verb} after {time}",
}

// refSlot marks where a post's own reference number goes: a word of letters
// and digits only, so it changes nothing in the Markdown and the rendering
// of a body with its slot filled is the rendering with the number put in.
const refSlot = "zqrefslotzq"

// genBody is one distinct post text, rendered once and shared by the posts
// that say it; a body with refSlot gets each post's own reference.
type genBody struct {
	source string
	html   string // its rendering
	text   string // what the search index holds (indexPost)
	hasRef bool
}

// fill returns the body's source, HTML and indexed text for the post with
// the given reference.
func (b *genBody) fill(ref string) (source, html, text string) {
	if !b.hasRef {
		return b.source, b.html, b.text
	}
	return strings.ReplaceAll(b.source, refSlot, ref), strings.ReplaceAll(b.html, refSlot, ref), strings.ReplaceAll(b.text, refSlot, ref)
}

// postRef is a post's reference as its author would quote it: a word of
// that one post, of letters only (the porter tokenizer keeps just the ends
// of a long word with digits in it, so "ref4538453d7" would be "ref3d7").
func postRef(id int64) string {
	b := []byte{'q'}
	for n := id * 2654435761 % (1 << 40); n > 0; n /= 26 {
		b = append(b, byte('a'+n%26))
	}
	return string(b)
}

// genWords draws words with a Zipf law over each list, so the first ones
// are common and the last ones rare.
type genWords struct {
	r     *rand.Rand
	zipfs map[int]*rand.Zipf
	teams []string // made-up words: the long tail
	hosts []string
	codes []string
}

func newGenWords(r *rand.Rand) *genWords {
	w := &genWords{r: r, zipfs: map[int]*rand.Zipf{}}
	for i := range 3000 {
		n := 2 + i%3
		var b strings.Builder
		for range n {
			b.WriteString(genSyllables[r.IntN(len(genSyllables))])
		}
		w.teams = append(w.teams, b.String())
	}
	for i := range 400 {
		w.hosts = append(w.hosts, fmt.Sprintf("mx%d.example.net", i+1))
	}
	for i := range 2000 {
		w.codes = append(w.codes, fmt.Sprintf("E%04d", 1000+i*7%9000))
	}
	return w
}

// pick draws from list, the first items most often.
func (w *genWords) pick(list []string) string {
	z, ok := w.zipfs[len(list)]
	if !ok {
		z = rand.NewZipf(w.r, 1.1, 2, uint64(len(list)-1))
		w.zipfs[len(list)] = z
	}
	return list[z.Uint64()]
}

// fill replaces a template's slots.
func (w *genWords) fill(tmpl string) string {
	return strings.NewReplacer(
		"{svc}", w.pick(genServices), "{obj}", w.pick(genObjects), "{sym}", w.pick(genSymptoms),
		"{verb}", w.pick(genVerbs), "{browser}", w.pick(genBrowsers), "{browser2}", w.pick(genBrowsers),
		"{time}", w.pick(genTimes), "{team}", w.pick(w.teams), "{host}", w.pick(w.hosts), "{code}", w.pick(w.codes),
	).Replace(tmpl)
}

// title makes a thread title.
func (w *genWords) title() string {
	t := w.fill(genTitles[w.r.IntN(len(genTitles))])
	return strings.ToUpper(t[:1]) + t[1:]
}

// paragraph makes n sentences, staff's when staff.
func (w *genWords) paragraph(n int, staff bool) string {
	list := genSentences
	if staff {
		list = genStaffSentences
	}
	s := make([]string, n)
	for i := range s {
		s[i] = w.fill(list[w.r.IntN(len(list))])
	}
	return strings.Join(s, " ")
}

// markdown makes a post of several hundred characters: paragraphs, and now
// and then a list, a quote, a code block, a link or a reference number.
func (w *genWords) markdown(staff bool) string {
	var parts []string
	for range 1 + w.r.IntN(3) {
		parts = append(parts, w.paragraph(2+w.r.IntN(3), staff))
	}
	switch w.r.IntN(8) {
	case 0:
		var items []string
		for range 2 + w.r.IntN(3) {
			items = append(items, "- "+w.fill(genListItems[w.r.IntN(len(genListItems))]))
		}
		parts = append(parts, strings.Join(items, "\n"))
	case 1:
		parts = append([]string{"> " + w.paragraph(1, false)}, parts...)
	case 2:
		parts = append(parts, "```\n"+w.fill("{code} {host} {obj} {sym}\nretry {obj} {verb}")+"\n```")
	case 3:
		parts = append(parts, w.fill("See the [{svc} status page](https://status.example.com/{obj}) for **{team}**."))
	case 4, 5:
		parts = append(parts, "Our reference is "+refSlot+", in case you need it.")
	}
	return strings.Join(parts, "\n\n")
}

// staffBodies: one body in this many is what staff say.
const staffBodies = 8

// genBodies makes n distinct bodies, each rendered once; the last one in
// staffBodies are what staff say.
func genBodies(w *genWords, n int) ([]*genBody, error) {
	bodies := make([]*genBody, n)
	for i := range bodies {
		src := w.markdown(i >= n-n/staffBodies)
		html, err := renderMarkdown(src, nil)
		if err != nil {
			return nil, fmt.Errorf("generated body %d: %w", i, err)
		}
		bodies[i] = &genBody{source: src, html: string(html), text: indexText(markup.Text(html)), hasRef: strings.Contains(src, refSlot)}
	}
	return bodies, nil
}
