package models

// Page bounds a list request.
type Page struct {
	Number  int // 1-based
	PerPage int
}

// MaxPerPage caps every list.
const MaxPerPage = 100

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
