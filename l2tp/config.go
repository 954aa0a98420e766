package l2tp

import (
	"crypto/rand"
	"io"
	"log/slog"
	"time"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

// Config configures a Tunnel. The zero value is usable: every zero field gets
// the default named in its comment.
type Config struct {
	HostName         string // Host Name AVP; default "l2tpvpn"
	VendorName       string // Vendor Name AVP; default "l2tpvpn"
	FirmwareRevision uint16 // Firmware Revision AVP; default 0x0100

	// Secret is the tunnel authentication shared secret (RFC 2661 5.1.1), also
	// used to reveal hidden AVPs (4.3). Empty means none: we send no Challenge and
	// fail with ErrTunnelAuth if the server challenges us. Never logged.
	Secret secret.Secret

	ReceiveWindow     uint16        // our Receive Window Size AVP; default 16
	HelloInterval     time.Duration // quiet time before a HELLO; default 60s, < 0 disables
	RetransmitTimeout time.Duration // first retransmission timeout; default 1s, doubles per retry
	RetransmitCap     time.Duration // longest retransmission timeout; default 8s (RFC 2661 5.8: MUST be at least 8 s)
	MaxRetransmits    int           // retransmissions before giving up; default 4 (unreachable after 1+2+4+8+8 = 23 s), < 0 means none
	AckDelay          time.Duration // wait for a piggyback before an explicit ZLB; default 200ms, < 0 means 0

	Logger *slog.Logger // nil discards
	Rand   io.Reader    // tunnel/session IDs, challenges; nil means crypto/rand
}

// Defaults.
const (
	DefaultHostName          = "l2tpvpn"
	DefaultVendorName        = "l2tpvpn"
	DefaultFirmwareRevision  = 0x0100
	DefaultReceiveWindow     = 16
	DefaultHelloInterval     = 60 * time.Second
	DefaultRetransmitTimeout = time.Second
	DefaultRetransmitCap     = 8 * time.Second
	DefaultMaxRetransmits    = 4
	DefaultAckDelay          = 200 * time.Millisecond
)

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.HostName == "" {
		c.HostName = DefaultHostName
	}
	if len(c.HostName) > MaxAVPValueLen {
		c.HostName = c.HostName[:MaxAVPValueLen]
	}
	if c.VendorName == "" {
		c.VendorName = DefaultVendorName
	}
	if len(c.VendorName) > MaxAVPValueLen {
		c.VendorName = c.VendorName[:MaxAVPValueLen]
	}
	if c.FirmwareRevision == 0 {
		c.FirmwareRevision = DefaultFirmwareRevision
	}
	if c.ReceiveWindow == 0 {
		c.ReceiveWindow = DefaultReceiveWindow
	}
	if c.HelloInterval == 0 {
		c.HelloInterval = DefaultHelloInterval
	}
	if c.RetransmitTimeout <= 0 {
		c.RetransmitTimeout = DefaultRetransmitTimeout
	}
	if c.RetransmitCap <= 0 {
		c.RetransmitCap = DefaultRetransmitCap
	}
	if c.RetransmitCap < c.RetransmitTimeout {
		c.RetransmitCap = c.RetransmitTimeout
	}
	switch {
	case c.MaxRetransmits == 0:
		c.MaxRetransmits = DefaultMaxRetransmits
	case c.MaxRetransmits < 0:
		c.MaxRetransmits = 0
	}
	switch {
	case c.AckDelay == 0:
		c.AckDelay = DefaultAckDelay
	case c.AckDelay < 0:
		c.AckDelay = 0
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	return c
}

// retransmitInterval is the timeout before retransmission number retries+1:
// RetransmitTimeout doubled per retry, capped (RFC 2661 5.8).
func (c *Config) retransmitInterval(retries int) time.Duration {
	d := c.RetransmitTimeout
	for range retries {
		if d >= c.RetransmitCap {
			break
		}
		d *= 2
	}
	return min(d, c.RetransmitCap)
}
