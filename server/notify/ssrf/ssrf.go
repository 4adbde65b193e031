// Package ssrf keeps webhooks from being aimed at the inside: the network
// the site runs in, its loopback, and the cloud's metadata service. The
// check is made on the address actually dialed, after DNS and on every
// connection (a name that resolved to a public address when the
// subscription was made may resolve to 127.0.0.1 later), and once more when
// a subscription is made, so that an obviously inward address is refused at
// once.
package ssrf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ranges are the addresses a webhook may not reach, with why.
var ranges = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local (cloud metadata)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "reserved"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // and the broadcast address
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("100::/64"), "reserved"},
	{netip.MustParsePrefix("fc00::/7"), "private"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// Forms of IPv6 that carry an IPv4 address, which is checked too.
var (
	compatible = netip.MustParsePrefix("::/96")        // ::a.b.c.d (deprecated)
	nat64      = netip.MustParsePrefix("64:ff9b::/96") // NAT64
	sixToFour  = netip.MustParsePrefix("2002::/16")    // 6to4
)

// Blocked says why ip must not be reached ("" when it may): loopback,
// private, shared, link-local, multicast, unspecified or reserved, in IPv4
// or IPv6, including IPv6 forms that carry such an IPv4 address
// (::ffff:127.0.0.1, ::127.0.0.1, 64:ff9b::a00:1, 2002:a00:1::).
func Blocked(ip netip.Addr) string {
	ip = ip.WithZone("").Unmap()
	for _, r := range ranges {
		if r.prefix.Contains(ip) {
			return r.why
		}
	}
	if ip.Is6() {
		b := ip.As16()
		var v4 netip.Addr
		switch {
		case compatible.Contains(ip), nat64.Contains(ip):
			v4 = netip.AddrFrom4([4]byte(b[12:16]))
		case sixToFour.Contains(ip):
			v4 = netip.AddrFrom4([4]byte(b[2:6]))
		}
		if v4.IsValid() {
			if why := Blocked(v4); why != "" {
				return why + " (inside an IPv6 address)"
			}
		}
	}
	return ""
}

// BlockedError refuses a connection to an address a webhook may not reach.
type BlockedError struct {
	Addr netip.Addr
	Why  string
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("address %s is %s: webhooks may not reach it (serve -webhook-allow-private allows it)", e.Addr, e.Why)
}

// Dialer is a dialer whose every connection is checked after DNS, in the
// dialer's Control hook, against the address it is about to reach; unless
// allowPrivate, a blocked address is refused with a *BlockedError.
func Dialer(allowPrivate bool, timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = control
	}
	return d
}

func control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("cannot check the address %q: %w", address, err)
	}
	if why := Blocked(ap.Addr()); why != "" {
		return &BlockedError{Addr: ap.Addr().WithZone(""), Why: why}
	}
	return nil
}

// Resolver finds a host's addresses; net.DefaultResolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// CheckURL says, in a sentence for the person subscribing, why a webhook
// URL cannot be used: its host is, or resolves only to, addresses a webhook
// may not reach, or it does not resolve. nil when it may be used (the
// dialer checks again on every delivery).
func CheckURL(ctx context.Context, raw string, r Resolver) error {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return errors.New("Enter a webhook URL such as https://example.com/hooks/status.")
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if why := Blocked(ip); why != "" {
			return fmt.Errorf("This address is %s (%s); webhooks must reach a public address.", why, ip.Unmap())
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return fmt.Errorf("The host %s could not be found (DNS); check the URL.", host)
	}
	var why []string
	for _, ip := range ips {
		w := Blocked(ip)
		if w == "" {
			return nil
		}
		why = append(why, fmt.Sprintf("%s is %s", ip.Unmap(), w))
	}
	return fmt.Errorf("The host %s leads only to addresses webhooks may not reach (%s); use a public address.", host, strings.Join(why, ", "))
}
