package main

// Prometheus metrics (issue 16): metrics-listen = "127.0.0.1:9717" serves
// GET /metrics in the text exposition format while the connection runs,
// from before its first packet until it has ended. Off by default.
//
// Every series carries the label name (the connection's name) and is read
// at scrape time from the connection's status (vpn.Status: state, counters,
// reconnects, uptime) and from the times of the last connect's events; the
// Go runtime and process collectors of client_golang come along. A
// private registry, never the global one. Nothing secret is in a name, a
// label or a value: the status holds no secret, and the only label values
// are the connection name and fixed words.

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

const (
	exampleMetricsListen = "127.0.0.1:9717"
	metricsPath          = "/metrics"
)

// metricsOptNames are the keys metricsFlags defines.
var metricsOptNames = []string{"metrics-listen"}

func metricsFlags(fs *pflag.FlagSet, listen *string) {
	fs.StringVar(listen, "metrics-listen", "", "serve Prometheus metrics at http://ADDR:PORT"+metricsPath+" while the connection runs, e.g. "+
		exampleMetricsListen+" (off by default; a non-loopback address lets anyone who reaches it read them)")
}

// metricsAddr checks metrics-listen: an IP address and a port ("" or
// "off": no metrics). A host name or an empty host (":9717", every
// interface) is refused: where the counters can be read from is said
// explicitly. A non-loopback address is the user's choice; startMetrics
// warns about it.
func (o *connectOpts) metricsAddr() (netip.AddrPort, error) {
	s := o.metricsListen
	if s == "" || s == "off" {
		return netip.AddrPort{}, nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return ap, o.keyErrf("metrics-listen", "%q is not IP:PORT like %s (loopback; 0.0.0.0:9717 serves every interface)", s, exampleMetricsListen)
	}
	if ap.Port() == 0 {
		return ap, o.keyErrf("metrics-listen", "%q: give the port Prometheus scrapes, like %s", s, exampleMetricsListen)
	}
	return ap, nil
}

// metricsSettingsLine is the dry run's line ("" when off).
func (o *connectOpts) metricsSettingsLine() string {
	ap, err := o.metricsAddr()
	if err != nil || !ap.IsValid() {
		return ""
	}
	s := "http://" + ap.String() + metricsPath
	if !isLoopback(ap.Addr()) {
		s += " (not loopback: readable from the network)"
	}
	return s
}

func isLoopback(a netip.Addr) bool { return a.Unmap().IsLoopback() }

// startMetrics binds metrics-listen (a port in use fails here, before
// anything is sent) and serves the metrics of the connection whose status
// status returns; it records the times of the connection's events through
// cfg.OnEvent. The returned stop closes the listener.
func (o *connectOpts) startMetrics(cfg *vpn.Config, status func() vpn.Status) (stop func(), err error) {
	ap, err := o.metricsAddr()
	if err != nil || !ap.IsValid() {
		return func() {}, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("layer", "metrics")
	phases := &connectPhases{}
	user := cfg.OnEvent
	cfg.OnEvent = func(ev vpn.Event) {
		phases.event(ev)
		if user != nil {
			user(ev)
		}
	}
	srv, err := listenMetrics(ap, newMetricsRegistry(newMetricsCollector(o.name, status, phases)), log)
	if err != nil {
		return nil, err
	}
	if !isLoopback(ap.Addr()) {
		log.Warn("metrics on a non-loopback address: anyone who can reach it can read this connection's state and counters", "listen", ap)
	}
	log.Info("serving metrics", "url", "http://"+srv.addr().String()+metricsPath)
	return srv.close, nil
}

// newMetricsRegistry is a private registry of c and client_golang's Go
// runtime and process collectors.
func newMetricsRegistry(c prometheus.Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// metricsServer is the HTTP server of the metrics.
type metricsServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// listenMetrics binds ap and serves reg's metrics at /metrics.
func listenMetrics(ap netip.AddrPort, reg *prometheus.Registry, log *slog.Logger) (*metricsServer, error) {
	ln, err := net.Listen("tcp", ap.String())
	if err != nil {
		msg := fmt.Sprintf("metrics-listen %s: %v", ap, err)
		if errors.Is(err, syscall.EADDRINUSE) {
			msg += " (another program has the port: choose another metrics-listen)"
		} else if errors.Is(err, syscall.EADDRNOTAVAIL) {
			msg += " (no interface of this host has that address)"
		}
		return nil, errors.New(msg)
	}
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	mux := http.NewServeMux()
	mux.Handle("GET "+metricsPath, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: errLog, ErrorHandling: promhttp.HTTPErrorOnError,
		MaxRequestsInFlight: 4, Timeout: 10 * time.Second,
	}))
	m := &metricsServer{ln: ln, done: make(chan struct{}), srv: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          errLog,
	}}
	go func() {
		defer close(m.done)
		m.srv.Serve(ln) // until close
	}()
	return m, nil
}

