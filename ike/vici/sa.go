package vici

// The SAs as charon describes them (list-sas, and the same sections in its
// events), reduced to what status and events show.

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"

	govici "github.com/strongswan/govici/vici"
)

// IKESA is charon's IKE (ISAKMP) SA of our connection.
type IKESA struct {
	Name     string `json:"name"`      // conn name
	UniqueID string `json:"unique_id"` // charon's number of this SA
	State    string `json:"state"`     // ESTABLISHED, CONNECTING, ...
	Local    string `json:"local"`     // address:port
	Remote   string `json:"remote"`
	RemoteID string `json:"remote_id,omitempty"`
	SPIs     string `json:"spis,omitempty"` // initiator_responder cookies
	Alg      string `json:"alg,omitempty"`  // e.g. aes256-sha256-modp2048
	NAT      bool   `json:"nat,omitempty"`  // NAT detected (or faked): ESP in UDP
	RekeyS   int64  `json:"rekey_in_s,omitempty"`
}

// ChildSA is a CHILD_SA (an ESP SA pair) of our connection.
type ChildSA struct {
	Name       string   `json:"name"`
	UniqueID   string   `json:"unique_id"`
	State      string   `json:"state"` // INSTALLED, REKEYING, ...
	Mode       string   `json:"mode"`  // transport or tunnel
	Encap      bool     `json:"udp_encap,omitempty"`
	SPIIn      string   `json:"spi_in"`
	SPIOut     string   `json:"spi_out"`
	Alg        string   `json:"alg,omitempty"` // e.g. aes128-sha1 or aes256gcm16-modp2048
	LocalTS    []string `json:"local_ts,omitempty"`
	RemoteTS   []string `json:"remote_ts,omitempty"`
	LifeS      int64    `json:"life_s,omitempty"` // seconds until it expires
	RekeyS     int64    `json:"rekey_in_s,omitempty"`
	BytesIn    uint64   `json:"bytes_in"`
	BytesOut   uint64   `json:"bytes_out"`
	PacketsIn  uint64   `json:"packets_in"`
	PacketsOut uint64   `json:"packets_out"`
}

// Status is what charon has of our connection.
type Status struct {
	Socket string   `json:"socket"`
	Conn   string   `json:"conn"`
	IKE    *IKESA   `json:"ike_sa,omitempty"`
	Child  *ChildSA `json:"child_sa,omitempty"` // the newest installed one
	// Children counts every CHILD_SA of the IKE SA (more than one during a
	// rekey).
	Children int `json:"child_sas"`
}

// status lists our IKE SAs (list-sas) and picks the established one with an
// installed child, else the first.
func (d *Delegate) status(ctx context.Context) (Status, error) {
	st := Status{Socket: d.cfg.Socket, Conn: d.conn}
	req := govici.NewMessage()
	// Not noblock: that skips an IKE_SA a charon thread is busy with (e.g.
	// sending a notify after a failed install), and ours must never be
	// missed (terminate, loss checks).
	set(req, "ike", d.conn)
	msgs, err := d.stream(ctx, "list-sas", "list-sa", req)
	if err != nil {
		if errors.Is(err, ErrNoSocket) {
			return st, err
		}
		return st, failure(ErrCharon, "ike: asking charon for our SAs: %v", err)
	}
	var sas []*govici.Message
	for _, m := range msgs {
		if sec, ok := m.Get(d.conn).(*govici.Message); ok {
			sas = append(sas, sec)
		}
	}
	for _, sec := range sas {
		i := parseIKESA(d.conn, sec)
		children := childSections(sec)
		c := newestInstalled(children)
		if st.IKE == nil || (c != nil && st.Child == nil) {
			st.IKE, st.Child, st.Children = &i, c, len(children)
		}
	}
	return st, nil
}

