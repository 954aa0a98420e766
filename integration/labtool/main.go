// Command labtool helps the integration tests: it moves verifiable data
// through the tunnel and fires malformed datagrams at the client.
//
//	labtool serve ADDR                 serve transfers until killed
//	labtool http ADDR                  web server: /hello, /blob/SIZE/SEED (X-Sha256 header)
//	labtool dns SERVER:PORT NAME       resolve NAME with that DNS server only (UDP)
//	labtool get ADDR SIZE SEED         download SIZE bytes and verify them
//	labtool put ADDR SIZE SEED         upload SIZE bytes; the server verifies
//	labtool garbage SRC DST TUNNEL N   send N malformed L2TP datagrams with a raw socket
//	labtool esp-garbage SRC DST SPI N  send N bad NAT-T datagrams (ESP with the
//	                                   SPI and a bad ICV, unknown SPIs, cut IKE,
//	                                   keepalives, random) with a raw socket
//
// The bytes of a transfer are a ChaCha8 stream from SEED, so both ends know
// what must arrive without storing it.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "labtool:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: labtool serve|get|put|garbage ...")
	}
	switch args[0] {
	case "serve":
		return serve(args[1])
	case "http":
		return serveHTTP(args[1])
	case "dns":
		if len(args) != 3 {
			return fmt.Errorf("usage: labtool dns SERVER:PORT NAME")
		}
		return lookup(args[1], args[2])
	case "get", "put":
		if len(args) != 4 {
			return fmt.Errorf("usage: labtool %s ADDR SIZE SEED", args[0])
		}
		size, err1 := strconv.ParseInt(args[2], 10, 64)
		seed, err2 := strconv.ParseUint(args[3], 10, 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("bad SIZE or SEED")
		}
		return transfer(args[0], args[1], size, seed)
	case "esp-garbage":
		if len(args) != 5 {
			return fmt.Errorf("usage: labtool esp-garbage SRC:PORT DST:PORT SPI N")
		}
		return espGarbage(args[1], args[2], args[3], args[4])
	case "garbage":
		if len(args) != 5 {
			return fmt.Errorf("usage: labtool garbage SRC:PORT DST:PORT TUNNELID N")
		}
		return garbage(args[1], args[2], args[3], args[4])
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func stream(seed uint64) io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	return rand.NewChaCha8(key)
}

func serve(addr string) error {
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		return err
	}
	fmt.Println("listening", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go handle(c)
	}
}

func handle(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return
	}
	var mode string
	var size int64
	var seed uint64
	if _, err := fmt.Sscanf(line, "%s %d %d", &mode, &size, &seed); err != nil {
		return
	}
	switch mode {
	case "G":
		io.CopyN(c, stream(seed), size)
	case "P":
		want := sha256.New()
		io.CopyN(want, stream(seed), size)
		got := sha256.New()
		n, _ := io.CopyN(got, r, size)
		if n == size && bytes.Equal(got.Sum(nil), want.Sum(nil)) {
			io.WriteString(c, "OK\n")
		} else {
			fmt.Fprintf(c, "BAD %d bytes\n", n)
		}
	}
}

func transfer(mode, addr string, size int64, seed uint64) error {
	start := time.Now()
	c, err := net.DialTimeout("tcp4", addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(120 * time.Second))
	want := sha256.New()
	io.CopyN(want, stream(seed), size)
	if mode == "get" {
		fmt.Fprintf(c, "G %d %d\n", size, seed)
		got := sha256.New()
		n, err := io.Copy(got, c)
		if err != nil {
			return fmt.Errorf("after %d bytes: %w", n, err)
		}
		if n != size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
			return fmt.Errorf("verify failed: got %d of %d bytes, sha256 match %v", n, size, bytes.Equal(got.Sum(nil), want.Sum(nil)))
		}
	} else {
		fmt.Fprintf(c, "P %d %d\n", size, seed)
		if _, err := io.CopyN(c, stream(seed), size); err != nil {
			return err
		}
		reply, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return fmt.Errorf("no verdict from server: %w", err)
		}
		if reply != "OK\n" {
			return fmt.Errorf("server says %q", reply)
		}
	}
	d := time.Since(start)
	fmt.Printf("%s %d bytes verified in %v (%.1f Mbit/s)\n", mode, size, d.Round(time.Millisecond), float64(size)*8/d.Seconds()/1e6)
	return nil
}

// garbage sends n malformed datagrams from src to dst using a raw socket
// (so the source can be the server's own address and port).
func garbage(srcS, dstS, tunnelS, nS string) error {
	tid, err := strconv.ParseUint(tunnelS, 10, 16)
	if err != nil {
		return err
	}
	rs, n, err := openRaw(srcS, dstS, nS)
	if err != nil {
		return err
	}
	defer rs.close()
	payloads := malformed(uint16(tid))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < n; i++ {
		p := payloads[i%len(payloads)]
		if i >= len(payloads) { // afterwards: random bytes with a bad version
			p = make([]byte, 1+rng.IntN(200))
			for j := range p {
				p[j] = byte(rng.Uint32())
			}
			p[0] = 0x00
			if len(p) > 1 {
				p[1] = 0x05 // version 5: never valid L2TP
			}
		}
		if err := rs.send(p); err != nil {
			return err
		}
	}
	fmt.Printf("sent %d malformed datagrams\n", n)
	return nil
}

