package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// scrapeMetrics GETs url and parses the answer with Prometheus's own text
// parser.
func scrapeMetrics(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %s", url, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("content type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse the scrape: %v", err)
	}
	return fams
}

// metricValue is the value of the series of family name with exactly the
// labels given (besides name="work"-style labels checked elsewhere).
func metricValue(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		if !hasLabels(m, labels...) {
			continue
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue(), true
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// hasLabels: labels are name, value pairs m must carry.
func hasLabels(m *dto.Metric, labels ...string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
		}
		if !found {
			return false
		}
	}
	return true
}

// fakeStatus is a status source the test changes as a connection would.
type fakeStatus struct {
	mu sync.Mutex
	st vpn.Status
}

func (f *fakeStatus) status() vpn.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

func (f *fakeStatus) set(st vpn.Status) {
	f.mu.Lock()
	f.st = st
	f.mu.Unlock()
}

// serveTestMetrics serves c on a loopback port until the test ends.
func serveTestMetrics(t *testing.T, c *metricsCollector) string {
	t.Helper()
	srv, err := listenMetrics(netip.MustParseAddrPort("127.0.0.1:0"), newMetricsRegistry(c), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.close)
	return "http://" + srv.addr().String() + metricsPath
}

// The collector against a fake connection, scraped through the real HTTP
// handler: names, types, labels and values while connecting and once up,
// the phases of the connect, the runtime collectors, and no string of the
// status other than the name.
func TestMetricsScrape(t *testing.T) {
	src := &fakeStatus{st: vpn.Status{Name: "work", State: vpn.StateConnecting}}
	phases := &connectPhases{}
	c := newMetricsCollector("work", src.status, phases)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	url := serveTestMetrics(t, c)

	fams := scrapeMetrics(t, url)
	checkState := func(fams map[string]*dto.MetricFamily, want string) {
		t.Helper()
		up := 0.0
		if want == vpn.StateUp {
			up = 1
		}
		if v, ok := metricValue(fams, "l2tpvpn_up"); !ok || v != up {
			t.Errorf("l2tpvpn_up %v (present %v), want %v", v, ok, up)
		}
		for _, s := range metricStates {
			w := 0.0
			if s == want {
				w = 1
			}
			if v, ok := metricValue(fams, "l2tpvpn_state", "state", s); !ok || v != w {
				t.Errorf("l2tpvpn_state{state=%q} %v (present %v), want %v", s, v, ok, w)
			}
		}
	}
	checkState(fams, vpn.StateConnecting)
	if v, ok := metricValue(fams, "l2tpvpn_tx_bytes_total"); !ok || v != 0 {
		t.Errorf("tx bytes while connecting: %v %v", v, ok)
	}
	if f := fams["l2tpvpn_connect_phase_seconds"]; f != nil {
		t.Errorf("phases before any connect came up: %v", f)
	}

	// A connect with IPsec, event by event.
	t0 := now.Add(-95 * time.Second)
	at := t0
	for _, step := range []struct {
		ev    string
		after time.Duration
	}{
		{vpn.EventConnecting, 0}, {vpn.EventIKEPhase1Up, 300 * time.Millisecond}, {vpn.EventIKEPhase2Up, 100 * time.Millisecond},
		{vpn.EventTunnelUp, 50 * time.Millisecond}, {vpn.EventSessionUp, 20 * time.Millisecond}, {vpn.EventLCPUp, 40 * time.Millisecond},
		{vpn.EventAuthOK, 60 * time.Millisecond}, {vpn.EventIPUp, 70 * time.Millisecond}, {vpn.EventUp, 160 * time.Millisecond},
	} {
		at = at.Add(step.after)
		phases.event(vpn.Event{Event: step.ev, Time: at})
	}
	st := vpn.Status{Name: "work", State: vpn.StateUp, Since: now.Add(-90 * time.Second),
		Server: "192.0.2.77:1701", PeerID: "ip:marker-peer-id", LocalID: "fqdn:marker-local-id", IP: "10.99.0.2",
		Stats: vpn.Stats{TxPackets: 10, TxBytes: 1000, RxPackets: 20, RxBytes: 3000, RxDropped: 9,
			RxMalformed: 1, RxWrongSession: 2, ESPAuthFailed: 3, ESPReplayed: 4, ESPUnknownSPI: 5, RxQueueFull: 6, ChildSARekeys: 2}}
	st.Reconnect.Count = 3
	st.Reconnect.Last = "ppp: marker-error"
	src.set(st)
	fams = scrapeMetrics(t, url)
	checkState(fams, vpn.StateUp)
	for _, w := range []struct {
		name   string
		labels []string
		typ    dto.MetricType
		want   float64
	}{
		{"l2tpvpn_tx_packets_total", nil, dto.MetricType_COUNTER, 10},
		{"l2tpvpn_tx_bytes_total", nil, dto.MetricType_COUNTER, 1000},
		{"l2tpvpn_rx_packets_total", nil, dto.MetricType_COUNTER, 20},
		{"l2tpvpn_rx_bytes_total", nil, dto.MetricType_COUNTER, 3000},
		{"l2tpvpn_rx_dropped_total", nil, dto.MetricType_COUNTER, 9},
		{"l2tpvpn_drops_total", []string{"reason", "malformed"}, dto.MetricType_COUNTER, 1},
		{"l2tpvpn_drops_total", []string{"reason", "wrong_session"}, dto.MetricType_COUNTER, 2},
		{"l2tpvpn_drops_total", []string{"reason", "esp_auth_failed"}, dto.MetricType_COUNTER, 3},
		{"l2tpvpn_drops_total", []string{"reason", "esp_replayed"}, dto.MetricType_COUNTER, 4},
		{"l2tpvpn_drops_total", []string{"reason", "esp_unknown_spi"}, dto.MetricType_COUNTER, 5},
		{"l2tpvpn_drops_total", []string{"reason", "queue_full"}, dto.MetricType_COUNTER, 6},
		{"l2tpvpn_drops_total", []string{"reason", "foreign"}, dto.MetricType_COUNTER, 0},
		{"l2tpvpn_child_sa_rekeys_total", nil, dto.MetricType_COUNTER, 2},
		{"l2tpvpn_reconnects_total", nil, dto.MetricType_COUNTER, 3},
		{"l2tpvpn_uptime_seconds", nil, dto.MetricType_GAUGE, 90},
		{"l2tpvpn_connect_phase_seconds", []string{"phase", "ike_phase1"}, dto.MetricType_GAUGE, 0.3},
		{"l2tpvpn_connect_phase_seconds", []string{"phase", "ike_phase2"}, dto.MetricType_GAUGE, 0.1},
		{"l2tpvpn_connect_phase_seconds", []string{"phase", "l2tp_tunnel"}, dto.MetricType_GAUGE, 0.05},
		{"l2tpvpn_connect_phase_seconds", []string{"phase", "l2tp_session"}, dto.MetricType_GAUGE, 0.02},
		{"l2tpvpn_connect_phase_seconds", []string{"phase", "ppp_lcp"}, dto.MetricType_GAUGE, 0.04},
		{"l2tpvpn_connect_phase_seconds", []string{"phase", "ppp_auth"}, dto.MetricType_GAUGE, 0.06},
		{"l2tpvpn_connect_phase_seconds", []string{"phase", "ppp_ipcp"}, dto.MetricType_GAUGE, 0.07},
		{"l2tpvpn_connect_phase_seconds", []string{"phase", "up"}, dto.MetricType_GAUGE, 0.16},
		{"l2tpvpn_connect_phase_seconds", []string{"phase", "total"}, dto.MetricType_GAUGE, 0.8},
	} {
		f := fams[w.name]
		if f == nil {
			t.Errorf("no %s", w.name)
			continue
		}
		if f.GetType() != w.typ || f.GetHelp() == "" {
			t.Errorf("%s: type %v help %q, want %v with a help text", w.name, f.GetType(), f.GetHelp(), w.typ)
		}
		v, ok := metricValue(fams, w.name, w.labels...)
		if !ok || v < w.want-1e-9 || v > w.want+1e-9 {
			t.Errorf("%s%v = %v (present %v), want %v", w.name, w.labels, v, ok, w.want)
		}
	}
	if n := len(fams["l2tpvpn_drops_total"].GetMetric()); n != len(dropReasons) {
		t.Errorf("%d drop reasons, want %d", n, len(dropReasons))
	}
	// Every series of ours is the connection's, with fixed label names.
	for name, f := range fams {
		if !strings.HasPrefix(name, "l2tpvpn_") {
			continue
		}
		for _, m := range f.GetMetric() {
			var names []string
			for _, l := range m.GetLabel() {
				names = append(names, l.GetName())
				if l.GetName() == "name" && l.GetValue() != "work" {
					t.Errorf("%s: name=%q", name, l.GetValue())
				}
			}
			if !slices.Contains(names, "name") || len(names) > 2 {
				t.Errorf("%s: labels %v, want name and at most one other", name, names)
			}
		}
	}
	// The runtime collectors come along.
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "process_open_fds"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	// Nothing of the status but the name and numbers: its strings (here
	// markers) are never a label or help text.
	var body bytes.Buffer
	for _, f := range fams {
		expfmt.MetricFamilyToText(&body, f)
	}
	for _, s := range []string{"marker", "192.0.2.77", "10.99.0.2"} {
		if strings.Contains(body.String(), s) {
			t.Errorf("the metrics show %q", s)
		}
	}

	// Reconnecting: no longer up, uptime 0, the last connect's phases stay.
	st.State, st.Since = vpn.StateReconnecting, time.Time{}
	src.set(st)
	fams = scrapeMetrics(t, url)
	checkState(fams, vpn.StateReconnecting)
	if v, _ := metricValue(fams, "l2tpvpn_uptime_seconds"); v != 0 {
		t.Errorf("uptime while reconnecting: %v", v)
	}
	if v, _ := metricValue(fams, "l2tpvpn_connect_phase_seconds", "phase", "total"); v != 0.8 {
		t.Errorf("total of the last connect while reconnecting: %v", v)
	}
}

