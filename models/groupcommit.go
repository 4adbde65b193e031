package models

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"gorm.io/gorm"
)

// Group commit. SQLite commits one transaction at a time, and at
// synchronous=FULL each commit waits for an fsync: one writer at a time
// made about 500 durable replies a second. The committer takes the writes
// waiting at once and runs them in one transaction, each inside its own
// savepoint, then commits them with one fsync. A write that fails (a
// constraint, a locked thread, any error of its function) is rolled back to
// its savepoint alone, and its neighbours go on; every caller is answered
// only after the commit that holds its write, or with the error that
// undid it. Only the SQLite store starts a committer (Open); a store
// without one (PostgreSQL, whose writers do not wait on one another so)
// runs each write in its own transaction (Store.write).

// maxBatch bounds the writes committed together, so that one batch's
// transaction stays short.
const maxBatch = 64

// errStoreClosed answers a write sent after Close.
var errStoreClosed = errors.New("sql: database is closed")

// committer runs the writes sent to it, a batch at a time.
type committer struct {
	db   *gorm.DB
	reqs chan *writeReq // unbuffered: a batch is the writes waiting to be taken
	quit chan struct{}
	done chan struct{}
	once sync.Once
}

// writeReq is one caller's write and, once done is closed, its outcome.
type writeReq struct {
	ctx      context.Context
	fn       func(tx *gorm.DB) error
	wrote    bool // it wrote an event or a job
	err      error
	panicked any
	done     chan struct{}
}

func startCommitter(db *gorm.DB) *committer {
	c := &committer{db: db, reqs: make(chan *writeReq), quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// stop ends the committer once its batch is committed; writes sent later
// fail with errStoreClosed.
func (c *committer) stop() {
	c.once.Do(func() { close(c.quit) })
	<-c.done
}

// do runs fn in the next batch and returns its outcome after the batch has
// committed. A panic in fn is raised again here, in the caller.
func (c *committer) do(ctx context.Context, fn func(tx *gorm.DB) error) (wrote bool, err error) {
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case c.reqs <- r:
	case <-ctx.Done():
		return false, ctx.Err()
	case <-c.quit:
		return false, errStoreClosed
	}
	<-r.done
	if r.panicked != nil {
		panic(r.panicked)
	}
	return r.wrote, r.err
}

func (c *committer) run() {
	defer close(c.done)
	for {
		var batch []*writeReq
		select {
		case r := <-c.reqs:
			batch = append(batch, r)
		case <-c.quit:
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-c.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		c.commit(batch)
		for _, r := range batch {
			close(r.done)
		}
	}
}

// commit runs a batch in one transaction, each write in a savepoint, and
// sets each write's outcome.
func (c *committer) commit(batch []*writeReq) {
	// The transaction is the batch's, not one caller's: a caller that
	// goes away must not interrupt the statements of the others (an
	// interrupted write rolls the whole transaction back).
	tx := c.db.WithContext(context.Background()).Begin()
	if tx.Error != nil {
		failAll(batch, tx.Error)
		return
	}
	written := 0
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err // its caller is gone: it is not run
			continue
		}
		if err := tx.SavePoint("w").Error; err != nil {
			tx.Rollback()
			failAll(batch, err)
			return
		}
		r.run(tx)
		if r.err != nil || r.panicked != nil {
			if err := tx.RollbackTo("w").Error; err != nil {
				tx.Rollback()
				failAll(batch, fmt.Errorf("undo a failed write: %w", err))
				return
			}
		} else {
			written++
		}
		if err := tx.Exec("RELEASE SAVEPOINT w").Error; err != nil {
			tx.Rollback()
			failAll(batch, err)
			return
		}
	}
	if written == 0 {
		tx.Rollback()
		return
	}
	if err := tx.Commit().Error; err != nil {
		failAll(batch, err)
	}
}

// run calls the write's function on tx, in the caller's context without
// its cancellation, noting a panic instead of letting it end the
// committer.
func (r *writeReq) run(tx *gorm.DB) {
	defer func() {
		if p := recover(); p != nil {
			r.panicked = p
		}
	}()
	r.err = r.fn(tx.WithContext(context.WithoutCancel(r.ctx)).Set(wroteKey, &r.wrote).Session(&gorm.Session{}))
}

// failAll gives err to every write of the batch that had not failed on its
// own: none of them is written.
func failAll(batch []*writeReq, err error) {
	for _, r := range batch {
		if r.err == nil && r.panicked == nil {
			r.err = err
		}
		r.wrote = false
	}
}
