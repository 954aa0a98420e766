package ike

// Informational exchanges at the responder (RFC 2409 5.7): dead peer
// detection both ways (RFC 3706), Delete both ways (RFC 2408 3.15), and
// INITIAL-CONTACT sent after Main Mode. Only encrypted messages with a
// valid HASH(1) under an established ISAKMP SA are taken; anything else is
// dropped and counted.

import (
	"crypto/hmac"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// sendInfo sends an encrypted informational message under sa to its peer
// and returns it (nil on failure).
func (r *Responder) sendInfo(sa *rSA, what string, payloads ...Payload) []byte {
	mid := r.newMID(sa)
	rest := AppendPayloads(nil, payloads)
	hash := infoHash(sa.prop.Hash, sa.keys.SKEYIDa, mid, rest)
	msg, _, err := encryptMessage(&sa.ikeSA, ExchangeInformational, mid, phase2IV(sa.prop.Hash, sa.prop.Enc, sa.lastBlock, mid),
		append([]Payload{&Hash{Data: hash}}, payloads...))
	if err != nil {
		r.log.Debug("ike: informational", "err", err)
		return nil
	}
	to, natt := sa.from, sa.natt
	if sa.peer != nil {
		to, natt = sa.peer.addr, sa.peer.natt
	}
	r.sendTo(to, natt, msg, fmt.Sprintf("INFORMATIONAL request %#08x %s (%s)", mid,
		summary(append([]Payload{&Hash{}}, payloads...)), what))
	return msg
}

func (r *Responder) informational(sa *rSA, from netip.AddrPort, natt bool, m Message, now time.Time) {
	if !sa.established || m.Header.Flags&FlagEncryption == 0 {
		r.stats.UnknownSA++
		r.log.Debug("ike: ignoring an informational message that is not encrypted under an established SA", "peer", from)
		return
	}
	mid := m.Header.MessageID
	ps, hash, rest, _, err := decryptHashed(&sa.ikeSA, m, phase2IV(sa.prop.Hash, sa.prop.Enc, sa.lastBlock, mid))
	if err != nil || !hmac.Equal(hash, infoHash(sa.prop.Hash, sa.keys.SKEYIDa, mid, rest)) {
		r.stats.UnknownSA++
		r.log.Debug("ike: dropping an informational message that does not verify", "peer", from)
		return
	}
	p := sa.peer
	p.lastRx = now
	r.log.Debug(fmt.Sprintf("ike: received INFORMATIONAL %#08x %s", mid, summary(ps)), "peer", p.addr)
	for _, x := range ps {
		switch x := x.(type) {
		case *Notify:
			r.notify(sa, x, now)
		case *Delete:
			r.delete(sa, x)
		}
		if r.peers[p.addr] != p {
			return // the peer is gone
		}
	}
}

func (r *Responder) notify(sa *rSA, n *Notify, now time.Time) {
	p := sa.peer
	switch n.MessageType {
	case NotifyRUThere:
		if len(n.Data) == 4 {
			r.sendInfo(sa, "R_U_THERE_ACK", &Notify{DOI: DOIIPsec, Protocol: ProtoISAKMP, MessageType: NotifyRUThereAck,
				SPI: sa.cookies(), Data: n.Data})
		}
	case NotifyRUThereAck:
		if p.dpdOut != nil && len(n.Data) == 4 && binary.BigEndian.Uint32(n.Data) == p.dpdSeq {
			p.dpdOut, p.dpdSA = nil, nil
		}
	case NotifyInitialContact:
		r.initialContact(p.addr, p.id, p)
	default:
		if n.MessageType.IsError() && r.rekeyRefused(sa, n, now) {
			return
		}
		r.log.Debug("ike: notification from a client", "peer", p.addr, "type", n.MessageType.String())
	}
}

// delete takes an authenticated Delete payload from a client: it names its
// own inbound ESP SPIs (our outbound ones) or ISAKMP SAs by their cookies.
func (r *Responder) delete(sa *rSA, d *Delete) {
	p := sa.peer
	switch d.Protocol {
	case ProtoESP:
		for _, spi := range d.SPIs {
			if len(spi) != 4 {
				continue
			}
			out := binary.BigEndian.Uint32(spi)
			for i, c := range p.children {
				if c.c.SPIOut == out {
					p.children = append(p.children[:i], p.children[i+1:]...)
					r.log.Info("ike: the client deleted a child SA", "peer", p.addr, "spi_out", spiHex(out))
					r.childGone(c)
					break
				}
			}
		}
	case ProtoISAKMP:
		for _, spi := range d.SPIs {
			if len(spi) != 16 {
				continue
			}
			t := r.sas[[16]byte(spi)]
			if t == nil || t.peer != p {
				continue
			}
			r.log.Info("ike: the client deleted an ISAKMP SA", "peer", p.addr, "left", len(p.sas)-1)
			r.forgetSA(t)
		}
		if len(p.sas) == 0 && len(p.children) == 0 {
			r.dropPeer(p, "the client deleted its SAs", false)
		}
	}
}
