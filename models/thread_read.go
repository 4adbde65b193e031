package models

import (
	"context"
	"database/sql"
)

// ThreadByID returns a thread with its author (what pages show of them:
// id, name, role, since when) and its service, in one query scanned by
// hand: every thread page, reply and moderation step reads it, and
// GORM's preloads made it three queries and a tenth of a thread page's
// allocations.
func (s *Store) ThreadByID(ctx context.Context, id int64) (*Thread, error) {
	rows, err := s.db.WithContext(ctx).Raw(`SELECT t.id, t.title, t.author_id, t.service_id, t.incident_id, t.locked, t.lock_reason,
		t.pinned, t.pinned_until, t.slow_mode_seconds, t.merged_into_id, t.post_count, t.affected_count,
		t.last_activity_at, t.created_at, t.updated_at, u.name, u.role, u.created_at,
		sv.name, sv.description, sv.group_name, sv.position, sv.created_at, sv.updated_at
		FROM threads t JOIN users u ON u.id = t.author_id LEFT JOIN services sv ON sv.id = t.service_id
		WHERE t.id = ?`, id).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, ErrNotFound
	}
	var (
		th                      Thread
		author                  User
		serviceID, incidentID   sql.NullInt64
		mergedInto              sql.NullInt64
		pinnedUntil             sql.NullTime
		svName, svDesc, svGroup sql.NullString
		svPosition              sql.NullInt64
		svCreated, svUpdated    sql.NullTime
	)
	if err := rows.Scan(&th.ID, &th.Title, &th.AuthorID, &serviceID, &incidentID, &th.Locked, &th.LockReason,
		&th.Pinned, &pinnedUntil, &th.SlowModeSeconds, &mergedInto, &th.PostCount, &th.AffectedCount,
		&th.LastActivityAt, &th.CreatedAt, &th.UpdatedAt, &author.Name, &author.Role, &author.CreatedAt,
		&svName, &svDesc, &svGroup, &svPosition, &svCreated, &svUpdated); err != nil {
		return nil, err
	}
	author.ID = th.AuthorID
	th.Author = &author
	if serviceID.Valid {
		th.ServiceID = &serviceID.Int64
		th.Service = &Service{ID: serviceID.Int64, Name: svName.String, Description: svDesc.String, GroupName: svGroup.String,
			Position: int(svPosition.Int64), CreatedAt: svCreated.Time, UpdatedAt: svUpdated.Time}
	}
	th.IncidentID = nullable(incidentID.Int64, incidentID.Valid)
	th.MergedIntoID = nullable(mergedInto.Int64, mergedInto.Valid)
	th.PinnedUntil = nullable(pinnedUntil.Time, pinnedUntil.Valid)
	return &th, rows.Err()
}
