package web

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// bound is one limit on attempts: at most max per key in each window. The
// counts live in the database (models.Store.Take), so every instance
// serving one database shares them.
type bound struct {
	name   string
	max    int
	window time.Duration
}

// The bounds on attempts to prove a password (log-in, and the current
// password on the password form) and on sign-ups. A person who knows
// their password is refused only by the account-wide bound, which takes
// many guessing addresses to reach.
var (
	// passwordPair is one account from one client: it is the bound that
	// stops a guesser, and it stops only them.
	passwordPair = bound{"password-pair", 5, 15 * time.Minute}
	// passwordAccount is one account from every client.
	passwordAccount = bound{"password-account", 100, time.Hour}
	// passwordClient is one client on every account.
	passwordClient = bound{"password-client", 30, 15 * time.Minute}
	// signupClient counts every sign-up of one client, whatever came of it.
	signupClient = bound{"signup-client", 10, time.Hour}
	// previewAccount counts one person's previews of a post.
	previewAccount = bound{"preview-account", 30, time.Minute}
)

// limitKey is a bound applied to one key.
type limitKey struct {
	bound
	key string
}

// of applies b to the key made of parts.
func (b bound) of(parts ...string) limitKey {
	return limitKey{b, b.name + ":" + strings.Join(parts, "|")}
}

// passwordKeys are the bounds one attempt to prove the password of account
// (models.LoginKey) from client counts under.
func passwordKeys(account, client string) []limitKey {
	return []limitKey{passwordClient.of(client), passwordPair.of(account, client), passwordAccount.of(account)}
}

// take counts one attempt under each key in order. When one refuses, the
// attempts counted under the keys before it are given back, and take tells
// how long the refusing key stays closed.
func (a *App) take(ctx context.Context, keys ...limitKey) (bool, time.Duration, error) {
	for i, k := range keys {
		ok, retry, err := a.store.Take(ctx, k.key, k.max, k.window)
		if err == nil && ok {
			continue
		}
		for _, prev := range keys[:i] {
			if uerr := a.store.Undo(ctx, prev.key); err == nil {
				err = uerr
			}
		}
		return false, retry, err
	}
	return true, 0, nil
}

// passwordRight gives back an attempt that proved the password: the
// client's and the account's counts lose it, and the pair starts afresh.
func (a *App) passwordRight(ctx context.Context, keys []limitKey) error {
	for _, k := range keys {
		var err error
		if k.bound == passwordPair {
			err = a.store.Reset(ctx, k.key)
		} else {
			err = a.store.Undo(ctx, k.key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// clientKey names the client a request comes from for counting attempts:
// its IP address (from the socket, or from X-Forwarded-For when a trusted
// proxy sent it), and for IPv6 its /64, which one subscriber usually holds
// whole.
func clientKey(c *gin.Context) string {
	addr, err := netip.ParseAddr(c.ClientIP())
	if err != nil {
		return c.ClientIP()
	}
	addr = addr.Unmap()
	if addr.Is6() {
		if p, err := addr.Prefix(64); err == nil {
			return p.String()
		}
	}
	return addr.String()
}

// accountKey is the key of a signed-in person's account, the same that a
// log-in naming them counts under.
func accountKey(u *models.User) string { return models.UserKey(u.ID) }
