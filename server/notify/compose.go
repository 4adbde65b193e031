package notify

import (
	"bytes"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"
	"unicode"

	"sitrep/models"
	"sitrep/server/markup"
)

// The words of every mail Sitrep sends, in plain text and HTML. User text
// (titles, names, posts) goes into bodies only, escaped in HTML; the
// subjects carry titles, which headerText flattens and go-mail encodes.

// Site is what a mail says of the site: its name and its public address.
type Site struct {
	Name    string
	BaseURL string // absolute, without a trailing slash
}

// URL is the absolute address of path on the site.
func (s Site) URL(path string) string { return s.BaseURL + path }

// headerText makes text fit for one header line: control characters (CR
// and LF among them) become spaces, runs of spaces one.
func headerText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// htmlMail is the one layout of every HTML part.
var htmlMail = template.Must(template.New("mail").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body>
{{with .Heading}}<h1>{{.}}</h1>{{end}}
{{range .Before}}<p>{{.}}</p>
{{end}}{{with .Body}}<div>{{.}}</div>
{{end}}{{with .Items}}<ul>{{range .}}<li>{{.}}</li>{{end}}</ul>
{{end}}{{with .Link}}<p><a href="{{.URL}}">{{.Text}}</a></p>
{{end}}{{range .After}}<p>{{.}}</p>
{{end}}%%FOOTER%%
</body></html>
`))

var htmlFooter = template.Must(template.New("footer").Parse(`<hr>
<p><small>{{.Text}} <a href="{{.URL}}">{{.LinkText}}</a></small></p>`))

type mailLink struct{ URL, Text string }

type mailPage struct {
	Title, Heading string
	Before         []string
	Body           template.HTML // sanitized post HTML from the markup package
	Items          []string
	Link           *mailLink
	After          []string
}

type footer struct{ Text, URL, LinkText string }

func renderHTML(p mailPage) string {
	var b bytes.Buffer
	if err := htmlMail.Execute(&b, p); err != nil {
		panic(err) // the template and its data are the package's own
	}
	return b.String()
}

// withFooter puts the per-recipient footer into an HTML part made by
// renderHTML, and under a text part.
func withFooter(text, html string, f footer) (string, string) {
	var b bytes.Buffer
	if err := htmlFooter.Execute(&b, f); err != nil {
		panic(err)
	}
	return text + "\n-- \n" + f.Text + "\n" + f.LinkText + ": " + f.URL + "\n",
		placeFooter(html, b.String())
}

// footerSlot marks where the footer goes in an HTML part: after all of
// the content, so the last one is the template's own.
const footerSlot = "%%FOOTER%%"

func placeFooter(html, footer string) string {
	i := strings.LastIndex(html, footerSlot)
	if i < 0 {
		return html
	}
	return html[:i] + footer + html[i+len(footerSlot):]
}

// fillSlot removes the footer's place from a part that has no footer.
func fillSlot(html string) string { return placeFooter(html, "") }

func humanTime(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") }

// scope says what a subscription gets.
func scope(sub *models.Subscription) string {
	switch {
	case sub.IncidentID != nil:
		return "updates about incident " + strconv.FormatInt(*sub.IncidentID, 10)
	case sub.AllServices:
		return "incident and maintenance updates for every service"
	}
	return "incident and maintenance updates for the services you chose"
}

// SubscriptionConfirmMail asks the subscriber to confirm; link opens the
// page whose button confirms.
func SubscriptionConfirmMail(site Site, sub *models.Subscription, link string) models.Mail {
	what := scope(sub)
	by := "by e-mail"
	if sub.Kind == models.SubscriptionWebhook {
		by = "as webhooks to " + sub.WebhookURL + " (this address is told if they fail)"
	}
	intro := fmt.Sprintf("Someone (we hope you) asked to get %s from %s %s.", what, site.Name, by)
	after := "If it was not you, ignore this mail: nothing is sent unless the subscription is confirmed, and the request lapses in 48 hours."
	return models.Mail{
		Subject: "[" + headerText(site.Name) + "] Confirm your subscription",
		Text:    intro + "\n\nTo confirm, open this link and press the button on the page:\n" + link + "\n\n" + after + "\n",
		HTML: fillSlot(renderHTML(mailPage{Title: "Confirm your subscription", Heading: "Confirm your subscription",
			Before: []string{intro}, Link: &mailLink{link, "Confirm the subscription"}, After: []string{after}})),
	}
}

// SignupConfirmMail asks a new address to confirm a sign-up.
func SignupConfirmMail(site Site, name, link string) models.Mail {
	intro := fmt.Sprintf("Someone (we hope you) signed up on %s as %s with this address.", site.Name, name)
	after := "The link works for 48 hours. If it was not you, ignore this mail: no account is made."
	return models.Mail{
		Subject: "[" + headerText(site.Name) + "] Confirm your address to finish signing up",
		Text:    intro + "\n\nTo finish, open this link and press the button on the page:\n" + link + "\n\n" + after + "\n",
		HTML: fillSlot(renderHTML(mailPage{Title: "Finish signing up", Heading: "Finish signing up",
			Before: []string{intro}, Link: &mailLink{link, "Finish signing up"}, After: []string{after}})),
	}
}

// SignupExistsMail tells the owner of an address that someone tried to sign
// up with it.
func SignupExistsMail(site Site, accountName, loginURL string) models.Mail {
	intro := fmt.Sprintf("Someone tried to sign up on %s with this address. You already have an account here, named %s.", site.Name, accountName)
	after := "If that was you, log in instead. If it was not, ignore this mail: nothing has changed."
	return models.Mail{
		Subject: "[" + headerText(site.Name) + "] Someone tried to sign up with your address",
		Text:    intro + "\n\nLog in: " + loginURL + "\n\n" + after + "\n",
		HTML: fillSlot(renderHTML(mailPage{Title: "Sign-up attempt", Heading: "Sign-up attempt with your address",
			Before: []string{intro}, Link: &mailLink{loginURL, "Log in"}, After: []string{after}})),
	}
}

// webhookDisabledMail tells a webhook's address that its deliveries kept
// failing and the subscription is off.
func webhookDisabledMail(site Site, sub *models.Subscription, lastError string, giveUp time.Duration) models.Mail {
	intro := fmt.Sprintf("Deliveries of %s's updates to %s failed for more than %s (the last attempt: %s), so the subscription is turned off and nothing more is sent.",
		site.Name, sub.WebhookURL, giveUp.Round(time.Hour), lastError)
	again := site.URL("/subscribe")
	return models.Mail{
		Subject: "[" + headerText(site.Name) + "] Your webhook subscription was turned off",
		Text:    intro + "\n\nTo get updates again, subscribe again: " + again + "\n",
		HTML: fillSlot(renderHTML(mailPage{Title: "Webhook turned off", Heading: "Your webhook subscription was turned off",
			Before: []string{intro}, Link: &mailLink{again, "Subscribe again"}})),
	}
}

// noticeMail is the mail of an incident's announcement, before each
// subscriber's footer: one subject for every mail of an incident, so that
// mail clients that thread by subject do too.
func noticeMail(site Site, event string, inc *models.Incident, u *models.IncidentUpdate) (subject, text, html string) {
	subject = "[" + headerText(site.Name) + "] " + headerText(inc.Title)
	if inc.Kind == models.KindMaintenance {
		subject = "[" + headerText(site.Name) + "] Maintenance: " + headerText(inc.Title)
	}
	var heading, when string
	var body template.HTML
	switch {
	case event == models.AnnounceIncidentPostmortem:
		heading = "Postmortem: " + inc.Title
		if inc.PostmortemAt != nil {
			when = humanTime(*inc.PostmortemAt)
		}
		body = inc.PostmortemHTML
	case u != nil:
		heading = models.StatusLabel(u.Status) + ": " + inc.Title
		when = humanTime(u.CreatedAt)
		if u.Post != nil {
			body = u.Post.HTML
		}
	default:
		heading = models.StatusLabel(inc.Status) + ": " + inc.Title
	}
	var items []string
	if inc.Kind == models.KindMaintenance && inc.ScheduledFor != nil && inc.ScheduledUntil != nil {
		items = append(items, "Window: "+humanTime(*inc.ScheduledFor)+" to "+humanTime(*inc.ScheduledUntil))
	}
	for _, is := range inc.Services {
		name := "service " + strconv.FormatInt(is.ServiceID, 10)
		if is.Service != nil {
			name = is.Service.Name
		}
		status := is.Status
		if !inc.Active() {
			status = models.Operational
		}
		items = append(items, name+": "+status.Label())
	}
	link := site.URL("/incidents/" + strconv.FormatInt(inc.ID, 10))
	var t strings.Builder
	t.WriteString(heading + "\n")
	if when != "" {
		t.WriteString(when + "\n")
	}
	if text := markup.Text(body); text != "" {
		t.WriteString("\n" + text + "\n")
	}
	if len(items) > 0 {
		t.WriteString("\n")
		for _, it := range items {
			t.WriteString("- " + it + "\n")
		}
	}
	t.WriteString("\nDetails and every update: " + link + "\n")
	var before []string
	if when != "" {
		before = []string{when}
	}
	html = renderHTML(mailPage{Title: heading, Heading: heading, Before: before, Body: body, Items: items,
		Link: &mailLink{link, "Details and every update"}})
	return subject, t.String(), html
}

// noticeFooter is the footer of one subscriber's copy.
func noticeFooter(site Site, sub *models.Subscription, unsubscribe string) footer {
	return footer{Text: fmt.Sprintf("You get this because this address subscribed to %s from %s.", scope(sub), site.Name),
		URL: unsubscribe, LinkText: "Unsubscribe"}
}

// followMail is the mail about a post in a thread the person follows.
func followMail(site Site, fm *models.FollowMail, kind, unsubscribe string) (subject, text, html string) {
	subject = "[" + headerText(site.Name) + "] " + headerText(fm.Thread.Title)
	who := "Someone"
	if fm.Post.Author != nil {
		who = fm.Post.Author.Name
	}
	var what string
	switch kind {
	case models.NotifyOfficial, models.NotifyResolved:
		what = fmt.Sprintf("%s posted an official update in “%s”", who, fm.Thread.Title)
		if fm.Incident != nil {
			what = fmt.Sprintf("Official update on “%s”: %s", fm.Incident.Title, models.StatusLabel(fm.Incident.Status))
		}
	case models.NotifyMention:
		what = fmt.Sprintf("%s mentioned you in “%s”", who, fm.Thread.Title)
	default:
		what = fmt.Sprintf("%s replied in “%s”", who, fm.Thread.Title)
	}
	link := site.URL("/posts/" + strconv.FormatInt(fm.Post.ID, 10))
	text = what + "\n" + humanTime(fm.Post.CreatedAt) + "\n\n" + markup.Text(fm.Post.HTML) + "\n\nRead it: " + link + "\n"
	html = renderHTML(mailPage{Title: what, Heading: what, Before: []string{humanTime(fm.Post.CreatedAt)}, Body: fm.Post.HTML,
		Link: &mailLink{link, "Read it in the thread"}})
	level := "official updates"
	if fm.User.MailLevel == models.MailAll {
		level = "every reply"
	}
	f := footer{Text: fmt.Sprintf("You get this because you follow this thread and asked for mail about %s; change that on your account page (%s).",
		level, site.URL("/account")), URL: unsubscribe, LinkText: "Stop these mails"}
	text, html = withFooter(text, html, f)
	return subject, text, html
}
