package ike

// Main Mode with certificates (and identities with a PSK) against the fake
// server: RSA and ECDSA, with and without intermediates, in both roles, and
// each way it can fail, with the message a user gets.

import (
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func certConfig(t *testing.T, c *Credential) Config {
	return Config{IKE: mustIKE(t, "aes256-sha256-modp2048,aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"),
		DPDDelay: -1, Cert: c}
}

func TestSessionCertificates(t *testing.T) {
	rsaPKI := newTestPKI(t, false, "RSA")
	ecPKI := newTestPKI(t, true, "EC")
	// A chain with an intermediate on both sides (ECDSA P-384 leaves).
	inter := issue(t, ecPKI.ca, "EC Intermediate", testECKey(t, elliptic.P384()), true, nil)
	srv384 := issue(t, inter, "vpn.example.com", testECKey(t, elliptic.P384()), false, nil)
	cli384 := issue(t, inter, "bob", testECKey(t, elliptic.P384()), false, nil)
	withInter := func(c *testCert) *Credential {
		cr := credential(c, ecPKI.ca)
		cr.Chain = append(cr.Chain, inter.cert)
		return cr
	}
	cases := []struct {
		name           string
		client, server *Credential
		remoteID       string
		serverID       string
		auth           authMethod
		peer, local    string
	}{
		{name: "rsa", client: credential(rsaPKI.client, rsaPKI.ca), server: credential(rsaPKI.server, rsaPKI.ca),
			auth: authRSASig, peer: "dn:C=US, O=Example, CN=vpn.example.com", local: "dn:C=US, O=Example, CN=alice"},
		{name: "ecdsa-256", client: credential(ecPKI.client, ecPKI.ca), server: credential(ecPKI.server, ecPKI.ca),
			remoteID: "dn:C=US,O=example,CN=VPN.example.com", auth: authECDSA256,
			peer: "dn:C=US, O=Example, CN=vpn.example.com", local: "dn:C=US, O=Example, CN=alice"},
		{name: "ecdsa-256 fqdn", client: credential(ecPKI.client, ecPKI.ca), server: credential(ecPKI.server, ecPKI.ca),
			remoteID: "fqdn:VPN.example.com", serverID: "fqdn:vpn.example.com", auth: authECDSA256,
			peer: "fqdn:vpn.example.com", local: "dn:C=US, O=Example, CN=alice"},
		{name: "rsa ip", client: credential(rsaPKI.client, rsaPKI.ca), server: credential(rsaPKI.server, rsaPKI.ca),
			serverID: "ip:" + testRemote.String(), auth: authRSASig,
			peer: "ip:" + testRemote.String(), local: "dn:C=US, O=Example, CN=alice"},
		{name: "ecdsa-384 intermediates", client: withInter(cli384), server: withInter(srv384), auth: authECDSA384,
			peer: "dn:C=US, O=Example, CN=vpn.example.com", local: "dn:C=US, O=Example, CN=bob"},
		{name: "server chain intermediate first", client: withInter(cli384), auth: authECDSA384,
			server:   &Credential{Chain: []*x509.Certificate{inter.cert, srv384.cert}, Key: srv384.key, CAs: []*x509.Certificate{ecPKI.ca.cert}},
			serverID: "dn:C=US, O=Example, CN=vpn.example.com",
			peer:     "dn:C=US, O=Example, CN=vpn.example.com", local: "dn:C=US, O=Example, CN=bob"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := certConfig(t, tc.client)
				if tc.remoteID != "" {
					cfg.RemoteID = mustID(t, tc.remoteID)
				}
				rc := respConfig{Cert: tc.server}
				if tc.serverID != "" {
					rc.ServerID = mustID(t, tc.serverID)
				}
				h := newHarness(t, cfg, rc)
				p1 := h.event(Phase1Up, time.Second)
				up := h.event(ChildUp, time.Second)
				checkInterop(t, h.r, up.Child)
				if p1.Phase1.PeerID != tc.peer || p1.Phase1.LocalID != tc.local {
					t.Errorf("peer %q local %q, want %q %q", p1.Phase1.PeerID, p1.Phase1.LocalID, tc.peer, tc.local)
				}
				h.r.lock(func() {
					sa := h.r.order[0]
					if sa.auth != tc.auth {
						t.Errorf("negotiated %s, want %s", sa.auth, tc.auth)
					}
					if len(sa.crs) != 1 || sa.crs[0].Encoding != CertX509Signature ||
						!sameDN(sa.crs[0].Authority, tc.client.CAs[0].RawSubject) {
						t.Errorf("CRs %+v, want one naming our CA", sa.crs)
					}
					if sa.peerCerts != len(tc.client.Chain) {
						t.Errorf("MM5 had %d CERT payloads, want %d", sa.peerCerts, len(tc.client.Chain))
					}
					if !sa.peerID.Equal(certID(tc.client)) {
						t.Errorf("MM5 ID %s, want our subject", sa.peerID)
					}
				})
			})
		})
	}
}

