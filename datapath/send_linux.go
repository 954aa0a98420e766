package datapath

// Batched sends: sendmmsg, and UDP GSO (UDP_SEGMENT, udp(7)) where the
// kernel has it. ESP and L2TP packets of one flow mostly have one size, so
// a run of equal-sized datagrams to one destination goes as one message
// whose iovecs are the datagrams themselves (no copy): the kernel walks its
// stack once for the run and cuts it into datagrams of the first one's
// size at the end (the last may be shorter).

import (
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	// maxGSOSegments is UDP_MAX_SEGMENTS of the kernels before 6.9 (64;
	// 128 since).
	maxGSOSegments = 64
	// maxGSOBytes bounds one GSO message's payload: it must fit one IP
	// packet (65507 bytes of UDP payload over IPv4).
	maxGSOBytes = 65000
)

// gsoCtlLen is the room for one UDP_SEGMENT control message.
var gsoCtlLen = unix.CmsgSpace(2)

// WriteBatch sends every packet in pkts to dst, batch after batch. It
// returns how many were sent and the first error; a datagram the kernel
// refused (e.g. ECONNREFUSED after an ICMP error) is skipped, not retried.
// If the kernel refuses a GSO message (EIO: the route's device cannot
// checksum, or kernel IPsec transforms the route; EINVAL; EMSGSIZE: a
// datagram is larger than the path MTU, which single datagrams survive by
// fragmentation), GSO is turned off for the socket and the message's
// datagrams go again one by one.
func (u *UDP) WriteBatch(pkts [][]byte, dst netip.AddrPort) (int, error) {
	if err := u.setName(dst); err != nil {
		return 0, err
	}
	sent := 0
	var firstErr error
	for len(pkts) > 0 {
		msgs, used := u.pack(pkts)
		u.scount, u.sdone, u.ssent, u.serr = msgs, 0, 0, 0
		retry := -1
		for u.sdone < u.scount {
			if err := u.rc.Write(u.sfn); err != nil {
				return sent + u.ssent, err
			}
			if u.serr == 0 {
				continue
			}
			e := u.serr
			u.serr = 0
			if u.spkts[u.sdone] > 1 && gsoRefused(e) {
				u.gso = false
				retry = u.sdone
				break
			}
			if firstErr == nil {
				firstErr = fmt.Errorf("sendmmsg: %w", e)
			}
			u.sdone++ // skip what failed so one bad send does not stall the batch
		}
		sent += u.ssent
		if retry >= 0 {
			used = 0
			for _, k := range u.spkts[:retry] {
				used += k
			}
		}
		pkts = pkts[used:]
	}
	return sent, firstErr
}

// pack lays the first packets of pkts out as messages: one datagram each,
// or with GSO runs of equal-sized datagrams (the last of a run may be
// shorter), each run one message with a UDP_SEGMENT of the run's size. It
// returns the number of messages and of packets they hold.
func (u *UDP) pack(pkts [][]byte) (msgs, used int) {
	iov := 0
	for used < len(pkts) && msgs < len(u.shdrs) && iov < len(u.siov) {
		size := len(pkts[used])
		k, total := 0, 0
		for used < len(pkts) && iov < len(u.siov) {
			l := len(pkts[used])
			if k > 0 && (l > size || k == maxGSOSegments || total+l > maxGSOBytes) {
				break
			}
			u.siov[iov].Base = &pkts[used][0]
			u.siov[iov].SetLen(l)
			iov, used, k, total = iov+1, used+1, k+1, total+l
			if !u.gso || l < size { // a shorter datagram ends a run
				break
			}
		}
		h := &u.shdrs[msgs].Hdr
		h.Iov = &u.siov[iov-k]
		h.SetIovlen(k)
		if k > 1 {
			c := u.sctl[msgs*gsoCtlLen : (msgs+1)*gsoCtlLen]
			ch := (*unix.Cmsghdr)(unsafe.Pointer(&c[0]))
			ch.Level, ch.Type = unix.SOL_UDP, unix.UDP_SEGMENT
			ch.SetLen(unix.CmsgLen(2))
			*(*uint16)(unsafe.Pointer(&c[unix.CmsgLen(0)])) = uint16(size)
			h.Control = &c[0]
			h.SetControllen(gsoCtlLen)
		} else {
			h.Control = nil
			h.SetControllen(0)
		}
		u.spkts[msgs] = k
		msgs++
	}
	return msgs, used
}

func (u *UDP) send(fd uintptr) bool {
	r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&u.shdrs[u.sdone])),
		uintptr(u.scount-u.sdone), 0, 0, 0)
	switch {
	case e == unix.EAGAIN || e == unix.EINTR:
		return false
	case e != 0:
		u.serr = e // about the message at sdone
	default:
		for _, k := range u.spkts[u.sdone : u.sdone+int(r)] {
			u.ssent += k
		}
		u.sdone += int(r)
	}
	return true
}

// gsoRefused says whether the kernel refused a GSO message as such.
func gsoRefused(e unix.Errno) bool {
	return e == unix.EIO || e == unix.EINVAL || e == unix.EMSGSIZE
}
