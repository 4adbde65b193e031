package web

import (
	"context"
	"slices"
	"strings"
	"unicode"

	"sitrep/models"
)

// Surge mode: on the day of an outage, the thread of an open incident (and
// the threads linked to it) fills with replies that say nothing but "same
// here". Such a reply is counted as an "I'm affected" mark instead, and the
// person is told so, with their text kept and a button to post it anyway.

// sameHerePhrases are the replies that only say "me too", in a few
// languages, as they read once folded (lower case, letters, digits and "+"
// only).
var sameHerePhrases = []string{
	"+1", "+1+1", "++", "me too", "metoo", "same", "same here", "samehere", "same for me", "same for us", "same problem",
	"same issue", "same here too", "here too", "us too", "also affected", "also down", "same down here", "ditto",
	"affected", "we too", "same same", "yep same", "yes same", "same thing", "same here unfortunately",
	"ich auch", "wir auch", "gleiches problem", "hier auch", // German
	"moi aussi", "pareil", "pareil ici", "meme probleme", "même problème", "nous aussi", // French
	"yo también", "yo tambien", "igual", "mismo problema", "aquí también", "aqui tambien", // Spanish
	"ik ook", "hier ook", "zelfde probleem", // Dutch
	"anche io", "anche qui", "stesso problema", // Italian
	"eu também", "eu tambem", "mesmo problema", "aqui também", // Portuguese
}

// sameHereMaxLen is the longest reply that can be a bare "same here"; a
// longer one says something.
const sameHereMaxLen = 40

// fold reduces a reply to what it says: lower case letters, digits and "+",
// words separated by one space.
func fold(s string) string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '+'
	})
	return strings.Join(f, " ")
}

var foldedPhrases = func() []string {
	out := make([]string, len(sameHerePhrases))
	for i, p := range sameHerePhrases {
		out[i] = fold(p)
	}
	return out
}()

// sameHere tells whether body says nothing but "same here": a phrase of
// the list, or what one of the thread's latest replies already said word
// for word.
func sameHere(body string, latest []models.Post) bool {
	f := fold(body)
	if f == "" || len([]rune(strings.TrimSpace(body))) > sameHereMaxLen*5 {
		return false
	}
	if len([]rune(f)) <= sameHereMaxLen && slices.Contains(foldedPhrases, f) {
		return true
	}
	for _, p := range latest {
		if !p.Official && fold(p.Source) == f {
			return true
		}
	}
	return false
}

// surgeLatest is how many of a thread's latest replies a reply is compared
// with.
const surgeLatest = 5

// inSurge tells whether a reply to thread th goes through surge mode: the
// mode is on, the thread is an open incident's own or linked to one, and
// the author is a customer (staff and moderators say what they mean).
func (a *App) inSurge(ctx context.Context, th *models.Thread, author *models.User) (bool, error) {
	if !a.cfg.SurgeMode || th.IncidentID == nil || author.Role != models.RoleCustomer {
		return false, nil
	}
	inc, err := a.store.IncidentByID(ctx, *th.IncidentID)
	if err != nil {
		return false, err
	}
	return inc.IsOpen(), nil
}
