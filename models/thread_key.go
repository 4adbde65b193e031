package models

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ThreadKey is a thread's place in the thread list's order (pinned first,
// then by latest activity, then by id, each descending). A list read after
// a key (ThreadFilter.After) starts there in the index instead of walking
// past every thread before it, so its hundredth page costs what its first
// does.
type ThreadKey struct {
	Pinned         bool
	LastActivityAt time.Time
	ID             int64
}

// Key is the thread's place in the list.
func (th *Thread) Key() ThreadKey {
	return ThreadKey{Pinned: th.Pinned, LastActivityAt: th.LastActivityAt, ID: th.ID}
}

// String writes the key as a link carries it: "0-1767225600000000000-42"
// (pinned, last activity in Unix nanoseconds, id).
func (k ThreadKey) String() string {
	pinned := "0"
	if k.Pinned {
		pinned = "1"
	}
	return fmt.Sprintf("%s-%d-%d", pinned, k.LastActivityAt.UnixNano(), k.ID)
}

// ParseThreadKey reads what String wrote.
func ParseThreadKey(s string) (ThreadKey, error) {
	parts := strings.Split(s, "-")
	if len(parts) != 3 || parts[0] != "0" && parts[0] != "1" {
		return ThreadKey{}, errors.New("not a place in the thread list")
	}
	at, err1 := strconv.ParseInt(parts[1], 10, 64)
	id, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || id < 1 {
		return ThreadKey{}, errors.New("not a place in the thread list")
	}
	return ThreadKey{Pinned: parts[0] == "1", LastActivityAt: time.Unix(0, at).UTC(), ID: id}, nil
}
