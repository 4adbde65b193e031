package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/static"
)

// asset is one embedded static file with its content hash.
type asset struct {
	body  []byte
	hash  string
	ctype string
}

// assets serves static files with cache-busting URLs: the URL carries the
// content hash, so a changed file gets a new URL and old ones may be cached
// for a year.
type assets struct {
	files map[string]asset
}

func newAssets() (*assets, error) {
	a := &assets{files: map[string]asset{}}
	err := fs.WalkDir(static.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(static.FS, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = http.DetectContentType(body)
		}
		a.files[p] = asset{body: body, hash: hex.EncodeToString(sum[:])[:12], ctype: ctype}
		return nil
	})
	return a, err
}

// url gives the cache-busted URL of a static file; a missing file fails the
// page render at start-up tests rather than linking nowhere.
func (a *assets) url(name string) (string, error) {
	f, ok := a.files[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return "/static/" + name + "?v=" + f.hash, nil
}

func (a *assets) serve(c *gin.Context) error {
	name := strings.TrimPrefix(c.Param("filepath"), "/")
	f, ok := a.files[name]
	if !ok {
		c.Status(http.StatusNotFound)
		return nil
	}
	h := c.Writer.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", `"`+f.hash+`"`)
	if c.Query("v") == f.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	http.ServeContent(c.Writer, c.Request, "", time.Time{}, bytes.NewReader(f.body))
	return nil
}
