package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
)

// localIP resolves host and returns the address to dial, refusing any
// address that is not this machine's: a load run aimed elsewhere by a typo
// is an attack on somebody else's server. The address is resolved once and
// pinned, so a name cannot point somewhere else half way through the run.
func localIP(ctx context.Context, host string) (net.IP, error) {
	var ips []net.IP
	if ip := net.ParseIP(host); ip != nil {
		ips = []net.IP{ip}
	} else {
		addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("%s has no address", host)
	}
	own, err := net.InterfaceAddrs()
	if err != nil {
		own = nil // loopback is still known to be local
	}
	for _, ip := range ips {
		if !isOwnIP(ip, own) {
			return nil, fmt.Errorf("target %s (%s) is not on this machine; set AllowRemote to load a remote server", host, ip)
		}
	}
	return ips[0], nil
}

// isOwnIP says whether ip is loopback, unspecified (which Linux dials as
// this machine) or one of the machine's own interface addresses.
func isOwnIP(ip net.IP, own []net.Addr) bool {
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	for _, a := range own {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// targets are the pages worth loading, found on the target itself.
type targets struct {
	incident       int64 // 0: none
	incidentOpen   bool
	incidentThread int64   // the incident's own thread
	linked         []int64 // customer threads linked to the incident
}

// replyThreads are where customers reply: the incident's thread and the
// threads linked to it.
func (t targets) replyThreads() []int64 {
	var out []int64
	if t.incidentThread != 0 {
		out = append(out, t.incidentThread)
	}
	return append(out, t.linked...)
}

// errUnreachable marks a target that did not answer at all, as opposed to
// one that answered something unexpected.
var errUnreachable = errors.New("target unreachable")

// getJSON fetches base+path into v. A transport failure is errUnreachable;
// anything else the caller may live with.
func getJSON(ctx context.Context, c *http.Client, base, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", errUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return fmt.Errorf("GET %s: HTTP %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %v", path, err)
	}
	return nil
}

// discover finds the open incident (else the newest one) and the threads
// linked to it. It fails only when the target does not answer; what it
// could not find is said in the notes.
func discover(ctx context.Context, c *http.Client, base string) (targets, []string, error) {
	var t targets
	var notes []string
	type incident struct {
		ID       int64  `json:"id"`
		ThreadID int64  `json:"thread_id"`
		Kind     string `json:"kind"`
	}
	var list struct {
		Incidents []incident `json:"incidents"`
	}
	err := getJSON(ctx, c, base, "/api/v1/incidents?status=open", &list)
	if errors.Is(err, errUnreachable) {
		return t, nil, err
	}
	if err != nil {
		notes = append(notes, "cannot list incidents ("+err.Error()+")")
	}
	open := len(list.Incidents) > 0
	if err == nil && !open {
		// The list is newest first.
		err = getJSON(ctx, c, base, "/api/v1/incidents", &list)
		if errors.Is(err, errUnreachable) {
			return t, nil, err
		}
		if err != nil {
			notes = append(notes, "cannot list incidents ("+err.Error()+")")
		}
	}
	if len(list.Incidents) == 0 {
		notes = append(notes, "no incident on the target: reading only the dashboard and summary.json, and posting no replies")
		return t, notes, nil
	}
	// Newest first; but scheduled maintenance counts as open too, and it is
	// the outage people pile onto.
	inc := list.Incidents[0]
	for _, i := range list.Incidents {
		if i.Kind != "maintenance" {
			inc = i
			break
		}
	}
	t.incident, t.incidentOpen, t.incidentThread = inc.ID, open, inc.ThreadID
	if !open {
		notes = append(notes, "no open incident: using the newest, incident "+strconv.FormatInt(inc.ID, 10))
	}
	var detail struct {
		Linked []struct {
			ID int64 `json:"id"`
		} `json:"linked_threads"`
	}
	err = getJSON(ctx, c, base, "/api/v1/incidents/"+strconv.FormatInt(inc.ID, 10), &detail)
	if errors.Is(err, errUnreachable) {
		return t, nil, err
	}
	if err != nil {
		notes = append(notes, "cannot read the incident ("+err.Error()+")")
	}
	for _, l := range detail.Linked {
		if l.ID != 0 {
			t.linked = append(t.linked, l.ID)
		}
	}
	if len(t.linked) == 0 {
		notes = append(notes, "incident "+strconv.FormatInt(inc.ID, 10)+" has no linked thread: no thread reads")
	}
	return t, notes, nil
}