// Every counter of vpn.Stats is a series: each field gets its own value,
// and each value must turn up in one of our counters.
func TestMetricsEveryStatsCounter(t *testing.T) {
	var st vpn.Stats
	v := reflect.ValueOf(&st).Elem()
	want := map[float64]string{}
	for i := range v.NumField() {
		if v.Field(i).Kind() != reflect.Uint64 {
			t.Fatalf("Stats.%s is a %s: say how it becomes a metric", v.Type().Field(i).Name, v.Field(i).Kind())
		}
		n := uint64(1000 + 7*i)
		v.Field(i).SetUint(n)
		want[float64(n)] = v.Type().Field(i).Name
	}
	c := newMetricsCollector("x", func() vpn.Status { return vpn.Status{Name: "x", State: vpn.StateUp, Stats: st} }, &connectPhases{})
	fams := scrapeMetrics(t, serveTestMetrics(t, c))
	for name, f := range fams {
		if !strings.HasPrefix(name, "l2tpvpn_") || f.GetType() != dto.MetricType_COUNTER {
			continue
		}
		for _, m := range f.GetMetric() {
			delete(want, m.GetCounter().GetValue())
		}
	}
	for _, field := range want {
		t.Errorf("Stats.%s is in no l2tpvpn_*_total counter", field)
	}
}