func mustID(t testing.TB, s string) ID {
	t.Helper()
	id, err := ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestSessionCertificateFailures(t *testing.T) {
	p := newTestPKI(t, false, "Good")
	other := newTestPKI(t, true, "Other")
	expired := issue(t, p.ca, "vpn.example.com", testRSAKey(t, 1), false, func(c *x509.Certificate) {
		c.NotAfter = time.Date(1999, 6, 1, 0, 0, 0, 0, time.UTC)
	})
	noSign := issue(t, p.ca, "vpn.example.com", testRSAKey(t, 1), false, func(c *x509.Certificate) {
		c.KeyUsage = x509.KeyUsageKeyEncipherment
	})
	clientOnly := issue(t, p.ca, "vpn.example.com", testRSAKey(t, 1), false, func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	})
	inter := issue(t, p.ca, "Good Intermediate", testRSAKey(t, 3), true, nil)
	behindInter := issue(t, inter, "vpn.example.com", testRSAKey(t, 1), false, nil)
	client := credential(p.client, p.ca)
	otherServer := issue(t, other.ca, "vpn.example.com", testRSAKey(t, 1), false, nil) // an RSA key, as ours
	cases := []struct {
		name     string
		server   *Credential
		rc       respConfig
		remoteID string
		kind     error
		want     []string
	}{
		{name: "other CA", server: credential(otherServer, p.ca), kind: ErrServerIdentity,
			want: []string{"was issued by C=US, O=Example, CN=Other CA, which is not among the trusted CAs (ca = C=US, O=Example, CN=Good CA)", "set ca to the CA that issued it"}},
		{name: "expired", server: credential(expired, p.ca), kind: ErrServerIdentity,
			want: []string{"the server's certificate C=US, O=Example, CN=vpn.example.com expired on 1999-06-01 (now 2000-01-01)"}},
		{name: "remote-id", server: credential(p.server, p.ca), remoteID: "fqdn:vpn.other", kind: ErrServerIdentity,
			want: []string{"the server identified itself as dn:C=US, O=Example, CN=vpn.example.com, not the expected remote-id fqdn:vpn.other"}},
		{name: "id not in certificate", server: credential(p.server, p.ca), rc: respConfig{ServerID: mustID(t, "fqdn:other.example.com")},
			kind: ErrServerIdentity, want: []string{"identified itself as fqdn:other.example.com, which its certificate does not name",
				"alternative names fqdn:vpn.example.com, ip:" + testRemote.String()}},
		{name: "bad signature", server: credential(p.server, p.ca), rc: respConfig{SignWith: testRSAKey(t, 3)},
			kind: ErrServerIdentity, want: []string{"the server's signature does not verify with the key of its certificate"}},
		{name: "no digitalSignature", server: credential(noSign, p.ca), kind: ErrServerIdentity,
			want: []string{"lacks the key usage digitalSignature"}},
		{name: "client certificate as the server's", server: credential(clientOnly, p.ca), kind: ErrServerIdentity,
			want: []string{"has the extended key usages clientAuth but none for an IPsec server"}},
		{name: "intermediate not sent", server: credential(behindInter, p.ca), kind: ErrServerIdentity,
			want: []string{"was issued by C=US, O=Example, CN=Good Intermediate, which is not among the trusted CAs"}},
		{name: "our certificate refused", server: credential(p.server, other.ca), kind: ErrCertificate,
			want: []string{"the server did not accept our certificate or signature", "issuer C=US, O=Example, CN=Good CA",
				"our identity dn:C=US, O=Example, CN=alice"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := certConfig(t, client)
				if tc.remoteID != "" {
					cfg.RemoteID = mustID(t, tc.remoteID)
				}
				rc := tc.rc
				rc.Cert = tc.server
				h := newHarness(t, cfg, rc)
				err := h.done(time.Minute)
				var e *Error
				if !errors.As(err, &e) || !errors.Is(err, tc.kind) || !errors.Is(err, ErrAuthentication) {
					t.Fatalf("err = %v, want *Error of kind %v", err, tc.kind)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q\nlacks %q", err, w)
					}
				}
				if strings.Contains(err.Error(), "pre-shared key") {
					t.Errorf("error %q speaks of the pre-shared key", err)
				}
			})
		})
	}
}