// rawSender sends UDP datagrams with any source through a raw socket (so
// the source can be the server's own address and port).
type rawSender struct {
	fd       int
	src, dst netip.AddrPort
	sa       *syscall.SockaddrInet4
}

// openRaw parses SRC:PORT, DST:PORT and a count, and opens the socket.
func openRaw(srcS, dstS, nS string) (*rawSender, int, error) {
	src, err := netip.ParseAddrPort(srcS)
	if err != nil {
		return nil, 0, err
	}
	dst, err := netip.ParseAddrPort(dstS)
	if err != nil {
		return nil, 0, err
	}
	n, err := strconv.Atoi(nS)
	if err != nil {
		return nil, 0, err
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		return nil, 0, err
	}
	return &rawSender{fd: fd, src: src, dst: dst, sa: &syscall.SockaddrInet4{Addr: dst.Addr().As4()}}, n, nil
}

func (r *rawSender) send(payload []byte) error {
	return syscall.Sendto(r.fd, ipUDP(r.src, r.dst, payload), 0, r.sa)
}

func (r *rawSender) close() { syscall.Close(r.fd) }

// malformed returns datagrams that each must be dropped by a decoder.
func malformed(tid uint16) [][]byte {
	var t [2]byte
	binary.BigEndian.PutUint16(t[:], tid)
	return [][]byte{
		{},                       // empty
		{0xc8},                   // one byte
		{0xc8, 0x02, 0x00, 0x40}, // control, L says 64, only 4 bytes
		{0xc8, 0x02, 0x00, 0x0c, t[0], t[1], 0, 0, 0, 0}, // control header cut short
		// control message whose first AVP claims length 3 (< 6)
		{0xc8, 0x02, 0x00, 0x14, t[0], t[1], 0, 0, 0, 0, 0, 0, 0x80, 0x03, 0, 0, 0, 0, 0, 1},
		// control message whose AVP runs past the end
		{0xc8, 0x02, 0x00, 0x14, t[0], t[1], 0, 0, 0, 0, 0, 0, 0x80, 0x40, 0, 0, 0, 0, 0, 1},
		{0x00, 0x03, t[0], t[1], 0, 1},                                     // version 3
		{0x00, 0x02, t[0], t[1], 0xde, 0xad, 0xff, 0x03, 0x00, 0x21, 0x45}, // data for another session
		{0x00, 0x02, t[0], t[1]},                                           // data header cut short
		{0x02, 0x02, t[0], t[1], 0, 0, 0x00, 0x40},                         // O bit, offset past the end
	}
}

func ipUDP(src, dst netip.AddrPort, payload []byte) []byte {
	b := make([]byte, 28+len(payload))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[8] = 64
	b[9] = syscall.IPPROTO_UDP
	s, d := src.Addr().As4(), dst.Addr().As4()
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
	binary.BigEndian.PutUint16(b[10:], checksum(b[:20], 0))
	binary.BigEndian.PutUint16(b[20:], src.Port())
	binary.BigEndian.PutUint16(b[22:], dst.Port())
	binary.BigEndian.PutUint16(b[24:], uint16(8+len(payload)))
	copy(b[28:], payload)
	// UDP checksum 0: none (allowed for IPv4).
	return b
}

func checksum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = (sum & 0xffff) + sum>>16
	}
	return ^uint16(sum)
}

// espGarbage sends n datagrams that a NAT-T receiver must drop: ESP with a
// valid SPI (hex) but random contents (the ICV fails), ESP with unknown
// SPIs, short ESP, IKE behind the non-ESP marker cut short, and NAT
// keepalives, in turn, spaced so they mix with a running transfer.
func espGarbage(srcS, dstS, spiS, nS string) error {
	spi, err := strconv.ParseUint(spiS, 16, 32)
	if err != nil {
		return err
	}
	rs, n, err := openRaw(srcS, dstS, nS)
	if err != nil {
		return err
	}
	defer rs.close()
	rng := rand.New(rand.NewPCG(3, 4))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for i := 0; i < n; i++ {
		var p []byte
		switch i % 6 {
		case 0, 1: // our SPI, a plausible sequence number, garbage after
			p = binary.BigEndian.AppendUint32(nil, uint32(spi))
			p = binary.BigEndian.AppendUint32(p, uint32(1+rng.IntN(1<<20)))
			// IV 16 + whole AES blocks + a 12-byte HMAC-SHA1-96 ICV
			// (SoftEther's default choice): the length is valid, so it
			// is the ICV check that must refuse it.
			p = append(p, random(16+16*(1+rng.IntN(60))+12)...)
		case 2: // an SPI nobody uses
			p = binary.BigEndian.AppendUint32(nil, uint32(spi)^0x5a5a0000|1)
			p = append(p, random(100)...)
		case 3: // non-ESP marker, IKE header cut short
			p = append([]byte{0, 0, 0, 0}, random(1+rng.IntN(27))...)
		case 4: // NAT keepalive
			p = []byte{0xff}
		case 5: // too short for ESP
			p = random(1 + rng.IntN(7))
			p[0] |= 1
		}
		if err := rs.send(p); err != nil {
			return err
		}
		if i%50 == 49 {
			time.Sleep(time.Millisecond) // let the transfer's packets interleave
		}
	}
	fmt.Printf("sent %d bad NAT-T datagrams\n", n)
	return nil
}