// The phases are those of the last connect that came up: a failed attempt
// after it, rekeys and the events of an up connection change nothing; a
// connect without IPsec has no IKE phases.
func TestConnectPhases(t *testing.T) {
	p := &connectPhases{}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ev := func(name string, ms int) {
		p.event(vpn.Event{Event: name, Time: t0.Add(time.Duration(ms) * time.Millisecond)})
	}
	ev(vpn.EventConnecting, 0)
	ev(vpn.EventTunnelUp, 100)
	if got := p.last(); len(got) != 0 {
		t.Fatalf("phases before up: %v", got)
	}
	ev(vpn.EventSessionUp, 110)
	ev(vpn.EventLCPUp, 130)
	ev(vpn.EventAuthOK, 160)
	ev(vpn.EventIPUp, 200)
	ev(vpn.EventIPv6Up, 250) // part of "up"
	ev(vpn.EventUp, 300)
	want := []phaseTime{{"l2tp_tunnel", 100 * time.Millisecond}, {"l2tp_session", 10 * time.Millisecond}, {"ppp_lcp", 20 * time.Millisecond},
		{"ppp_auth", 30 * time.Millisecond}, {"ppp_ipcp", 40 * time.Millisecond}, {"up", 100 * time.Millisecond}, {"total", 300 * time.Millisecond}}
	if got := p.last(); !slices.Equal(got, want) {
		t.Fatalf("phases %v, want %v", got, want)
	}
	// After up: a rekey, then a lost link and an attempt that fails.
	p.event(vpn.Event{Event: vpn.EventIKEPhase2Up, Rekey: true, Time: t0.Add(time.Hour)})
	ev(vpn.EventReconnecting, 5000)
	ev(vpn.EventConnecting, 6000)
	ev(vpn.EventTunnelUp, 6500)
	ev(vpn.EventDown, 7000)
	if got := p.last(); !slices.Equal(got, want) {
		t.Fatalf("phases after a failed attempt %v, want the last connect's %v", got, want)
	}
	// A reconnect that comes up replaces them.
	ev(vpn.EventConnecting, 8000)
	ev(vpn.EventIKEPhase1Up, 8200)
	p.event(vpn.Event{Event: vpn.EventIKEPhase2Up, Time: t0.Add(8300 * time.Millisecond)})
	ev(vpn.EventTunnelUp, 8400)
	ev(vpn.EventUp, 9000)
	want = []phaseTime{{"ike_phase1", 200 * time.Millisecond}, {"ike_phase2", 100 * time.Millisecond}, {"l2tp_tunnel", 100 * time.Millisecond},
		{"up", 600 * time.Millisecond}, {"total", time.Second}}
	if got := p.last(); !slices.Equal(got, want) {
		t.Fatalf("phases of the reconnect %v, want %v", got, want)
	}
}