// With a PSK, remote-id is compared with the server's ID payload, and
// local-id is what we send.
func TestSessionPSKIdentities(t *testing.T) {
	base := func(t *testing.T) Config {
		return Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"), DPDDelay: -1}
	}
	t.Run("match", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cfg := base(t)
			cfg.RemoteID = mustID(t, "fqdn:VPN.example.com")
			h := newHarness(t, cfg, respConfig{ServerID: mustID(t, "fqdn:vpn.example.com")})
			p1 := h.event(Phase1Up, time.Second)
			if p1.Phase1.PeerID != "fqdn:vpn.example.com" || p1.Phase1.LocalID != "ip:"+testLocal.String() {
				t.Errorf("phase 1 %+v", p1.Phase1)
			}
		})
	})
	t.Run("mismatch", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cfg := base(t)
			cfg.RemoteID = mustID(t, "ip:192.0.2.9")
			h := newHarness(t, cfg, respConfig{})
			err := h.done(time.Minute)
			want := "the server identified itself as ip:" + testRemote.String() + ", not the expected remote-id ip:192.0.2.9"
			if !errors.Is(err, ErrServerIdentity) || errors.Is(err, ErrCertificate) || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want ErrServerIdentity with %q", err, want)
			}
		})
	})
}

// The server rekeys phase 1 itself with certificates: the session answers
// as the responder with its certificate and verifies the server's.
func TestSessionCertServerRekeysPhase1(t *testing.T) {
	for _, ec := range []bool{false, true} {
		p := newTestPKI(t, ec, "Rekey")
		t.Run(map[bool]string{false: "rsa", true: "ecdsa"}[ec], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := certConfig(t, credential(p.client, p.ca))
				cfg.RemoteID = mustID(t, "fqdn:vpn.example.com")
				h := newHarness(t, cfg, respConfig{Cert: credential(p.server, p.ca), ServerID: cfg.RemoteID})
				h.event(Phase1Up, time.Second)
				h.event(ChildUp, time.Second)
				newSA := h.r.startMainMode()
				rk := h.event(Phase1Rekeyed, time.Second)
				h.r.lock(func() {
					if !newSA.established || newSA.peerCerts != 1 || len(newSA.crs) != 1 {
						t.Errorf("the server's main mode: established %v, %d certificates, %d CRs from the session",
							newSA.established, newSA.peerCerts, len(newSA.crs))
					}
				})
				if rk.Phase1.PeerID != "fqdn:vpn.example.com" || rk.Phase1.LocalID != "dn:C=US, O=Example, CN=alice" {
					t.Errorf("rekeyed %+v", rk.Phase1)
				}
			})
		})
	}
}

