package l2tp

import (
	"bytes"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGoldenMessages decodes control messages captured from SoftEther, l2tpns
// and xl2tpd, checks their fields and re-encodes them byte for byte.
func TestGoldenMessages(t *testing.T) {
	tests := []struct {
		name                    string
		hex                     string
		typ                     MessageType
		tunnel, session, ns, nr uint16
		avps                    []AVPType
		check                   func(t *testing.T, m *Message)
	}{
		{"SoftEther SCCRP", seSCCRP, SCCRP, 54636, 0, 0, 1,
			[]AVPType{AVPMessageType, AVPProtocolVersion, AVPFramingCapabilities, AVPBearerCapabilities,
				AVPHostName, AVPVendorName, AVPAssignedTunnelID, AVPReceiveWindowSize},
			func(t *testing.T, m *Message) {
				wantU16(t, m, AVPProtocolVersion, 0x0100)
				wantU32(t, m, AVPFramingCapabilities, 3)
				wantU32(t, m, AVPBearerCapabilities, 3)
				wantStr(t, m, AVPHostName, "vm")
				wantStr(t, m, AVPVendorName, "L2TP")
				wantU16(t, m, AVPAssignedTunnelID, 1)
				wantU16(t, m, AVPReceiveWindowSize, 16)
				// SoftEther sends Framing Capabilities without the M bit.
				if a, _ := m.Find(AVPFramingCapabilities); a.Mandatory {
					t.Error("Framing Capabilities: M bit set, capture has it clear")
				}
			}},
		{"SoftEther ZLB", seZLB1, ZLB, 54636, 0, 1, 2, nil, nil},
		{"SoftEther ICRP", seICRP, ICRP, 54636, 62572, 1, 3,
			[]AVPType{AVPMessageType, AVPAssignedSessionID},
			func(t *testing.T, m *Message) { wantU16(t, m, AVPAssignedSessionID, 1) }},
		{"SoftEther CDN", seCDN, CDN, 54636, 62572, 2, 5,
			[]AVPType{AVPMessageType, AVPAssignedSessionID, AVPResultCode},
			func(t *testing.T, m *Message) {
				e := resultError(m)
				if e.Result != 3 || e.ErrorCode != 0 || e.Text != "" {
					t.Errorf("result %+v, want 3/0", e)
				}
			}},
		{"SoftEther StopCCN", seStopCCN, StopCCN, 54636, 0, 3, 6,
			[]AVPType{AVPMessageType, AVPAssignedTunnelID, AVPResultCode},
			func(t *testing.T, m *Message) {
				wantU16(t, m, AVPAssignedTunnelID, 1)
				e := resultError(m)
				if e.Result != 0 || e.ErrorCode != 0x0600 || e.Text != "" {
					t.Errorf("result %+v, want 0/0x0600 and NUL padding dropped", e)
				}
			}},
		{"l2tpns SCCRP", nsSCCRP, SCCRP, 63108, 0, 0, 1,
			[]AVPType{AVPMessageType, AVPProtocolVersion, AVPFramingCapabilities, AVPHostName, AVPAssignedTunnelID},
			func(t *testing.T, m *Message) {
				wantStr(t, m, AVPHostName, "vm")
				wantU16(t, m, AVPAssignedTunnelID, 2)
			}},
		{"l2tpns ZLB", nsZLB1, ZLB, 63108, 0, 1, 2, nil, nil},
		{"l2tpns ICRP", nsICRP, ICRP, 63108, 16975, 1, 3,
			[]AVPType{AVPMessageType, AVPAssignedSessionID},
			func(t *testing.T, m *Message) { wantU16(t, m, AVPAssignedSessionID, 1) }},
		{"l2tpns secret SCCRP", nsSecretSCCRP, SCCRP, 63662, 0, 0, 1,
			[]AVPType{AVPMessageType, AVPProtocolVersion, AVPFramingCapabilities, AVPHostName,
				AVPChallengeResponse, AVPAssignedTunnelID},
			func(t *testing.T, m *Message) {
				a, _ := m.Find(AVPChallengeResponse)
				if want := unhex(t, "99b357fa44d1f16a134b043b98ed6180"); !bytes.Equal(a.Value, want) {
					t.Errorf("Challenge Response %x, want %x", a.Value, want)
				}
			}},
		{"xl2tpd SCCRQ", xlSCCRQ, SCCRQ, 0, 0, 0, 0,
			[]AVPType{AVPMessageType, AVPProtocolVersion, AVPFramingCapabilities, AVPBearerCapabilities,
				AVPFirmwareRevision, AVPHostName, AVPVendorName, AVPAssignedTunnelID, AVPReceiveWindowSize},
			func(t *testing.T, m *Message) {
				wantU16(t, m, AVPFirmwareRevision, 0x0690)
				wantStr(t, m, AVPHostName, "vm")
				wantStr(t, m, AVPVendorName, "xelerance.com")
				wantU16(t, m, AVPAssignedTunnelID, 54496)
				wantU16(t, m, AVPReceiveWindowSize, 4)
			}},
		{"xl2tpd SCCRQ with challenge", xlSecretSCCRQ, SCCRQ, 0, 0, 0, 0,
			[]AVPType{AVPMessageType, AVPProtocolVersion, AVPFramingCapabilities, AVPBearerCapabilities,
				AVPFirmwareRevision, AVPHostName, AVPVendorName, AVPAssignedTunnelID, AVPReceiveWindowSize, AVPChallenge},
			func(t *testing.T, m *Message) {
				a, _ := m.Find(AVPChallenge)
				if want := unhex(t, "09368e8e20b1b574112309931f260346"); !bytes.Equal(a.Value, want) {
					t.Errorf("Challenge %x, want %x", a.Value, want)
				}
			}},
		{"xl2tpd ICCN", xlICCN, ICCN, 1, 1, 3, 2,
			[]AVPType{AVPMessageType, AVPTxConnectSpeed, AVPFramingType, AVPRxConnectSpeed},
			func(t *testing.T, m *Message) { wantU32(t, m, AVPFramingType, FramingSync) }},
		{"xl2tpd CDN", xlCDN, CDN, 1, 1, 4, 2,
			[]AVPType{AVPMessageType, AVPResultCode, AVPAssignedSessionID},
			func(t *testing.T, m *Message) {
				if e := resultError(m); e.Result != 1 || e.ErrorCode != 0 {
					t.Errorf("result %+v, want 1/0", e)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := unhex(t, tt.hex)
			m, err := ParseMessage(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			h := m.Header
			if m.Type != tt.typ || h.TunnelID != tt.tunnel || h.SessionID != tt.session || h.Ns != tt.ns || h.Nr != tt.nr {
				t.Errorf("got %s tunnel %d session %d Ns %d Nr %d, want %s %d %d %d %d",
					m.Type, h.TunnelID, h.SessionID, h.Ns, h.Nr, tt.typ, tt.tunnel, tt.session, tt.ns, tt.nr)
			}
			if int(h.Length) != len(b) {
				t.Errorf("Length %d, datagram %d", h.Length, len(b))
			}
			var types []AVPType
			for _, a := range m.AVPs {
				types = append(types, a.Type)
			}
			if !slices.Equal(types, tt.avps) {
				t.Errorf("AVPs %v, want %v", types, tt.avps)
			}
			if err := m.CheckMandatory(); err != nil {
				t.Errorf("CheckMandatory: %v", err)
			}
			if tt.check != nil {
				tt.check(t, &m)
			}
			if got := m.Append(nil); !bytes.Equal(got, b) {
				t.Errorf("re-encoded\n%x\nwant\n%x", got, b)
			}
			if m.Len() != len(b) {
				t.Errorf("Len %d, want %d", m.Len(), len(b))
			}
		})
	}
}

// TestGoldenChallengeResponse checks the tunnel authentication known answers
// from the captures: MD5(2 ‖ secret ‖ challenge) in SCCRP.
func TestGoldenChallengeResponse(t *testing.T) {
	secret := []byte("pgtunnelsecret")
	for _, tt := range []struct{ challenge, response string }{
		{"09368e8e20b1b574112309931f260346", "1502fcb022afb814bab32f11be7dd55c"}, // xl2tpd ↔ l2tpns
		{"7525d467f1a615b466c6a8161fa6473c", "99b357fa44d1f16a134b043b98ed6180"}, // probe ↔ l2tpns
	} {
		got := ChallengeResponse(SCCRP, secret, unhex(t, tt.challenge))
		if hex.EncodeToString(got[:]) != tt.response {
			t.Errorf("challenge %s: response %x, want %s", tt.challenge, got, tt.response)
		}
	}
	// And the value l2tpns put into its SCCRP to xl2tpd's challenge.
	m, err := ParseMessage(unhex(t, xlSecretSCCRP), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := m.Find(AVPChallengeResponse)
	want := ChallengeResponse(SCCRP, secret, unhex(t, "09368e8e20b1b574112309931f260346"))
	if !bytes.Equal(a.Value, want[:]) {
		t.Errorf("SCCRP Challenge Response %x, want %x", a.Value, want)
	}
}

func wantU16(t *testing.T, m *Message, typ AVPType, want uint16) {
	t.Helper()
	a, ok := m.Find(typ)
	if !ok {
		t.Errorf("no %s", typ)
		return
	}
	if v, err := a.Uint16(); err != nil || v != want {
		t.Errorf("%s = %d (%v), want %d", typ, v, err, want)
	}
}

func wantU32(t *testing.T, m *Message, typ AVPType, want uint32) {
	t.Helper()
	a, ok := m.Find(typ)
	if !ok {
		t.Errorf("no %s", typ)
		return
	}
	if v, err := a.Uint32(); err != nil || v != want {
		t.Errorf("%s = %d (%v), want %d", typ, v, err, want)
	}
}

func wantStr(t *testing.T, m *Message, typ AVPType, want string) {
	t.Helper()
	a, ok := m.Find(typ)
	if !ok {
		t.Errorf("no %s", typ)
		return
	}
	if string(a.Value) != want {
		t.Errorf("%s = %q, want %q", typ, a.Value, want)
	}
}