// metricsOptsConfig parses connect's arguments and returns the dry run's
// metrics-listen line (or the error).
func metricsOptsConfig(t *testing.T, args ...string) (string, error) {
	t.Helper()
	_, dry, err := proxyOptsConfig(t, args...)
	for l := range strings.Lines(dry) {
		if v, ok := strings.CutPrefix(l, "metrics-listen "); ok {
			return strings.TrimSpace(v), err
		}
	}
	return "", err
}

// metrics-listen: off by default, IP:PORT only, a non-loopback address
// accepted and flagged in the dry run.
func TestMetricsListenOption(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // the dry run's line, "" for none
	}{
		{nil, ""},
		{[]string{"--metrics-listen", "off"}, ""},
		{[]string{"--metrics-listen", ""}, ""},
		{[]string{"--metrics-listen", "127.0.0.1:9717"}, "http://127.0.0.1:9717/metrics"},
		{[]string{"--metrics-listen", "[::1]:9717"}, "http://[::1]:9717/metrics"},
		{[]string{"--metrics-listen", "0.0.0.0:9717"}, "http://0.0.0.0:9717/metrics (not loopback: readable from the network)"},
		{[]string{"--metrics-listen", "192.0.2.5:9717"}, "http://192.0.2.5:9717/metrics (not loopback: readable from the network)"},
	} {
		got, err := metricsOptsConfig(t, tc.args...)
		if err != nil || got != tc.want {
			t.Errorf("%q: dry run %q, %v; want %q", tc.args, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ val, want string }{
		{"localhost:9717", `--metrics-listen: "localhost:9717" is not IP:PORT like 127.0.0.1:9717`},
		{":9717", `--metrics-listen: ":9717" is not IP:PORT`},
		{"127.0.0.1", `is not IP:PORT`},
		{"127.0.0.1:0", `--metrics-listen: "127.0.0.1:0": give the port`},
		{"127.0.0.1:99999", `is not IP:PORT`},
	} {
		if _, err := metricsOptsConfig(t, "--metrics-listen", tc.val); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.val, err, tc.want)
		}
	}
}

