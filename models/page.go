package models

// Page bounds a list request.
type Page struct {
	Number  int // 1-based
	PerPage int
}

// MaxPerPage caps every list, whatever a client asks for.
const MaxPerPage = 100

// Each list's page size when a request names none, named once, here, so that
// the server's page links count with the same numbers.
const (
	ThreadsPerPage   = 25 // the forum's thread list (ListThreads)
	PostsPerPage     = 50 // a thread's posts (ListPosts, PostPosition)
	RevisionsPerPage = 50 // a post's earlier versions (PostRevisions)
	IncidentsPerPage = 20 // the incident history (ListIncidents)
	FlagsPerPage     = 25 // flagged posts in the review queue (FlagQueue)
	AuditPerPage     = 50 // audit log entries (ListAudit)
	UsersPerPage     = 50 // the admin's user list (ListUsers)
	UserPostsPerPage = 25 // a user's posts on the moderator's user page (UserPosts)
	SearchPerPage    = 20 // search results (Search)
)

// Normalize clamps the page to sensible bounds.
func (p Page) Normalize(defaultPer int) Page {
	if p.Number < 1 {
		p.Number = 1
	}
	if p.PerPage < 1 {
		p.PerPage = defaultPer
	}
	if p.PerPage > MaxPerPage {
		p.PerPage = MaxPerPage
	}
	return p
}

func (p Page) offset() int { return (p.Number - 1) * p.PerPage }

// Paged is one page of a list.
type Paged[T any] struct {
	Items   []T
	Page    Page
	HasNext bool
}

// paged trims the extra row fetched to learn whether a next page exists.
func paged[T any](items []T, p Page) Paged[T] {
	r := Paged[T]{Items: items, Page: p}
	if len(items) > p.PerPage {
		r.Items = items[:p.PerPage]
		r.HasNext = true
	}
	return r
}
