package main

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

type homePage struct {
	base
	Services []models.Service
}

func (a *app) home(c *gin.Context) {
	services, err := a.store.ListServices(c.Request.Context())
	if err != nil {
		a.fail(c, err)
		return
	}
	a.renderPage(c, http.StatusOK, "home", &homePage{base: a.base(c, ""), Services: services})
}

func (a *app) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz answers 503 while shutting down or when the database does not
// answer, so a load balancer stops sending traffic.
func (a *app) readyz(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	if !a.ready.Load() {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "shutting down"})
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		a.log.Error("readiness: database", "error", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "database unavailable"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

func (a *app) favicon(c *gin.Context) {
	u, err := a.assets.url("img/favicon.svg")
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Redirect(http.StatusMovedPermanently, u)
}
