package proxy

import (
	"errors"
	"fmt"
)

// errNotConnected is the error of every request while no tunnel is set.
var errNotConnected = errors.New("proxy: VPN not connected")

// resolveError is a name that did not resolve through the tunnel's DNS.
type resolveError struct {
	host string
	err  error
}

func (e *resolveError) Error() string {
	return fmt.Sprintf("proxy: resolve %q through the tunnel: %v", e.host, e.err)
}
func (e *resolveError) Unwrap() error { return e.err }

// Errors of the SOCKS5 decoders.
var (
	errSOCKSMalformed = errors.New("proxy: socks5: malformed message")
	errSOCKSAddrType  = errors.New("proxy: socks5: address type not supported")
	errSOCKSFragment  = errors.New("proxy: socks5: fragmented UDP datagram")
)

// CheckError is a failed ready check; its message names the check:
// `proxy: ready-check "tcp://10.1.2.3:22": connection refused`.
type CheckError struct {
	Check Check
	Err   error
}

func (e *CheckError) Error() string {
	return fmt.Sprintf("proxy: ready-check %q: %s", e.Check.String(), describe(e.Err))
}

func (e *CheckError) Unwrap() error { return e.Err }
