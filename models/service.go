package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
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
	ServicePositionMax       = 10000
)

// NewService is the input for adding a service to the catalogue.
type NewService struct {
	Name        string
	Description string
	Group       string
	Position    int
}

// clean validates a service's fields.
func (in *NewService) clean() error {
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
	if in.Position < 0 || in.Position > ServicePositionMax {
		v.add("position", "Position is a whole number from 0 to 10000.")
	}
	return v.err()
}

// CreateService adds a service to the catalogue. actor is the admin, or nil
// for the operator's command line.
func (s *Store) CreateService(ctx context.Context, actor *User, in NewService) (*Service, error) {
	return s.saveService(ctx, actor, 0, in)
}

// UpdateService changes a service's name, description, group and position.
func (s *Store) UpdateService(ctx context.Context, actor *User, id int64, in NewService) (*Service, error) {
	return s.saveService(ctx, actor, id, in)
}

// saveService creates (id 0) or updates a service and records it in the
// audit log.
func (s *Store) saveService(ctx context.Context, actor *User, id int64, in NewService) (*Service, error) {
	if actor != nil && actor.Role != RoleAdmin {
		return nil, ErrForbidden
	}
	if err := in.clean(); err != nil {
		return nil, err
	}
	svc := &Service{ID: id}
	err := s.write(ctx, func(tx *gorm.DB) error {
		before, action := "", "service.create"
		if id != 0 {
			if err := tx.First(svc, id).Error; err != nil {
				return err
			}
			before, action = fmt.Sprintf("%s (%s) #%d", svc.Name, svc.GroupName, svc.Position), "service.update"
		}
		svc.Name, svc.Description, svc.GroupName, svc.Position = in.Name, in.Description, in.Group, in.Position
		if err := tx.Save(svc).Error; err != nil {
			return err
		}
		if err := s.emitStatus(tx); err != nil {
			return err
		}
		return s.audit(tx, actor, action, "service", svc.ID, "", before, fmt.Sprintf("%s (%s) #%d", svc.Name, svc.GroupName, svc.Position))
	})
	if translate(err) == ErrConflict {
		return nil, &ValidationError{Fields: map[string]string{"name": "A service with this name exists."}}
	}
	if err != nil {
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

// ServiceByID returns one service.
func (s *Store) ServiceByID(ctx context.Context, id int64) (*Service, error) {
	var svc Service
	if err := s.db.WithContext(ctx).First(&svc, id).Error; err != nil {
		return nil, translate(err)
	}
	return &svc, nil
}
