// Package loadtest replays the day of an outage against a Sitrep server
// and measures it honestly.
//
// Everyone reloads the status dashboard, the incident page and the
// Statuspage API at once, and customers pile replies into the incident's
// threads. Run sends that mix, at a fixed rate, over many keep-alive
// connections, and reports per route how many requests were answered 2xx,
// how many were refused on purpose (503 with Retry-After), how many failed
// otherwise, and their latencies; with the server's peak memory and CPU
// time, read from /proc, when it runs on this machine.
//
// # Open loop
//
// Visitors do not wait for each other: the ten-thousandth reload of the
// dashboard comes when its visitor presses F5, not when the server has
// answered the previous one. So requests here run on a schedule computed
// before the start, the n-th due n/rate seconds in, and each is sent when
// due whether or not earlier ones were answered. A closed loop, where each
// client sends its next request after the last answer, slows down with the
// server: when the server stalls, the clients stall too and stop sending,
// and the requests that would have arrived during the stall are never
// made, so they never show as slow. That is coordinated omission, and it
// makes a server that froze for a second look fast at p99.
//
// # Latency from the due time
//
// Latency counts from when a request was due, not from when it went out,
// to the last byte of its answer. When every connection is busy, a due
// request waits for one, as a browser's would; that wait is part of what
// its visitor saw, so it is part of the figure. A server that stalls for
// 300 ms thus shows the stall in every request due during it, not only in
// the few that were in flight. This is how wrk2 and vegeta measure.
//
// # Use
//
//	rep, err := loadtest.Run(ctx, loadtest.Options{
//		Target: "http://127.0.0.1:8080",
//		Tokens: tokens, // customers' API tokens, for replies
//	}, os.Stderr)
//	if rep != nil {
//		rep.Print(os.Stdout)
//	}
//
// Options left at zero take the defaults: 10,000 reads/s over 1,000
// connections for 30 s, the mix DefaultMix, 100 replies/s. With FindMax
// set, Run instead steps the rate up in short runs and reports the highest
// rate served with no error and p99 under MaxP99.
//
// Targets must be on this machine (loopback or one of its own addresses)
// unless AllowRemote is set; every run stops by itself after its duration
// and a hard cap on requests.
package loadtest
