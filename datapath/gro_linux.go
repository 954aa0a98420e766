package datapath

// Receive offload: UDP_GRO (udp(7), Linux 5.0). With it on, the kernel may
// hand one recvmmsg slot a run of datagrams of one sender, all of the size
// its UDP_GRO control message gives except the last, which may be shorter:
// one walk through the stack and one copy out for the run (a GSO sender's
// run arrives as it left). ReadBatch still returns one datagram per buffer:
// the runs are read into slots of 64 KiB owned by the socket and each
// datagram is copied into the caller's buffer of its own, because the
// callers write the packets inside to the TUN device, which coalesces TCP
// segments into the space after a packet (a datagram sharing its slot with
// the next would be overwritten). What does not fit the caller's batch
// waits for the next ReadBatch.

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/sys/unix"
)

// groSlotSize is a slot's size: one run is one IP packet's worth at most.
const groSlotSize = 1 << 16

type groState struct {
	slots [][]byte
	sizes []int
	from  []netip.AddrPort
	seg   []int // per slot: its datagrams' size, 0 for a single datagram
	n     int   // slots filled by the last read
	next  int   // the slot being handed out
	off   int   // where in it
	ctlOf []int // per datagram handed out: its slot, for Control
}

// EnableGRO turns UDP GRO on for the socket, if the kernel has it, and
// says whether it did. The socket then holds a slot of 64 KiB per datagram
// of its batch, so a read takes as many runs as it took datagrams before
// (the kernel only touches the pages a run fills).
func (u *UDP) EnableGRO() bool {
	var serr error
	if err := u.rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_GRO, 1)
	}); err != nil || serr != nil {
		return false
	}
	n := len(u.rhdrs)
	g := &groState{slots: make([][]byte, n), sizes: make([]int, n), from: make([]netip.AddrPort, n),
		seg: make([]int, n), ctlOf: make([]int, len(u.rhdrs))}
	for i := range g.slots {
		g.slots[i] = make([]byte, groSlotSize)
	}
	u.gro = g
	return true
}

// GRO says whether UDP GRO is on.
func (u *UDP) GRO() bool { return u.gro != nil }

// readGRO is ReadBatch with UDP GRO: runs are split into one datagram per
// buffer, a datagram larger than its buffer reported as truncated (-1).
func (u *UDP) readGRO(bufs [][]byte, sizes []int, from []netip.AddrPort) (int, error) {
	g := u.gro
	if g.next >= g.n {
		n, err := u.read(g.slots, g.sizes, g.from)
		if err != nil {
			return 0, err
		}
		for i := 0; i < n; i++ {
			g.seg[i] = groSize(u.rctl[i*ControlLen : i*ControlLen+int(u.rhdrs[i].Hdr.Controllen)])
		}
		g.n, g.next, g.off = n, 0, 0
	}
	k := 0
	for k < min(len(bufs), len(g.ctlOf)) && g.next < g.n {
		i := g.next
		from[k], g.ctlOf[k] = g.from[i], i
		size := g.sizes[i]
		if size < 0 { // truncated: larger than a slot
			sizes[k] = -1
			k++
			g.next++
			continue
		}
		seg := size - g.off
		if s := g.seg[i]; s > 0 && s < seg {
			seg = s
		}
		if seg > len(bufs[k]) {
			sizes[k] = -1
		} else {
			sizes[k] = copy(bufs[k], g.slots[i][g.off:g.off+seg])
		}
		k++
		if g.off += seg; g.off >= size {
			g.next++
			g.off = 0
		}
	}
	return k, nil
}

// groSize is the segment size of a UDP_GRO control message among ctl, 0
// if there is none (a single datagram).
func groSize(ctl []byte) int {
	for len(ctl) >= unix.SizeofCmsghdr {
		h, data, rest, err := unix.ParseOneSocketControlMessage(ctl)
		if err != nil {
			return 0
		}
		if h.Level == unix.SOL_UDP && h.Type == unix.UDP_GRO {
			switch {
			case len(data) >= 4: // an int
				return int(binary.NativeEndian.Uint32(data))
			case len(data) >= 2:
				return int(binary.NativeEndian.Uint16(data))
			}
		}
		ctl = rest
	}
	return 0
}
