//go:build integration

package integration

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metricsScrape is one scrape of the client's metrics: the text as served
// and as Prometheus's own parser reads it.
type metricsScrape struct {
	body string
	fams map[string]*dto.MetricFamily
}

// scrapeIn GETs url with curl inside namespace ns (where the client and
// its listener run) and parses the answer with expfmt.
func scrapeIn(t *testing.T, ns, url string) metricsScrape {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "curl", "-sS", "--fail", "--max-time", "10", url).Output()
	if err != nil {
		msg := ""
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			msg = string(ee.Stderr)
		}
		t.Fatalf("scrape %s in %s: %v %s", url, ns, err, msg)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(out)))
	if err != nil {
		t.Fatalf("parse the scrape: %v\n%s", err, tail(string(out), 40))
	}
	return metricsScrape{string(out), fams}
}

// value is the series of family name carrying the labels given (name,
// value pairs); ok is false when there is none.
func (s metricsScrape) value(name string, labels ...string) (float64, bool) {
	f := s.fams[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
			}
			match = match && found
		}
		if !match {
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

// counters are the connection's counter series, by family name and labels.
func (s metricsScrape) counters() map[string]float64 {
	out := map[string]float64{}
	for name, f := range s.fams {
		if !strings.HasPrefix(name, "l2tpvpn_") || f.GetType() != dto.MetricType_COUNTER {
			continue
		}
		for _, m := range f.GetMetric() {
			key := name
			for _, l := range m.GetLabel() {
				key += fmt.Sprintf(",%s=%s", l.GetName(), l.GetValue())
			}
			out[key] = m.GetCounter().GetValue()
		}
	}
	return out
}

// Issue 16's acceptance: metrics-listen against l2tpns; scraped with
// Prometheus's text parser before, during and after a 40 MiB transfer
// through the tunnel, the counters only grow (bytes and packets both
// ways while the transfer runs), the state is up, the last connect's
// phases are there (no IKE ones without IPsec), and once disconnected
// nothing listens any more.
func TestMetricsL2TPNS(t *testing.T) {
	l := labL2TPNS
	l.up(t)
	xfer := l.transferServer(t)
	const name = "l2v-metrics"
	const url = "http://127.0.0.1:19717/metrics"
	c := startClient(t, l, nil, "--auth", "chap", "--name", name, "--metrics-listen", "127.0.0.1:19717")
	c.waitEvent("up", 60*time.Second)

	checkUp := func(s metricsScrape, when string) {
		t.Helper()
		if v, ok := s.value("l2tpvpn_up", "name", name); !ok || v != 1 {
			t.Errorf("%s: l2tpvpn_up{name=%q} = %v (present %v), want 1", when, name, v, ok)
		}
		for _, st := range []string{"connecting", "up", "reconnecting", "down"} {
			want := 0.0
			if st == "up" {
				want = 1
			}
			if v, ok := s.value("l2tpvpn_state", "name", name, "state", st); !ok || v != want {
				t.Errorf("%s: l2tpvpn_state{state=%q} = %v (present %v), want %v", when, st, v, ok, want)
			}
		}
		if strings.Contains(s.body, password) {
			t.Errorf("%s: the metrics hold the password", when)
		}
	}
	before := scrapeIn(t, l.clientNS, url)
	checkUp(before, "before the transfer")
	var sum float64
	for _, p := range []string{"l2tp_tunnel", "l2tp_session", "ppp_lcp", "ppp_auth", "ppp_ipcp", "up"} {
		v, ok := before.value("l2tpvpn_connect_phase_seconds", "name", name, "phase", p)
		if !ok || v <= 0 || v > 60 {
			t.Errorf("phase %s: %v s (present %v)", p, v, ok)
		}
		sum += v
	}
	if total, ok := before.value("l2tpvpn_connect_phase_seconds", "name", name, "phase", "total"); !ok || total < sum-0.001 || total > 60 {
		t.Errorf("phase total %v s (present %v), the phases add up to %v s", total, ok, sum)
	}
	for _, p := range []string{"ike_phase1", "ike_phase2"} {
		if _, ok := before.value("l2tpvpn_connect_phase_seconds", "name", name, "phase", p); ok {
			t.Errorf("phase %s without IPsec", p)
		}
	}
	for _, f := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if before.fams[f] == nil {
			t.Errorf("no %s", f)
		}
	}

	// 40 MiB down through the tunnel while we scrape.
	const size = 4 * transferSize
	done := make(chan struct{})
	var xferOut string
	var xferErr error
	go func() {
		defer close(done)
		xferOut, xferErr = inNS(l.clientNS, labtool, "get", xfer, fmt.Sprint(size), "42")
	}()
	moved := func(s metricsScrape) bool {
		for _, n := range []string{"l2tpvpn_rx_bytes_total", "l2tpvpn_tx_bytes_total", "l2tpvpn_rx_packets_total", "l2tpvpn_tx_packets_total"} {
			a, _ := before.value(n, "name", name)
			b, _ := s.value(n, "name", name)
			if b <= a {
				return false
			}
		}
		return true
	}
	var during metricsScrape
	for during.fams == nil {
		running := true
		select {
		case <-done:
			running = false
		default:
		}
		if !running {
			t.Fatalf("the transfer ended before a scrape during it saw the counters move: %v\n%s", xferErr, xferOut)
		}
		s := scrapeIn(t, l.clientNS, url)
		if moved(s) {
			during = s
			break
		}
		time.Sleep(20 * time.Millisecond) // polling the client's counters while the transfer runs
	}
	<-done
	if xferErr != nil {
		t.Fatalf("get %d bytes through the tunnel: %v\n%s", size, xferErr, xferOut)
	}
	after := scrapeIn(t, l.clientNS, url)
	checkUp(during, "during the transfer")
	checkUp(after, "after the transfer")

	// Counters never go down, and the transfer's bytes are all counted.
	b, d, a := before.counters(), during.counters(), after.counters()
	for k, v := range b {
		if d[k] < v || a[k] < d[k] {
			t.Errorf("%s: %v before, %v during, %v after: a counter went down (or vanished)", k, v, d[k], a[k])
		}
	}
	rxB, rxD, rxA := b["l2tpvpn_rx_bytes_total,name="+name], d["l2tpvpn_rx_bytes_total,name="+name], a["l2tpvpn_rx_bytes_total,name="+name]
	if rxA <= rxD || rxA-rxB < size {
		t.Errorf("rx bytes %v before, %v during, %v after: want growth during and at least %d in all", rxB, rxD, rxA, size)
	}
	if up, _ := after.value("l2tpvpn_uptime_seconds", "name", name); up <= 0 {
		t.Errorf("uptime %v s while up", up)
	}
	if r, ok := after.value("l2tpvpn_reconnects_total", "name", name); !ok || r != 0 {
		t.Errorf("reconnects %v (present %v), want 0", r, ok)
	}
	t.Logf("rx %v → %v → %v bytes; %s", rxB, rxD, rxA, strings.TrimSpace(xferOut))

	c.disconnect()
	// The listener went with the connection: curl cannot connect (exit 7).
	out, err := exec.Command("ip", "netns", "exec", l.clientNS, "curl", "-sS", "--max-time", "5", url).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Errorf("metrics after the disconnect: %v, want curl's exit 7 (could not connect)\n%s", err, out)
	}
}