func (m *metricsServer) addr() net.Addr { return m.ln.Addr() }

// close stops listening and ends open scrapes; it returns once the server
// has stopped.
func (m *metricsServer) close() {
	m.srv.Close()
	<-m.done
}

// metricsCollector turns a connection's status into metrics at each scrape.
type metricsCollector struct {
	status func() vpn.Status
	phases *connectPhases
	now    func() time.Time

	up, state, uptime, reconnects, rekeys, drops, phase *prometheus.Desc
	counters                                            []*prometheus.Desc // as statCounters
}

// metricStates are the states l2tpvpn_state reports one-hot.
var metricStates = []string{vpn.StateConnecting, vpn.StateUp, vpn.StateReconnecting, vpn.StateDown}

// statCounters are the counters of vpn.Stats that are series of their own.
var statCounters = []struct {
	name, help string
	value      func(*vpn.Stats) uint64
}{
	{"l2tpvpn_tx_packets_total", "IP packets sent through the tunnel.", func(s *vpn.Stats) uint64 { return s.TxPackets }},
	{"l2tpvpn_rx_packets_total", "IP packets received through the tunnel.", func(s *vpn.Stats) uint64 { return s.RxPackets }},
	{"l2tpvpn_tx_bytes_total", "Bytes of IP packets sent through the tunnel.", func(s *vpn.Stats) uint64 { return s.TxBytes }},
	{"l2tpvpn_rx_bytes_total", "Bytes of IP packets received through the tunnel.", func(s *vpn.Stats) uint64 { return s.RxBytes }},
	{"l2tpvpn_tx_errors_total", "IP packets that could not be sent.", func(s *vpn.Stats) uint64 { return s.TxErrors }},
	{"l2tpvpn_rx_errors_total", "Failed receive calls on the socket.", func(s *vpn.Stats) uint64 { return s.RxErrors }},
	{"l2tpvpn_rx_dropped_total", "Received datagrams or frames discarded, for any reason (l2tpvpn_drops_total breaks most of them down).", func(s *vpn.Stats) uint64 { return s.RxDropped }},
	{"l2tpvpn_mss_clamped_total", "TCP SYNs whose MSS was lowered to fit the tunnel.", func(s *vpn.Stats) uint64 { return s.MSSClamped }},
	{"l2tpvpn_nat_keepalives_received_total", "NAT keepalives received from the server.", func(s *vpn.Stats) uint64 { return s.NATKeepalives }},
}

// dropReasons are the reason label values of l2tpvpn_drops_total.
var dropReasons = []struct {
	reason string
	value  func(*vpn.Stats) uint64
}{
	{"malformed", func(s *vpn.Stats) uint64 { return s.RxMalformed }},
	{"foreign", func(s *vpn.Stats) uint64 { return s.RxForeign }},
	{"wrong_session", func(s *vpn.Stats) uint64 { return s.RxWrongSession }},
	{"not_ready", func(s *vpn.Stats) uint64 { return s.RxNotReady }},
	{"queue_full", func(s *vpn.Stats) uint64 { return s.RxQueueFull }},
	{"mppe", func(s *vpn.Stats) uint64 { return s.RxMPPE }},
	{"mppe_not_up", func(s *vpn.Stats) uint64 { return s.TxMPPEBlocked }},
	{"l2tp_malformed", func(s *vpn.Stats) uint64 { return s.L2TPMalformed }},
	{"ppp_malformed", func(s *vpn.Stats) uint64 { return s.PPPMalformed }},
	{"esp_auth_failed", func(s *vpn.Stats) uint64 { return s.ESPAuthFailed }},
	{"esp_replayed", func(s *vpn.Stats) uint64 { return s.ESPReplayed }},
	{"esp_unknown_spi", func(s *vpn.Stats) uint64 { return s.ESPUnknownSPI }},
	{"esp_invalid", func(s *vpn.Stats) uint64 { return s.ESPInvalid }},
}

