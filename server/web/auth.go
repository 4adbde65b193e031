package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// signupForm is all a person may choose at sign-up; the role is never read
// from the request.
type signupForm struct {
	Name, Email string
}

type signupPage struct {
	base
	Form   signupForm
	Next   string
	Errors map[string]string
}

func (a *App) signupShow(c *gin.Context) error {
	return a.renderPage(c, http.StatusOK, "signup", &signupPage{base: a.base(c, "Sign up"), Next: safeNext(c.Query("next"))})
}

func (a *App) signupCreate(c *gin.Context) error {
	if err := parseForm(c); err != nil {
		return err
	}
	page := &signupPage{
		base: a.base(c, "Sign up"),
		Form: signupForm{Name: c.PostForm("name"), Email: c.PostForm("email")},
		Next: safeNext(c.PostForm("next")),
	}
	// Every attempt counts, whatever comes of it, and before any password
	// is hashed.
	ok, retry, err := a.take(c.Request.Context(), signupClient.of(clientKey(c)))
	if err != nil {
		return err
	}
	if !ok {
		page.Errors = map[string]string{"name": "Too many sign-ups from your network. " + tryAgainIn(retry)}
		return a.renderLimited(c, retry, "signup", page)
	}
	password := c.PostForm("password")
	if password != c.PostForm("password_confirm") {
		page.Errors = map[string]string{"password_confirm": "The two passwords differ."}
		return a.renderPage(c, http.StatusUnprocessableEntity, "signup", page)
	}
	if a.cfg.MailOn {
		return a.signupByMail(c, page, password) // the same answer for a registered address and a new one
	}
	u, err := a.store.CreateUser(c.Request.Context(), models.NewUser{
		Name: page.Form.Name, Email: page.Form.Email, Password: password, Role: models.RoleCustomer,
	})
	if fields := fieldErrors(err); fields != nil {
		page.Errors = fields
		return a.renderPage(c, http.StatusUnprocessableEntity, "signup", page)
	}
	if err != nil {
		return err
	}
	if err := a.startSession(c, u.ID); err != nil {
		return err
	}
	return a.redirect(c, page.Next, "Welcome to "+a.cfg.SiteName+", "+u.Name+".")
}

type loginPage struct {
	base
	Login string
	Next  string
	Error string
}

func (a *App) loginShow(c *gin.Context) error {
	return a.renderPage(c, http.StatusOK, "login", &loginPage{base: a.base(c, "Log in"), Next: safeNext(c.Query("next"))})
}

// loginCreate checks a password. Attempts are counted before the password
// is checked (limiter.go): per client, per account from that client, and
// per account from every client; past any bound the answer is 429 without
// checking the password at all. A right password gives its attempt back.
// The account is the user the name or email leads to, so switching between
// them gains nothing, and the client is the address from the socket or a
// trusted proxy only.
func (a *App) loginCreate(c *gin.Context) error {
	if err := parseForm(c); err != nil {
		return err
	}
	ctx := c.Request.Context()
	page := &loginPage{base: a.base(c, "Log in"), Login: c.PostForm("login"), Next: safeNext(c.PostForm("next"))}
	if len(page.Login) > models.EmailMaxLen {
		page.Login = ""
		page.Error = "Unknown user or wrong password."
		return a.renderPage(c, http.StatusUnauthorized, "login", page)
	}
	account, err := a.store.LoginKey(ctx, page.Login)
	if err != nil {
		return err
	}
	keys := passwordKeys(account, clientKey(c))
	ok, retry, err := a.take(ctx, keys...)
	if err != nil {
		return err
	}
	if !ok {
		return a.loginLimited(c, retry, page)
	}
	u, err := a.store.Authenticate(ctx, page.Login, c.PostForm("password"))
	if errors.Is(err, models.ErrBadCredentials) {
		page.Error = "Unknown user or wrong password."
		return a.renderPage(c, http.StatusUnauthorized, "login", page)
	}
	if err != nil && !errors.As(err, new(*models.SanctionedError)) {
		return err
	}
	// The password was right: the attempt does not count.
	if err := a.passwordRight(ctx, keys); err != nil {
		return err
	}
	var se *models.SanctionedError
	if errors.As(err, &se) {
		page.Error = se.Error()
		return a.renderPage(c, http.StatusForbidden, "login", page)
	}
	if err := a.startSession(c, u.ID); err != nil {
		return err
	}
	return a.redirect(c, page.Next, "You are logged in as "+u.Name+".")
}

func (a *App) loginLimited(c *gin.Context, retry time.Duration, page *loginPage) error {
	page.Error = "Too many failed log-ins. " + tryAgainIn(retry)
	return a.renderLimited(c, retry, "login", page)
}

// logout ends the session on the server and clears the cookie.
func (a *App) logout(c *gin.Context) error {
	if secret, err := c.Cookie(a.sessionCookieName()); err == nil && secret != "" {
		if err := a.store.DeleteSession(c.Request.Context(), secret); err != nil {
			return err
		}
	}
	a.setCookie(c, a.sessionCookieName(), "", -1)
	return a.redirect(c, "/", "You are logged out.")
}

// renderLimited shows a form again with 429 and Retry-After, keeping input.
func (a *App) renderLimited(c *gin.Context, retry time.Duration, name string, page any) error {
	c.Header("Retry-After", fmt.Sprint(int(retry.Seconds())+1))
	c.Header("Cache-Control", "no-store")
	return a.renderPage(c, http.StatusTooManyRequests, name, page)
}

func tryAgainIn(d time.Duration) string {
	if d < time.Minute {
		return "Try again in a minute."
	}
	return fmt.Sprintf("Try again in %d minutes.", int(d.Minutes()+0.999))
}