func parseIKESA(name string, m *govici.Message) IKESA {
	i := IKESA{
		Name:     name,
		UniqueID: str(m, "uniqueid"),
		State:    str(m, "state"),
		Local:    hostPort(str(m, "local-host"), str(m, "local-port")),
		Remote:   hostPort(str(m, "remote-host"), str(m, "remote-port")),
		RemoteID: str(m, "remote-id"),
		SPIs:     str(m, "initiator-spi") + "_" + str(m, "responder-spi"),
		Alg:      algName(str(m, "encr-alg"), str(m, "encr-keysize"), str(m, "integ-alg"), str(m, "dh-group")),
		NAT:      str(m, "nat-local") == "yes" || str(m, "nat-remote") == "yes" || str(m, "nat-fake") == "yes" || str(m, "nat-any") == "yes",
		RekeyS:   num(m, "rekey-time"),
	}
	if i.SPIs == "_" {
		i.SPIs = ""
	}
	return i
}

func parseChildSA(m *govici.Message) ChildSA {
	c := ChildSA{
		Name:       str(m, "name"),
		UniqueID:   str(m, "uniqueid"),
		State:      str(m, "state"),
		Mode:       strings.ToLower(str(m, "mode")),
		Encap:      str(m, "encap") == "yes",
		SPIIn:      str(m, "spi-in"),
		SPIOut:     str(m, "spi-out"),
		Alg:        algName(str(m, "encr-alg"), str(m, "encr-keysize"), str(m, "integ-alg"), str(m, "dh-group")),
		LifeS:      num(m, "life-time"),
		RekeyS:     num(m, "rekey-time"),
		BytesIn:    unum(m, "bytes-in"),
		BytesOut:   unum(m, "bytes-out"),
		PacketsIn:  unum(m, "packets-in"),
		PacketsOut: unum(m, "packets-out"),
	}
	c.LocalTS, _ = m.Get("local-ts").([]string)
	c.RemoteTS, _ = m.Get("remote-ts").([]string)
	return c
}

// childSections returns the CHILD_SAs of an IKE SA section, ordered by
// charon's unique id (oldest first).
func childSections(ikeSec *govici.Message) []ChildSA {
	cs, ok := ikeSec.Get("child-sas").(*govici.Message)
	if !ok {
		return nil
	}
	var out []ChildSA
	for _, k := range cs.Keys() {
		if sec, ok := cs.Get(k).(*govici.Message); ok {
			out = append(out, parseChildSA(sec))
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return atoi(out[a].UniqueID) < atoi(out[b].UniqueID) })
	return out
}

// newestInstalled is the newest installed child named ChildName.
func newestInstalled(cs []ChildSA) *ChildSA {
	for i := len(cs) - 1; i >= 0; i-- {
		if cs[i].Name == ChildName && cs[i].State == "INSTALLED" {
			c := cs[i]
			return &c
		}
	}
	return nil
}

func hostPort(h, p string) string {
	if h == "" {
		return ""
	}
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if p == "" {
		return h
	}
	return h + ":" + p
}

func num(m *govici.Message, key string) int64 {
	n, _ := strconv.ParseInt(str(m, key), 10, 64)
	return n
}

func unum(m *govici.Message, key string) uint64 {
	n, _ := strconv.ParseUint(str(m, key), 10, 64)
	return n
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// algName writes charon's algorithm names (AES_CBC 256, HMAC_SHA2_256_128,
// MODP_2048) in the proposal syntax the rest of the client uses
// (aes256-sha256-modp2048). Unknown names are kept, lower-cased.
func algName(encr, bits, integ, group string) string {
	var parts []string
	switch encr {
	case "":
	case "AES_CBC":
		parts = append(parts, "aes"+bits)
	case "AES_GCM_16":
		parts = append(parts, "aes"+bits+"gcm16")
	case "3DES":
		parts = append(parts, "3des")
	default:
		parts = append(parts, strings.ToLower(encr)+bits)
	}
	switch integ {
	case "":
	case "HMAC_SHA1_96":
		parts = append(parts, "sha1")
	case "HMAC_MD5_96":
		parts = append(parts, "md5")
	case "HMAC_SHA2_256_128":
		parts = append(parts, "sha256")
	case "HMAC_SHA2_384_192":
		parts = append(parts, "sha384")
	case "HMAC_SHA2_512_256":
		parts = append(parts, "sha512")
	default:
		parts = append(parts, strings.ToLower(integ))
	}
	if group != "" {
		parts = append(parts, strings.ToLower(strings.ReplaceAll(group, "_", "")))
	}
	return strings.Join(parts, "-")
}