// newMetricsCollector collects the metrics of connection name; status is
// read at every scrape, phases holds the last connect's phase durations.
func newMetricsCollector(name string, status func() vpn.Status, phases *connectPhases) *metricsCollector {
	l := prometheus.Labels{"name": name}
	d := func(fq, help string, variable ...string) *prometheus.Desc {
		return prometheus.NewDesc(fq, help, variable, l)
	}
	c := &metricsCollector{status: status, phases: phases, now: time.Now,
		up:         d("l2tpvpn_up", "1 while the connection is up (traffic can flow), else 0."),
		state:      d("l2tpvpn_state", "The connection's state: 1 for the current one, 0 for the others.", "state"),
		uptime:     d("l2tpvpn_uptime_seconds", "Time since the current connection came up (0 when not up)."),
		reconnects: d("l2tpvpn_reconnects_total", "Successful reconnects after the link was lost."),
		rekeys:     d("l2tpvpn_child_sa_rekeys_total", "IPsec child SA (ESP) rekeys."),
		drops: d("l2tpvpn_drops_total", "Packets discarded, by reason: received (malformed, foreign: not from the server, wrong_session, "+
			"not_ready, queue_full, mppe, l2tp_malformed, ppp_malformed, esp_*) or not sent (mppe_not_up).", "reason"),
		phase: d("l2tpvpn_connect_phase_seconds", "Duration of each phase of the last connect that came up, from the end of the phase before "+
			"(ike_phase1 from connecting); total from connecting to up.", "phase"),
	}
	for _, s := range statCounters {
		c.counters = append(c.counters, d(s.name, s.help))
	}
	return c
}

func (c *metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range append([]*prometheus.Desc{c.up, c.state, c.uptime, c.reconnects, c.rekeys, c.drops, c.phase}, c.counters...) {
		ch <- d
	}
}

func (c *metricsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.status()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	up := st.State == vpn.StateUp
	gauge(c.up, b2f(up))
	known := false
	for _, s := range metricStates {
		gauge(c.state, b2f(st.State == s), s)
		known = known || st.State == s
	}
	if !known && st.State != "" {
		gauge(c.state, 1, st.State)
	}
	uptime := 0.0
	if up && !st.Since.IsZero() {
		uptime = max(0, c.now().Sub(st.Since).Seconds())
	}
	gauge(c.uptime, uptime)
	counter(c.reconnects, uint64(max(0, st.Reconnect.Count)))
	counter(c.rekeys, st.Stats.ChildSARekeys)
	for i, s := range statCounters {
		counter(c.counters[i], s.value(&st.Stats))
	}
	for _, r := range dropReasons {
		counter(c.drops, r.value(&st.Stats), r.reason)
	}
	for _, p := range c.phases.last() {
		gauge(c.phase, p.d.Seconds(), p.phase)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// connectPhases times the phases of connection attempts from their
// events: each phase lasts from the event before to its own. The phases of
// the last attempt that came up are what a scrape reports.
type connectPhases struct {
	mu        sync.Mutex
	active    bool // an attempt is under way
	start     time.Time
	mark      time.Time // the attempt's latest phase event
	cur, done []phaseTime
}

type phaseTime struct {
	phase string
	d     time.Duration
}

// phaseName is the phase an event ends ("" for other events).
func phaseName(ev vpn.Event) string {
	switch ev.Event {
	case vpn.EventIKEPhase1Up:
		return "ike_phase1"
	case vpn.EventIKEPhase2Up:
		if ev.Rekey {
			return ""
		}
		return "ike_phase2"
	case vpn.EventTunnelUp:
		return "l2tp_tunnel"
	case vpn.EventSessionUp:
		return "l2tp_session"
	case vpn.EventLCPUp:
		return "ppp_lcp"
	case vpn.EventAuthOK:
		return "ppp_auth"
	case vpn.EventIPUp:
		return "ppp_ipcp"
	case vpn.EventUp:
		return "up" // the host's set-up and ready checks
	}
	return ""
}

func (p *connectPhases) event(ev vpn.Event) {
	t := ev.Time
	if t.IsZero() {
		t = time.Now()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ev.Event == vpn.EventConnecting {
		p.active, p.start, p.mark, p.cur = true, t, t, nil
		return
	}
	name := phaseName(ev)
	if !p.active || name == "" {
		return
	}
	p.cur = append(p.cur, phaseTime{name, t.Sub(p.mark)})
	p.mark = t
	if ev.Event == vpn.EventUp {
		p.done = append(p.cur, phaseTime{"total", t.Sub(p.start)})
		p.active, p.cur = false, nil
	}
}

// last are the phases of the last connect that came up (none before).
func (p *connectPhases) last() []phaseTime {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}
