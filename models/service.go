package models

import (
	"context"
	"strings"
	"time"
)

// Service is something customers use (Statuspage calls it a component).
type Service struct {
	ID          int64
	Name        string
	Description string
	GroupName   string
	Position    int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Field limits for services.
const (
	ServiceNameMaxLen        = 80
	ServiceDescriptionMaxLen = 500
)

// NewService is the input for adding a service to the catalogue.
type NewService struct {
	Name        string
	Description string
	Group       string
	Position    int
}

// CreateService adds a service.
func (s *Store) CreateService(ctx context.Context, in NewService) (*Service, error) {
	in.Name = strings.TrimSpace(in.Name)
	in.Group = strings.TrimSpace(in.Group)
	in.Description = strings.TrimSpace(in.Description)
	v := validation{}
	switch {
	case in.Name == "":
		v.add("name", "Name the service.")
	case len([]rune(in.Name)) > ServiceNameMaxLen:
		v.add("name", "A service name has at most 80 characters.")
	}
	if len([]rune(in.Group)) > ServiceNameMaxLen {
		v.add("group", "A group name has at most 80 characters.")
	}
	if len([]rune(in.Description)) > ServiceDescriptionMaxLen {
		v.add("description", "A description has at most 500 characters.")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	svc := &Service{Name: in.Name, Description: in.Description, GroupName: in.Group, Position: in.Position}
	if err := s.db.WithContext(ctx).Create(svc).Error; err != nil {
		if translate(err) == ErrConflict {
			v.add("name", "A service with this name exists.")
			return nil, v.err()
		}
		return nil, translate(err)
	}
	return svc, nil
}

// ListServices lists the catalogue in display order.
func (s *Store) ListServices(ctx context.Context) ([]Service, error) {
	var out []Service
	err := s.db.WithContext(ctx).Order("position, id").Find(&out).Error
	return out, err
}
