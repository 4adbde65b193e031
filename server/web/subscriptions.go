package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"sitrep/models"
	"sitrep/server/notify"
	"sitrep/server/notify/ssrf"
)

// Subscriptions without an account: the form, the confirmation and
// unsubscribe pages (a GET shows a button; only its POST acts, because
// mail scanners open links), and the admins' pages.

// mailSite is the site as mails name it, with absolute links that never
// come from the request's Host.
func (a *App) mailSite() notify.Site {
	base := a.cfg.BaseURL
	if base == "" {
		base = a.cfg.LinkURL
	}
	if base == "" {
		base = "http://localhost:8080"
	}
	return notify.Site{Name: a.cfg.SiteName, BaseURL: base}
}

// subscribe checks where a webhook leads, then stores the subscription and
// its confirmation mail. Every mistake the form can have is said at once.
func (a *App) subscribe(c *gin.Context, in models.NewSubscription) (*models.Subscription, error) {
	in.ClientIP = c.ClientIP()
	fields := in.Check()
	if in.WebhookURL != "" && fields["webhook_url"] == "" && !a.cfg.WebhookAllowPrivate {
		if err := ssrf.CheckURL(c.Request.Context(), strings.TrimSpace(in.WebhookURL), a.resolver); err != nil {
			if fields == nil {
				fields = map[string]string{}
			}
			fields["webhook_url"] = err.Error()
		}
	}
	if fields != nil {
		return nil, &models.ValidationError{Fields: fields}
	}
	site := a.mailSite()
	return a.store.CreateSubscription(c.Request.Context(), in, func(sub *models.Subscription, token string) models.Mail {
		return notify.SubscriptionConfirmMail(site, sub, site.URL("/subscriptions/confirm?token="+url.QueryEscape(token)))
	})
}

// subscribeForm is what the form sends back.
type subscribeForm struct {
	Email, WebhookURL string
	Scope             string // all, services, incident
	Chosen            map[int64]bool
}

type subscribePage struct {
	base
	Form     subscribeForm
	Services []models.Service
	Incident *models.Incident // the incident the page was opened from
	Errors   map[string]string
	Done     bool
	Secret   string // a webhook's signing secret, shown once
}

func (a *App) subscribePage(c *gin.Context, incidentID string) (*subscribePage, error) {
	services, err := a.store.ListServices(c.Request.Context())
	if err != nil {
		return nil, err
	}
	p := &subscribePage{base: a.base(c, "Subscribe to updates"), Services: services, Form: subscribeForm{Scope: "all", Chosen: map[int64]bool{}}}
	if id, err := strconv.ParseInt(incidentID, 10, 64); err == nil && id > 0 {
		inc, err := a.store.IncidentByID(c.Request.Context(), id)
		switch {
		case err == nil:
			p.Incident, p.Form.Scope = inc, "incident"
		case !errors.Is(err, models.ErrNotFound):
			return nil, err
		}
	}
	return p, nil
}

func (a *App) subscribeShow(c *gin.Context) error {
	p, err := a.subscribePage(c, c.Query("incident"))
	if err != nil {
		return err
	}
	return a.renderPage(c, http.StatusOK, "subscribe", p)
}

// subscribeCreate takes the form: the address, a webhook URL or none, and
// every service, chosen services or the incident the page came from.
func (a *App) subscribeCreate(c *gin.Context) error {
	if err := parseForm(c); err != nil {
		return err
	}
	p, err := a.subscribePage(c, c.PostForm("incident_id"))
	if err != nil {
		return err
	}
	p.Form = subscribeForm{Email: c.PostForm("email"), WebhookURL: c.PostForm("webhook_url"), Scope: c.PostForm("scope"), Chosen: map[int64]bool{}}
	in := models.NewSubscription{Email: p.Form.Email, WebhookURL: p.Form.WebhookURL}
	var chosen []int64
	for _, v := range c.PostFormArray("services") {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return badRequest("The services are numbers.")
		}
		p.Form.Chosen[id] = true
		chosen = append(chosen, id)
	}
	// Ticking a service means that service, whichever of the first two
	// choices is left selected: the form has no script to tie them.
	if len(chosen) > 0 && p.Form.Scope != "incident" {
		p.Form.Scope = "services"
	}
	if p.Form.Scope == "services" {
		in.ServiceIDs = chosen
	}
	switch p.Form.Scope {
	case "services":
		if len(in.ServiceIDs) == 0 {
			p.Errors = map[string]string{"services": "Choose at least one service, or every service."}
			return a.renderPage(c, http.StatusUnprocessableEntity, "subscribe", p)
		}
	case "incident":
		if p.Incident == nil {
			p.Errors = map[string]string{"incident_id": "There is no such incident; choose every service or some."}
			return a.renderPage(c, http.StatusUnprocessableEntity, "subscribe", p)
		}
		in.IncidentID = &p.Incident.ID
	default:
		p.Form.Scope = "all"
	}
	sub, err := a.subscribe(c, in)
	var rl *models.RateLimitError
	switch {
	case errors.As(err, &rl):
		p.Errors = map[string]string{"email": rl.Message}
		return a.renderLimited(c, rl.RetryAfter, "subscribe", p)
	case fieldErrors(err) != nil:
		p.Errors = fieldErrors(err)
		return a.renderPage(c, http.StatusUnprocessableEntity, "subscribe", p)
	case err != nil:
		return err
	}
	p.Done = true
	if sub.Kind == models.SubscriptionWebhook {
		p.Secret = sub.Secret
	}
	c.Header("Cache-Control", "no-store")
	return a.renderPage(c, http.StatusAccepted, "subscribe", p)
}

