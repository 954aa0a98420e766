package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// report is the JSON the campaign writes.
type report struct {
	Date       string         `json:"date"`
	Machine    machineInfo    `json:"machine"`
	Config     campaignConfig `json:"config"`
	LoadStart  [3]float64     `json:"loadavg_start"`
	LoadEnd    [3]float64     `json:"loadavg_end"`
	Tests      []testSpec     `json:"tests"`
	Systems    []*systemState `json:"systems"`
	Runs       []runResult    `json:"runs"`
	Summary    []summaryRow   `json:"summary"`
	Notes      []string       `json:"notes"`
	DurationS  float64        `json:"campaign_seconds"`
	Incomplete bool           `json:"incomplete,omitempty"`
}

type machineInfo struct {
	CPU      string            `json:"cpu"`
	Cores    int               `json:"cores"`
	Kernel   string            `json:"kernel"`
	Go       string            `json:"go"`
	Versions map[string]string `json:"versions"`
}

type campaignConfig struct {
	Rounds     int      `json:"rounds"`
	Seconds    int      `json:"seconds_per_run"`
	Rate       string   `json:"fixed_rate"`
	MTU        int      `json:"tunnel_mtu"`
	UDPPayload int      `json:"udp_payload"`
	Order      []string `json:"order"`
}

// systemState is what became of one system over the campaign.
type systemState struct {
	ID          string            `json:"id"`
	Desc        string            `json:"description"`
	RoundsUp    int               `json:"rounds_up"`
	SetupS      []float64         `json:"setup_seconds,omitempty"`
	Errors      []string          `json:"errors,omitempty"`
	Notes       map[string]string `json:"negotiated,omitempty"`
	ClientIdle  int64             `json:"client_rss_idle_kb"`
	ServerIdle  int64             `json:"server_rss_idle_kb"`
	ClientLoad  int64             `json:"client_rss_load_kb"` // peak over every run
	ServerLoad  int64             `json:"server_rss_load_kb"`
	ClientBin   string            `json:"client_process"`
	ServerBin   string            `json:"server_process"`
	idleSamples int
}

// summaryRow is the mean of one test on one system over the rounds, with
// each figure's ratio to wireguard-go's mean in the same campaign.
type summaryRow struct {
	System string             `json:"system"`
	Test   string             `json:"test"`
	Runs   int                `json:"runs"`
	Mean   map[string]float64 `json:"mean"`
	Min    map[string]float64 `json:"min"`
	Max    map[string]float64 `json:"max"`
	Ratio  map[string]float64 `json:"ratio_to_wireguard_go,omitempty"`
}

var figures = []struct {
	key string
	get func(r runResult) float64
}{
	{"gbit_s", func(r runResult) float64 { return r.Gbps }},
	{"kpps", func(r runResult) float64 { return r.Kpps }},
	{"client_cores", func(r runResult) float64 { return r.ClientCores }},
	{"server_cores", func(r runResult) float64 { return r.ServerCores }},
	{"client_us_per_packet", func(r runResult) float64 { return r.ClientUsPerPkt }},
	{"server_us_per_packet", func(r runResult) float64 { return r.ServerUsPerPkt }},
	{"lost_percent", func(r runResult) float64 { return r.LostPercent }},
	{"machine_busy_cores", func(r runResult) float64 { return r.MachineBusyCores }},
}

func summarize(systems []*systemState, tests []testSpec, runs []runResult) []summaryRow {
	var rows []summaryRow
	base := map[string]summaryRow{}
	for _, s := range systems {
		for _, t := range tests {
			row := summaryRow{System: s.ID, Test: t.ID, Mean: map[string]float64{}, Min: map[string]float64{}, Max: map[string]float64{}}
			for _, r := range runs {
				if r.System != s.ID || r.Test != t.ID || r.Err != "" {
					continue
				}
				row.Runs++
				for _, f := range figures {
					v := f.get(r)
					row.Mean[f.key] += v
					if row.Runs == 1 || v < row.Min[f.key] {
						row.Min[f.key] = v
					}
					row.Max[f.key] = math.Max(row.Max[f.key], v)
				}
			}
			if row.Runs == 0 {
				continue
			}
			for k := range row.Mean {
				row.Mean[k] = round3(row.Mean[k] / float64(row.Runs))
			}
			if s.ID == "wireguard-go" {
				base[t.ID] = row
			}
			rows = append(rows, row)
		}
	}
	for i := range rows {
		b, ok := base[rows[i].Test]
		if !ok {
			continue
		}
		rows[i].Ratio = map[string]float64{}
		for _, f := range figures[:6] {
			if b.Mean[f.key] > 0 {
				rows[i].Ratio[f.key] = round3(rows[i].Mean[f.key] / b.Mean[f.key])
			}
		}
	}
	return rows
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// printTables writes one table per test and one for memory.
func printTables(w io.Writer, rep *report) {
	for _, t := range rep.Tests {
		fmt.Fprintf(w, "\n%s — %s\n", t.ID, t.Desc)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "system\tGbit/s\t×wg\tkpps\tlost %\tclient cores\tserver cores\tclient µs/pkt\t×wg\tserver µs/pkt\t×wg\truns\t")
		for _, r := range rep.Summary {
			if r.Test != t.ID {
				continue
			}
			m := r.Mean
			fmt.Fprintf(tw, "%s\t%.2f\t%s\t%.1f\t%.1f\t%.2f\t%.2f\t%.2f\t%s\t%.2f\t%s\t%d\t\n", r.System, m["gbit_s"], ratio(r, "gbit_s"),
				m["kpps"], m["lost_percent"], m["client_cores"], m["server_cores"], m["client_us_per_packet"], ratio(r, "client_us_per_packet"),
				m["server_us_per_packet"], ratio(r, "server_us_per_packet"), r.Runs)
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\nmemory (VmRSS, MiB) and set-up\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "system\tclient idle\tclient load\tserver idle\tserver load\trounds up\terrors\t")
	for _, s := range rep.Systems {
		errs := "-"
		if len(s.Errors) > 0 {
			errs = firstLine(s.Errors[0])
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%s\t\n", s.ID, mib(s.ClientIdle), mib(s.ClientLoad), mib(s.ServerIdle), mib(s.ServerLoad), s.RoundsUp, errs)
	}
	tw.Flush()
}

func ratio(r summaryRow, key string) string {
	if v, ok := r.Ratio[key]; ok {
		return fmt.Sprintf("%.2f", v)
	}
	return "-"
}

func mib(kb int64) float64 { return float64(kb) / 1024 }

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
