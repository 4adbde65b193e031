package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The server's own cost, read from /proc: what it used is the other half
// of an honest load figure, and on a shared two-core machine the one that
// matters. Linux only; elsewhere the process is simply not found.

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat.
// It is 100 on every Linux architecture Go runs on, and reading it
// properly (sysconf) would need cgo.
const clockTicks = 100

// ServerStats is what the target's process used during the run.
type ServerStats struct {
	PID     int
	Command string        // /proc/PID/comm
	PeakRSS int64         // bytes, the largest VmRSS sampled during the run
	CPU     time.Duration // user+system time used during the run
	Wall    time.Duration // how long it was watched
	Samples int
	// SameProcess is set when the server runs in this very process (as in
	// tests), so its CPU includes the load generator's.
	SameProcess bool
}

// findListener returns the pid of the process holding the TCP socket that
// listens on port, or an error saying why not.
func findListener(port int) (int, error) {
	return findListenerIn("/proc", port)
}

func findListenerIn(proc string, port int) (int, error) {
	inodes := map[string]bool{}
	for _, f := range []string{"net/tcp", "net/tcp6"} {
		b, err := os.ReadFile(filepath.Join(proc, f))
		if err != nil {
			continue // no IPv6, or no /proc at all
		}
		for _, ino := range listenInodes(b, port) {
			inodes["socket:["+ino+"]"] = true
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("no socket listens on port %d", port)
	}
	// Look at this process first: it is the cheap case, and in tests the
	// server is here.
	pids := []string{strconv.Itoa(os.Getpid())}
	ents, err := os.ReadDir(proc)
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		if n := e.Name(); n[0] >= '0' && n[0] <= '9' {
			pids = append(pids, n)
		}
	}
	for _, pid := range pids {
		dir := filepath.Join(proc, pid, "fd")
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue // gone, or not ours to read
		}
		for _, fd := range fds {
			l, err := os.Readlink(filepath.Join(dir, fd.Name()))
			if err == nil && inodes[l] {
				return strconv.Atoi(pid)
			}
		}
	}
	return 0, fmt.Errorf("no process holds the socket listening on port %d", port)
}

// listenInodes reads a /proc/net/tcp table and returns the inodes of the
// sockets in state LISTEN (0A) on port.
func listenInodes(table []byte, port int) []string {
	want := fmt.Sprintf(":%04X", port)
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(table))
	sc.Scan() // header
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != "0A" || !strings.HasSuffix(f[1], want) {
			continue
		}
		if f[9] != "0" { // 0: a socket being torn down
			out = append(out, f[9])
		}
	}
	return out
}

// procSample is one reading of a process.
type procSample struct {
	rss int64 // bytes
	cpu int64 // clock ticks, user+system
}

func readProc(pid int) (procSample, error) {
	var s procSample
	base := "/proc/" + strconv.Itoa(pid)
	st, err := os.ReadFile(base + "/stat")
	if err != nil {
		return s, err
	}
	// The command name may hold spaces and parentheses: fields start after
	// the last ')'. utime and stime are fields 14 and 15, 11 and 12 here.
	i := bytes.LastIndexByte(st, ')')
	if i < 0 {
		return s, errors.New("unreadable " + base + "/stat")
	}
	f := strings.Fields(string(st[i+1:]))
	if len(f) < 13 {
		return s, errors.New("short " + base + "/stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	stt, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return s, errors.New("unreadable " + base + "/stat")
	}
	s.cpu = ut + stt
	status, err := os.ReadFile(base + "/status")
	if err != nil {
		return s, err
	}
	for line := range bytes.Lines(status) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 10, 64)
			if err == nil {
				s.rss = kb * 1024
			}
			break
		}
	}
	return s, nil
}

// procWatcher samples one process every 100 ms from start until stop.
type procWatcher struct {
	pid   int
	first procSample
	began time.Time

	mu      sync.Mutex
	last    procSample
	peak    int64
	samples int

	cancel context.CancelFunc
	done   chan struct{}
}

const procEvery = 100 * time.Millisecond

// watchProc starts sampling pid; it fails if the process cannot be read.
func watchProc(pid int) (*procWatcher, error) {
	s, err := readProc(pid)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &procWatcher{pid: pid, first: s, last: s, peak: s.rss, samples: 1, began: time.Now(), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(procEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				w.sample()
			}
		}
	}()
	return w, nil
}

func (w *procWatcher) sample() {
	s, err := readProc(w.pid)
	if err != nil {
		return // it may have exited; keep what was read
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = s
	w.peak = max(w.peak, s.rss)
	w.samples++
}

// stop takes a last sample and returns what the process used since start.
func (w *procWatcher) stop() *ServerStats {
	w.cancel()
	<-w.done
	w.sample()
	comm, _ := os.ReadFile("/proc/" + strconv.Itoa(w.pid) + "/comm")
	w.mu.Lock()
	defer w.mu.Unlock()
	return &ServerStats{
		PID:         w.pid,
		Command:     strings.TrimSpace(string(comm)),
		PeakRSS:     w.peak,
		CPU:         time.Duration(w.last.cpu-w.first.cpu) * time.Second / clockTicks,
		Wall:        time.Since(w.began),
		Samples:     w.samples,
		SameProcess: w.pid == os.Getpid(),
	}
}
