package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"sitrep/models"
	"sitrep/server/notify"
)

// Sign-up by mail (when the server sends mail): the form's answer is the
// same page, byte for byte, whether the address has an account or not, so
// that sign-up cannot tell which addresses are registered. A new address
// gets a link whose page's button makes the account; a registered one gets
// a mail to its owner instead. A taken name is still said on the form:
// names are public.

// signupByMail answers a sign-up that passed the form's checks and the
// sign-up limit.
func (a *App) signupByMail(c *gin.Context, page *signupPage, password string) error {
	site := a.mailSite()
	name := page.Form.Name
	err := a.store.StartSignup(c.Request.Context(), models.NewUser{Name: name, Email: page.Form.Email, Password: password}, c.ClientIP(),
		models.SignupMails{
			Confirm: func(token string) models.Mail {
				return notify.SignupConfirmMail(site, name, site.URL("/signup/confirm?token="+url.QueryEscape(token)))
			},
			Exists: func(account string) models.Mail { return notify.SignupExistsMail(site, account, site.URL("/login")) },
		})
	var rl *models.RateLimitError
	switch {
	case errors.As(err, &rl):
		page.Errors = map[string]string{"email": rl.Message}
		return a.renderLimited(c, rl.RetryAfter, "signup", page)
	case fieldErrors(err) != nil:
		page.Errors = fieldErrors(err)
		return a.renderPage(c, http.StatusUnprocessableEntity, "signup", page)
	case err != nil:
		return err
	}
	return a.tokenPage(c, http.StatusOK, &tokenPage{Heading: "Check your mail",
		Lines: []string{"We sent a mail to the address you gave.",
			"If the address is new here, the mail has a link that finishes your sign-up; it works for 48 hours. If the address has an account already, the mail says so."}})
}

var signupAgain = &pageLink{"/signup", "Sign up again"}

// signupConfirmShow is the page of a sign-up's link: it changes nothing.
func (a *App) signupConfirmShow(c *gin.Context) error {
	token := c.Query("token")
	p, err := a.store.PendingSignupByToken(c.Request.Context(), token)
	if errors.Is(err, models.ErrNotFound) {
		return a.tokenPage(c, http.StatusNotFound, &tokenPage{Heading: "This link does not work any more",
			Lines: []string{"It was used already, or it is older than 48 hours."}, Link: signupAgain})
	}
	if err != nil {
		return err
	}
	return a.tokenPage(c, http.StatusOK, &tokenPage{Heading: "Finish signing up",
		Lines:  []string{"Make the account " + p.Name + " on " + a.cfg.SiteName + "?"},
		Action: "/signup/confirm", Token: token, Button: "Create my account"})
}

// signupConfirm makes the account and logs its owner in.
func (a *App) signupConfirm(c *gin.Context) error {
	token, err := formToken(c)
	if err != nil {
		return err
	}
	u, err := a.store.CompleteSignup(c.Request.Context(), token)
	var ce *models.ConflictError
	switch {
	case errors.As(err, &ce):
		return a.tokenPage(c, http.StatusConflict, &tokenPage{Heading: "The account was not made", Lines: []string{ce.Message}, Link: signupAgain})
	case errors.Is(err, models.ErrNotFound):
		return a.tokenPage(c, http.StatusNotFound, &tokenPage{Heading: "This link does not work any more",
			Lines: []string{"It was used already, or it is older than 48 hours."}, Link: signupAgain})
	case err != nil:
		return err
	}
	if err := a.startSession(c, u.ID); err != nil {
		return err
	}
	return a.redirect(c, "/", "Welcome to "+a.cfg.SiteName+", "+u.Name+".")
}
