package web

import (
	"fmt"
	"html/template"

	"sitrep/models"
	"sitrep/server/markup"
)

// postItem is one post of a thread page as the post-item template
// (pages/thread_show.html) renders it: the post as its reader sees it, and
// what of the page changes it.
type postItem struct {
	postView
	Moderator   bool
	Marker      *models.IncidentUpdate // the timeline's update this post is, if it shows there
	Flag        flagForm               // the reader's refused flag, if on this post
	FlagReasons []string
}

// renderPosts renders the page's posts (the post-item template), each from
// the fragment cache when it was rendered before as this reader sees it.
// A post that shows page state of the moment (a refused flag form, a
// timeline marker) is rendered each time.
func (a *App) renderPosts(page *threadPage) error {
	t := a.views.pages["thread_show"]
	page.PostHTML = make([]template.HTML, len(page.Posts))
	for i, p := range page.Posts {
		item := postItem{postView: p, Moderator: page.Moderator, Marker: page.inTimeline(p.ID), Flag: page.Flag, FlagReasons: page.FlagReasons}
		var err error
		if item.Marker != nil || item.Flag.PostID == p.ID {
			page.PostHTML[i], err = markup.Fragment(t, "post-item", item)
		} else {
			page.PostHTML[i], err = renderFragment(a.views.fragments, t, "post-item", a.views.fragments.postKey(item), item)
		}
		if err != nil {
			return fmt.Errorf("render post %d: %w", p.ID, err)
		}
	}
	return nil
}

// postKey is the cache key of a post as item shows it: every field the
// post-item template reads.
func (c *fragmentCache) postKey(p postItem) fragmentKey {
	f := c.fingerprint()
	f.flags(p.Visible, p.CanEdit, p.CanFlag, p.Flagged, p.Moderator, p.Official,
		p.EditedAt != nil, p.HiddenAt != nil, p.HiddenByID != nil)
	f.int(p.AuthorID)
	f.time(p.CreatedAt)
	f.time(p.UpdatedAt)
	f.int(int64(len(p.FlagReasons)))
	author, mergedFrom := "", ""
	if p.Author != nil {
		author = p.Author.Name
	}
	if p.MergedFrom != nil {
		mergedFrom = p.MergedFrom.Title
	}
	f.str(string(p.AuthorRole))
	f.str(author)
	f.str(mergedFrom)
	f.str(p.HiddenReason)
	f.str(string(p.HTML))
	return fragmentKey{kind: postFragment, id: p.ID, fingerprint: f.sum()}
}