// metrics-listen is a profile key (a wrong value is reported against the
// profile's line), and the command line wins over it.
func TestMetricsListenProfile(t *testing.T) {
	t.Setenv("L2TPVPN_STATE_DIR", t.TempDir())
	dir := t.TempDir()
	write := func(name, val string) string {
		p := filepath.Join(dir, name+".toml")
		body := "server = \"192.0.2.1\"\nuser = \"a\"\npassword = \"env:L2V_UNIT_PW\"\nipsec = \"off\"\nmetrics-listen = \"" + val + "\"\n"
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, bad := write("m", "127.0.0.1:9718"), write("mbad", "localhost:9718")
	for _, tc := range []struct {
		args     []string
		code     int
		want     string
		wantNone bool
	}{
		{[]string{good}, exitOK, "metrics-listen http://127.0.0.1:9718/metrics", false},
		{[]string{good, "--metrics-listen", "127.0.0.1:9719"}, exitOK, "metrics-listen http://127.0.0.1:9719/metrics", false},
		{[]string{good, "--metrics-listen", "off"}, exitOK, "", true},
		{[]string{bad}, exitUsage, "metrics-listen", false},
	} {
		t.Setenv("L2V_UNIT_PW", "s3cret-value") // read once, then removed
		var out, errOut bytes.Buffer
		code := run(append([]string{"connect", "--dry-run"}, tc.args...), &out, &errOut)
		dry := strings.Join(strings.Fields(out.String()), " ")
		switch {
		case code != tc.code:
			t.Errorf("%q: exit %d, want %d; stderr %q", tc.args, code, tc.code, errOut.String())
		case tc.code == exitUsage:
			if msg := errOut.String(); !strings.Contains(msg, bad) || !strings.Contains(msg, "metrics-listen") || !strings.Contains(msg, "not IP:PORT") {
				t.Errorf("%q: error %q, want the profile, the key and what is wrong", tc.args, msg)
			}
		case tc.wantNone && strings.Contains(dry, "metrics-listen"):
			t.Errorf("%q: dry run has metrics-listen:\n%s", tc.args, out.String())
		case !tc.wantNone && !strings.Contains(dry, tc.want):
			t.Errorf("%q: dry run lacks %q:\n%s", tc.args, tc.want, out.String())
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for s, want := range map[string]bool{"127.0.0.1": true, "127.3.2.1": true, "::1": true, "::ffff:127.0.0.1": true,
		"0.0.0.0": false, "::": false, "192.0.2.1": false, "fe80::1": false} {
		if got := isLoopback(netip.MustParseAddr(s)); got != want {
			t.Errorf("isLoopback(%s) = %v", s, got)
		}
	}
}

// freeTCPPort is a loopback port nothing listened on a moment ago.
func freeTCPPort(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

// startMetrics serves while it runs and not after stop; it records the
// events passed on to the caller's OnEvent; a non-loopback address is
// served with a warning in the log, a loopback one without.
func TestStartMetrics(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "0.0.0.0"} {
		var logBuf bytes.Buffer
		var mu sync.Mutex
		var seen []string
		cfg := vpn.Config{Logger: slog.New(slog.NewTextHandler(&logBuf, nil)), OnEvent: func(ev vpn.Event) {
			mu.Lock()
			seen = append(seen, ev.Event)
			mu.Unlock()
		}}
		port := freeTCPPort(t)
		o := &connectOpts{name: "work", metricsListen: fmt.Sprintf("%s:%d", host, port)}
		stop, err := o.startMetrics(&cfg, func() vpn.Status { return vpn.Status{Name: "work", State: vpn.StateUp} })
		if err != nil {
			t.Fatal(err)
		}
		cfg.OnEvent(vpn.Event{Event: vpn.EventConnecting})
		cfg.OnEvent(vpn.Event{Event: vpn.EventUp})
		url := fmt.Sprintf("http://127.0.0.1:%d%s", port, metricsPath)
		fams := scrapeMetrics(t, url)
		if v, ok := metricValue(fams, "l2tpvpn_up", "name", "work"); !ok || v != 1 {
			t.Errorf("%s: l2tpvpn_up %v %v", host, v, ok)
		}
		if _, ok := metricValue(fams, "l2tpvpn_connect_phase_seconds", "phase", "total"); !ok {
			t.Errorf("%s: the events were not recorded", host)
		}
		if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port)); err != nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: GET / answered %v, %v; want 404", host, resp, err)
		} else {
			resp.Body.Close()
		}
		stop()
		mu.Lock()
		if !slices.Equal(seen, []string{vpn.EventConnecting, vpn.EventUp}) {
			t.Errorf("%s: the caller's OnEvent saw %v", host, seen)
		}
		mu.Unlock()
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			t.Errorf("%s: still listening after stop", host)
		}
		warned := strings.Contains(logBuf.String(), "level=WARN") && strings.Contains(logBuf.String(), "non-loopback")
		if warned != (host == "0.0.0.0") {
			t.Errorf("%s: warned %v; log:\n%s", host, warned, logBuf.String())
		}
	}
	// Off: nothing listens, OnEvent stays as it was.
	cfg := vpn.Config{}
	stop, err := (&connectOpts{name: "work"}).startMetrics(&cfg, nil)
	if err != nil || cfg.OnEvent != nil {
		t.Fatalf("off: %v, OnEvent set %v", err, cfg.OnEvent != nil)
	}
	stop()
}

