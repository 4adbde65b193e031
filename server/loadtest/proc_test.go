package loadtest

import (
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"testing"
)

func TestListenInodes(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 20 4 30 10 -1
   2: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0000000000000000 100 0 0 10 0
`
	if got := listenInodes([]byte(table), 8080); !slices.Equal(got, []string{"4242"}) {
		t.Errorf("port 8080: %v, want the listening socket only", got)
	}
	if got := listenInodes([]byte(table), 80); !slices.Equal(got, []string{"4444"}) {
		t.Errorf("port 80: %v", got)
	}
	if got := listenInodes([]byte(table), 81); got != nil {
		t.Errorf("port 81: %v", got)
	}
}

// The server of a test listens in this process, so this process it is.
func TestFindListenerFindsThisProcess(t *testing.T) {
	srv := httptest.NewServer(nil)
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	pid, err := findListener(port)
	if err != nil || pid != os.Getpid() {
		t.Fatalf("pid %d, %v; want %d", pid, err, os.Getpid())
	}
	s, err := readProc(pid)
	if err != nil || s.rss <= 0 || s.cpu < 0 {
		t.Errorf("sample %+v, %v", s, err)
	}
	srv.Close()
	if _, err := findListener(port); err == nil {
		t.Errorf("found a listener on a closed port")
	}
}