// A server rekey whose identity is not the remote-id is declined: the
// session keeps its SA.
func TestSessionCertServerRekeyWrongID(t *testing.T) {
	p := newTestPKI(t, true, "Rekey")
	synctest.Test(t, func(t *testing.T) {
		cfg := certConfig(t, credential(p.client, p.ca))
		rec := &logRecorder{}
		cfg.Logger = slog.New(rec)
		h := newHarness(t, cfg, respConfig{Cert: credential(p.server, p.ca)})
		h.event(Phase1Up, time.Second)
		h.event(ChildUp, time.Second)
		h.s.cfg.RemoteID = mustID(t, "fqdn:vpn.other") // Run reads it only for the message startMainMode sends
		h.r.startMainMode()
		h.noEvent(Phase1Rekeyed, 5*time.Second)
		if rec.count(slog.LevelWarn, "declined the server's phase 1 rekey") != 1 {
			t.Error("the server's rekey was not declined with a warning")
		}
	})
}

func TestNewSessionCredential(t *testing.T) {
	p := newTestPKI(t, true, "New")
	other := newTestPKI(t, true, "Other")
	send := func([]byte, bool) error { return nil }
	base := Config{IKE: DefaultIKEProposals(), ESP: mustESP(t, "aes128-sha1"), Local: testLocal, Remote: testRemote, Send: send}
	for name, c := range map[string]*Credential{
		"no CA":        {Chain: []*x509.Certificate{p.client.cert}, Key: p.client.key},
		"no key":       {Chain: []*x509.Certificate{p.client.cert}, CAs: []*x509.Certificate{p.ca.cert}},
		"key mismatch": {Chain: []*x509.Certificate{p.client.cert}, Key: other.client.key, CAs: []*x509.Certificate{p.ca.cert}},
	} {
		cfg := base
		cfg.Cert = c
		if _, err := NewSession(cfg); err == nil {
			t.Errorf("%s: NewSession accepted it", name)
		}
	}
	cfg := base
	cfg.Cert = credential(p.client, p.ca)
	s, err := NewSession(cfg) // no PSK needed
	if err != nil {
		t.Fatal(err)
	}
	if s.auth != authECDSA256 || !s.cfg.LocalID.Equal(certID(cfg.Cert)) {
		t.Errorf("auth %s local id %s", s.auth, s.cfg.LocalID)
	}
}

// The CAs a server's CRs name are logged decoded (BMPString too); a warning
// says when none of them issued our certificate.
func TestNoteCertRequests(t *testing.T) {
	p := newTestPKI(t, true, "Note")
	c := credential(p.client, p.ca)
	for _, tc := range []struct {
		name  string
		crs   []Payload
		debug string
		warn  int
	}{
		{"ours", []Payload{&CertRequest{Encoding: CertX509Signature, Authority: p.ca.cert.RawSubject}}, "CN=Note CA", 0},
		{"bmp", []Payload{&CertRequest{Encoding: CertX509Signature, Authority: bmpName}}, `O=Exämple\, Inc, CN=Test CA`, 1},
		{"any", []Payload{&CertRequest{Encoding: CertX509Signature}}, "(any CA)", 0},
		{"garbage", []Payload{&CertRequest{Encoding: CertX509Signature, Authority: []byte{0x30, 0x05, 1}}}, "unreadable name", 1},
	} {
		rec := &logRecorder{}
		noteCertRequests(slog.New(rec), c, tc.crs)
		if rec.count(slog.LevelDebug, tc.debug) != 1 || rec.count(slog.LevelWarn, "none of the CAs") != tc.warn {
			t.Errorf("%s: logged %+v", tc.name, rec.recs)
		}
		rec = &logRecorder{} // with a PSK: logged, no warning
		noteCertRequests(slog.New(rec), nil, tc.crs)
		if rec.count(slog.LevelDebug, tc.debug) != 1 || rec.count(slog.LevelWarn, "") != 0 {
			t.Errorf("%s without a credential: logged %+v", tc.name, rec.recs)
		}
	}
}
