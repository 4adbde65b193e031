package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

type accountPage struct {
	base
	Email     string
	Tokens    []models.APIToken
	MaxTokens int
	NewToken  string
	TokenName string
	Errors    map[string]string
	// Sanctions are the moderators' warnings, silences and suspensions,
	// each with its reason, shown to the user.
	Sanctions []models.Sanction
	Now       time.Time
	// Posts are the user's own, newest first (hidden ones included).
	Posts []models.Post
	Pager pager
}

// showAccount renders the account page with whatever the handler filled in.
func (a *App) showAccount(c *gin.Context, status int, page *accountPage) error {
	tokens, err := a.store.ListTokens(c.Request.Context(), currentUser(c).ID)
	if err != nil {
		return err
	}
	sanctions, err := a.store.Sanctions(c.Request.Context(), currentUser(c).ID)
	if err != nil {
		return err
	}
	posts, err := a.readUserPosts(c, currentUser(c).ID)
	if err != nil {
		return err
	}
	page.Posts = posts.Items
	if c.Request.Method == http.MethodGet { // a form shown again has no page links
		page.Pager = newPager(c, posts.Page, posts.HasNext)
	}
	page.base = a.base(c, "Your account")
	page.Tokens, page.Sanctions, page.Now = tokens, sanctions, a.now().UTC()
	page.MaxTokens = models.MaxActiveTokens
	if page.Email == "" {
		page.Email = page.User.Email
	}
	return a.renderPage(c, status, "account", page)
}

// readUserPosts reads the page of a person's posts that the query asks for,
// as the viewer may read them (newest first; their own hidden ones for the
// person, every one for moderators); their account page, the moderators'
// page about them and their public page show it.
func (a *App) readUserPosts(c *gin.Context, userID int64) (models.Paged[models.Post], error) {
	p, err := pageParam(c, models.UserPostsPerPage)
	if err != nil {
		return models.Paged[models.Post]{}, err
	}
	return a.store.UserPosts(c.Request.Context(), userID, currentUser(c), p)
}

func (a *App) accountShow(c *gin.Context) error {
	return a.showAccount(c, http.StatusOK, &accountPage{})
}

// accountEmail changes the email address; only that column is written.
func (a *App) accountEmail(c *gin.Context) error {
	if err := parseForm(c); err != nil {
		return err
	}
	email := c.PostForm("email")
	err := a.store.UpdateEmail(c.Request.Context(), currentUser(c).ID, email)
	if fields := fieldErrors(err); fields != nil {
		return a.showAccount(c, http.StatusUnprocessableEntity, &accountPage{Email: email, Errors: fields})
	}
	if err != nil {
		return err
	}
	return a.redirect(c, "/account", "Your email address is saved.")
}

// accountPassword changes the password, which ends every session and token
// of the user; this browser gets a fresh session. The current password is
// counted as a log-in would be (limiter.go), before it is checked: holding
// a session is no licence to guess it.
func (a *App) accountPassword(c *gin.Context) error {
	if err := parseForm(c); err != nil {
		return err
	}
	ctx := c.Request.Context()
	u := currentUser(c)
	keys := passwordKeys(accountKey(u), clientKey(c))
	ok, retry, err := a.take(ctx, keys...)
	if err != nil {
		return err
	}
	if !ok {
		c.Header("Retry-After", fmt.Sprint(int(retry.Seconds())+1))
		return a.showAccount(c, http.StatusTooManyRequests, &accountPage{Errors: map[string]string{
			"current_password": "Too many wrong passwords. " + tryAgainIn(retry)}})
	}
	err = a.store.ChangePassword(ctx, u.ID, c.PostForm("current_password"), c.PostForm("new_password"))
	var ve *models.ValidationError
	if !errors.As(err, &ve) || ve.Fields["current_password"] == "" {
		// The current password was right: the attempt does not count.
		if err := a.passwordRight(ctx, keys); err != nil {
			return err
		}
	}
	if fields := fieldErrors(err); fields != nil {
		return a.showAccount(c, http.StatusUnprocessableEntity, &accountPage{Errors: fields})
	}
	if err != nil {
		return err
	}
	if err := a.startSession(c, u.ID); err != nil {
		return err
	}
	return a.redirect(c, "/account", "Your password is changed. Other devices were logged out and your API tokens revoked.")
}

// tokenCreate makes an API token and shows it once, on this response only.
func (a *App) tokenCreate(c *gin.Context) error {
	if err := parseForm(c); err != nil {
		return err
	}
	name := c.PostForm("name")
	_, secret, err := a.store.CreateToken(c.Request.Context(), currentUser(c).ID, name)
	if fields := fieldErrors(err); fields != nil {
		return a.showAccount(c, http.StatusUnprocessableEntity, &accountPage{TokenName: name, Errors: fields})
	}
	if err != nil {
		return err
	}
	return a.showAccount(c, http.StatusCreated, &accountPage{NewToken: secret})
}

func (a *App) tokenRevoke(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err == nil {
		err = a.store.RevokeToken(c.Request.Context(), currentUser(c).ID, id)
	}
	if err != nil {
		return err
	}
	return a.redirect(c, "/account", "The token is revoked.")
}