// tokenPage is a page a mailed link opens: what the link does, and the
// button that does it (a POST of the token), or the outcome.
type tokenPage struct {
	base
	Heading string
	Lines   []string
	Action  string // the form's address; none once done
	Token   string
	Button  string
	Link    *pageLink
}

type pageLink struct{ URL, Text string }

func (a *App) tokenPage(c *gin.Context, status int, p *tokenPage) error {
	p.base = a.base(c, p.Heading)
	// The address holds a token: no cache may keep the page, no other
	// site is told the address.
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer")
	return a.renderPage(c, status, "token_action", p)
}

// formToken is the token a link's page posts, or a one-click POST carries
// in its address.
func formToken(c *gin.Context) (string, error) {
	if err := parseForm(c); err != nil {
		return "", err
	}
	if t := c.PostForm("token"); t != "" {
		return t, nil
	}
	return c.Query("token"), nil
}

var subscribeAgain = &pageLink{"/subscribe", "Subscribe again"}

// subscriptionConfirmShow is the page of the confirmation link: it changes
// nothing.
func (a *App) subscriptionConfirmShow(c *gin.Context) error {
	token := c.Query("token")
	sub, err := a.store.PendingSubscription(c.Request.Context(), token)
	if errors.Is(err, models.ErrNotFound) {
		return a.tokenPage(c, http.StatusNotFound, &tokenPage{Heading: "This link does not work any more",
			Lines: []string{"It was used already, or the subscription lapsed: a subscription waits 48 hours for its confirmation."}, Link: subscribeAgain})
	}
	if err != nil {
		return err
	}
	how := "by e-mail"
	if sub.Kind == models.SubscriptionWebhook {
		how = "as signed webhooks"
	}
	return a.tokenPage(c, http.StatusOK, &tokenPage{Heading: "Confirm your subscription",
		Lines:  []string{"Confirm to get " + scopeWords(sub) + " from " + a.cfg.SiteName + " " + how + "."},
		Action: "/subscriptions/confirm", Token: token, Button: "Confirm subscription"})
}

func scopeWords(sub *models.Subscription) string {
	switch {
	case sub.IncidentID != nil:
		return "the official updates of incident " + strconv.FormatInt(*sub.IncidentID, 10)
	case sub.AllServices:
		return "official incident and maintenance updates for every service"
	}
	return "official incident and maintenance updates for the services you chose"
}

// subscriptionConfirm is the confirmation page's button.
func (a *App) subscriptionConfirm(c *gin.Context) error {
	token, err := formToken(c)
	if err != nil {
		return err
	}
	sub, err := a.store.ConfirmSubscription(c.Request.Context(), token)
	if errors.Is(err, models.ErrNotFound) {
		return a.tokenPage(c, http.StatusNotFound, &tokenPage{Heading: "This link does not work any more",
			Lines: []string{"It was used already, or the subscription lapsed: a subscription waits 48 hours for its confirmation."}, Link: subscribeAgain})
	}
	if err != nil {
		return err
	}
	return a.tokenPage(c, http.StatusOK, &tokenPage{Heading: "Subscription confirmed",
		Lines: []string{"You will get " + scopeWords(sub) + " as they are posted.",
			"Every one carries a link that ends the subscription."},
		Link: &pageLink{"/", "Back to the status"}})
}

// unsubscribeShow is the page of an unsubscribe link: it changes nothing.
func (a *App) unsubscribeShow(c *gin.Context) error {
	token := c.Query("token")
	what, err := a.store.UnsubscribeTarget(c.Request.Context(), token)
	if errors.Is(err, models.ErrNotFound) {
		return a.tokenPage(c, http.StatusNotFound, &tokenPage{Heading: "Nothing to unsubscribe",
			Lines: []string{"This link's subscription has ended already."}})
	}
	if err != nil {
		return err
	}
	p := &tokenPage{Heading: "Unsubscribe", Lines: []string{"Stop getting updates from " + a.cfg.SiteName + "?"},
		Action: "/subscriptions/unsubscribe", Token: token, Button: "Unsubscribe"}
	if what == models.UnsubscribedAccountMail {
		p.Heading, p.Button = "Stop mail about followed threads", "Stop these mails"
		p.Lines = []string{"Stop the mails about the threads you follow on " + a.cfg.SiteName + "? You keep your account and its notifications."}
	}
	return a.tokenPage(c, http.StatusOK, p)
}