// A port in use is a host error (exit 8) at start, naming the key, before
// anything is sent (the server 192.0.2.1 is never contacted).
func TestMetricsListenInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	t.Setenv("L2TPVPN_STATE_DIR", t.TempDir())
	t.Setenv("L2V_UNIT_PW", "pw")
	var out, errOut bytes.Buffer
	code := run([]string{"connect", "--name", "inuse", "--proxy", "--proxy-listen", "127.0.0.1:0", "--server", "192.0.2.1", "--ipsec", "off",
		"--user", "u", "--password", "env:L2V_UNIT_PW", "--metrics-listen", ln.Addr().String()}, &out, &errOut)
	if code != exitHost {
		t.Errorf("exit %d, want %d", code, exitHost)
	}
	if msg := errOut.String(); !strings.Contains(msg, "metrics-listen "+ln.Addr().String()) || !strings.Contains(msg, "address already in use") ||
		!strings.Contains(msg, "choose another metrics-listen") {
		t.Errorf("stderr %q", msg)
	}
}

// connect serves the metrics from before its first packet and stops
// serving when it ends: a connection waiting for a silent server is
// "connecting", and after the disconnect nothing listens. Proxy mode, so
// that no root is needed.
func TestConnectServesMetrics(t *testing.T) {
	server, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	dir := t.TempDir()
	t.Setenv("L2TPVPN_STATE_DIR", dir)
	t.Setenv("L2V_UNIT_PW", "pw")
	port := freeTCPPort(t)
	res := make(chan int, 1)
	var out, errOut bytes.Buffer
	go func() {
		res <- run([]string{"connect", "--name", "metered", "--proxy", "--proxy-listen", "127.0.0.1:0", "--server", server.LocalAddr().String(),
			"--ipsec", "off", "--user", "u", "--password", "env:L2V_UNIT_PW", "--metrics-listen", fmt.Sprintf("127.0.0.1:%d", port)}, &out, &errOut)
	}()
	if _, _, err := server.ReadFromUDP(make([]byte, 1500)); err != nil { // the SCCRQ
		t.Fatal(err)
	}
	fams := scrapeMetrics(t, fmt.Sprintf("http://127.0.0.1:%d%s", port, metricsPath))
	if v, ok := metricValue(fams, "l2tpvpn_up", "name", "metered"); !ok || v != 0 {
		t.Errorf("l2tpvpn_up{name=metered} %v (present %v), want 0", v, ok)
	}
	if v, ok := metricValue(fams, "l2tpvpn_state", "name", "metered", "state", vpn.StateConnecting); !ok || v != 1 {
		t.Errorf("l2tpvpn_state{state=connecting} %v (present %v), want 1", v, ok)
	}
	var dout, derr bytes.Buffer
	if code := run([]string{"disconnect", "metered", "--timeout", "5s"}, &dout, &derr); code != exitOK {
		t.Errorf("disconnect: exit %d, stderr %q", code, derr.String())
	}
	select {
	case code := <-res:
		if code != exitInterrupted {
			t.Errorf("connect: exit %d, want %d; stderr %q", code, exitInterrupted, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("connect still running 10 s after the disconnect")
	}
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		c.Close()
		t.Error("the metrics listener is still there after connect returned")
	}
}
