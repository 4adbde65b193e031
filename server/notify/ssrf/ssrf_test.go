package ssrf

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestBlocked(t *testing.T) {
	for _, addr := range []string{"127.0.0.1", "127.8.9.10", "10.0.0.5", "172.16.4.4", "192.168.1.1", "169.254.169.254",
		"100.64.0.1", "0.0.0.0", "224.0.0.251", "255.255.255.255", "::1", "::", "fe80::1%eth0", "fd00::1", "ff02::1",
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1"} {
		if Blocked(netip.MustParseAddr(addr)) == "" {
			t.Errorf("%s is allowed", addr)
		}
	}
	for _, addr := range []string{"93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"} {
		if why := Blocked(netip.MustParseAddr(addr)); why != "" {
			t.Errorf("%s is refused: %s", addr, why)
		}
	}
}

// TestDialerChecksTheAddressDialed: a name that resolves to loopback is
// refused when the connection is made, after DNS; with the flag it
// connects.
func TestDialerChecksTheAddressDialed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	for _, target := range []string{"localhost:" + port, ln.Addr().String(), "[::ffff:127.0.0.1]:" + port} {
		_, err := Dialer(false, time.Second).DialContext(context.Background(), "tcp", target)
		var be *BlockedError
		if !errors.As(err, &be) || be.Why != "loopback" {
			t.Errorf("dial %s: %v, want a refusal for loopback", target, err)
		}
	}
	c, err := Dialer(true, time.Second).DialContext(context.Background(), "tcp", "localhost:"+port)
	if err != nil {
		t.Fatalf("with -webhook-allow-private: %v", err)
	}
	c.Close()
}

type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, a := range addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

func TestCheckURL(t *testing.T) {
	r := fakeResolver{"inside.example": {"10.1.2.3", "::1"}, "both.example": {"10.1.2.3", "93.184.216.34"}, "public.example": {"93.184.216.34"}}
	for raw, want := range map[string]string{
		"http://127.0.0.1/hook":                "loopback",
		"https://10.0.0.8:8443/x":              "private",
		"http://169.254.169.254/latest/":       "link-local",
		"http://[::1]:8080/":                   "loopback",
		"http://[::ffff:127.0.0.1]/":           "loopback",
		"https://inside.example/hook":          "leads only to addresses",
		"https://nowhere.example/hook":         "could not be found",
		"https://both.example/hook":            "",
		"https://public.example/hook":          "",
		"https://93.184.216.34/hooks/incoming": "",
	} {
		err := CheckURL(context.Background(), raw, r)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s refused: %v", raw, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want ...%s...", raw, err, want)
		}
	}
}