// unsubscribe is the unsubscribe page's button, and RFC 8058's one-click
// POST (body List-Unsubscribe=One-Click, the token in the address), which
// a mail provider sends without cookies or an Origin. Doing it again
// answers the same.
func (a *App) unsubscribe(c *gin.Context) error {
	token, err := formToken(c)
	if err != nil {
		return err
	}
	what, err := a.store.Unsubscribe(c.Request.Context(), token)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	p := &tokenPage{Heading: "You are unsubscribed", Lines: []string{"Nothing more will be sent to you for this subscription."}}
	switch {
	case errors.Is(err, models.ErrNotFound):
		p.Lines = []string{"This link's subscription has ended already; nothing more is sent for it."}
	case what == models.UnsubscribedAccountMail:
		p.Heading = "Mail about followed threads is off"
		p.Lines = []string{"You can turn it on again on your account page; your notifications stay."}
	}
	return a.tokenPage(c, http.StatusOK, p)
}

// Admin pages.

type adminSubscriptionsPage struct {
	base
	Subscriptions []models.SubscriptionInfo
	Pager         pager
	Services      map[int64]string
}

// adminSubscriptions lists the subscriptions, with their addresses (shown
// to admins only) and the latest attempts of their delivery logs.
func (a *App) adminSubscriptions(c *gin.Context) error {
	p, err := pageParam(c, models.SubscriptionsPerPage)
	if err != nil {
		return err
	}
	list, err := a.store.ListSubscriptions(c.Request.Context(), p, 10)
	if err != nil {
		return err
	}
	services, err := a.store.ListServices(c.Request.Context())
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for _, s := range services {
		names[s.ID] = s.Name
	}
	return a.renderPage(c, http.StatusOK, "admin_subscriptions", &adminSubscriptionsPage{base: a.base(c, "Subscriptions"),
		Subscriptions: list.Items, Pager: newPager(c, list.Page, list.HasNext), Services: names})
}

func (a *App) adminSubscriptionDelete(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := a.store.DeleteSubscription(c.Request.Context(), currentUser(c), id); err != nil {
		return err
	}
	return a.redirect(c, "/admin/subscriptions", "Subscription "+strconv.FormatInt(id, 10)+" is removed.")
}

type adminOutboxPage struct {
	base
	State  string
	States []string
	Mails  []outboxRow
	Pager  pager
	MailOn bool
}

// outboxRow is a mail of the outbox with its text: its own, or the text of
// the announcement it is a copy of.
type outboxRow struct {
	models.OutboxMail
	Text string
}

// adminOutbox shows what was mailed, or would have been and why not.
func (a *App) adminOutbox(c *gin.Context) error {
	p, err := pageParam(c, models.OutboxPerPage)
	if err != nil {
		return err
	}
	state := c.Query("state")
	if state != "" && !slices.Contains(models.MailStates, state) {
		return badRequest("state is queued, sent, failed or not_sent.")
	}
	list, err := a.store.Outbox(c.Request.Context(), state, p)
	if err != nil {
		return err
	}
	var ids []int64
	for _, m := range list.Items {
		if m.NoticeID != nil && m.TextBody == "" {
			ids = append(ids, *m.NoticeID)
		}
	}
	texts, err := a.store.NoticeTexts(c.Request.Context(), ids)
	if err != nil {
		return err
	}
	rows := make([]outboxRow, len(list.Items))
	for i, m := range list.Items {
		rows[i] = outboxRow{OutboxMail: m, Text: m.TextBody}
		if m.NoticeID != nil && m.TextBody == "" {
			rows[i].Text = texts[*m.NoticeID]
		}
	}
	return a.renderPage(c, http.StatusOK, "admin_outbox", &adminOutboxPage{base: a.base(c, "Outbox"), State: state,
		States: models.MailStates, Mails: rows, Pager: newPager(c, list.Page, list.HasNext), MailOn: a.cfg.MailOn})
}

// accountMail sets how much mail the person gets about followed threads.
func (a *App) accountMail(c *gin.Context) error {
	if err := parseForm(c); err != nil {
		return err
	}
	err := a.store.SetMailLevel(c.Request.Context(), currentUser(c).ID, c.PostForm("mail_level"))
	if fields := fieldErrors(err); fields != nil {
		return a.showAccount(c, http.StatusUnprocessableEntity, &accountPage{Errors: fields})
	}
	if err != nil {
		return err
	}
	return a.redirect(c, "/account", "Your mail setting is saved.")
}
