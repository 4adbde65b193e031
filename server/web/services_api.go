package web

import (
	"net/http"

	"sitrep/models"

	"github.com/gin-gonic/gin"
)

// apiService is a service with its derived status.
type apiService struct {
	ID          int64                  `json:"id"`
	Name        string                 `json:"name"`
	Description string                 `json:"description"`
	Group       string                 `json:"group"`
	Position    int                    `json:"position"`
	Status      models.ComponentStatus `json:"status"`
}

// toAPIService is a service with its derived status.
func toAPIService(s *models.Service, statuses map[int64]models.ComponentStatus) apiService {
	out := apiService{ID: s.ID, Name: s.Name, Description: s.Description, Group: s.GroupName, Position: s.Position, Status: models.Operational}
	if st, ok := statuses[s.ID]; ok {
		out.Status = st
	}
	return out
}

func (a *App) apiServiceList(c *gin.Context) error {
	ctx := c.Request.Context()
	services, err := a.store.ListServices(ctx)
	if err != nil {
		return err
	}
	statuses, err := a.store.ServiceStatuses(ctx)
	if err != nil {
		return err
	}
	out := []apiService{}
	for i := range services {
		out = append(out, toAPIService(&services[i], statuses))
	}
	return writeJSON(c, http.StatusOK, gin.H{"services": out})
}

// apiServiceSave adds a service (POST) or changes the one in the path
// (PATCH: fields absent from the body keep their values).
func (a *App) apiServiceSave(c *gin.Context) error {
	ctx := c.Request.Context()
	var cur models.Service
	if c.Request.Method == http.MethodPatch {
		id, err := pathID(c, "id")
		var found *models.Service
		if err == nil {
			found, err = a.store.ServiceByID(ctx, id)
		}
		if err != nil {
			return err
		}
		cur = *found
	}
	body := struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
		Group       *string `json:"group"`
		Position    *int    `json:"position"`
	}{&cur.Name, &cur.Description, &cur.GroupName, &cur.Position}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	in := models.NewService{Name: cur.Name, Description: cur.Description, Group: cur.GroupName, Position: cur.Position}
	var s *models.Service
	var err error
	status := http.StatusCreated
	if cur.ID == 0 {
		s, err = a.store.CreateService(ctx, currentUser(c), in)
	} else {
		s, err = a.store.UpdateService(ctx, currentUser(c), cur.ID, in)
		status = http.StatusOK
	}
	if err != nil {
		return err
	}
	statuses, err := a.store.ServiceStatuses(ctx)
	if err != nil {
		return err
	}
	return writeJSON(c, status, toAPIService(s, statuses))
}
