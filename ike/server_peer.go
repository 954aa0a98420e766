package ike

// The peers of the Responder: a peer is one client, from its first
// established Main Mode to its end. Its ISAKMP SAs (a phase 1 rekey of the
// client's adds one; the client deletes the old one) and child SAs are
// kept with it. A peer is gone when
//
//   - it deleted its last ISAKMP SA and has no child SA left, or they all
//     expired;
//   - it does not answer dead peer detection (RFC 3706);
//   - a new phase 1 from the same identity and IP address carried
//     INITIAL-CONTACT (RFC 2407 4.6.3.3): the client started over and has
//     forgotten the old SAs;
//   - another identity completed a Main Mode from its address and port
//     (the NAT gave the mapping to another client);
//   - it was disconnected (Disconnect, Close).

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"time"
)

// rpeer is one client of the Responder.
type rpeer struct {
	addr, local netip.AddrPort
	natt        bool
	id          ID
	sas         []*rSA // established ISAKMP SAs, newest last
	children    []*rchild
	upAt        time.Time
	lastRx      time.Time
	dpd         bool // the client supports DPD
	dpdSeq      uint32
	dpdOut      *pending
	dpdSA       *rSA
}

// PeerInfo describes a peer for status.
type PeerInfo struct {
	Addr, Local netip.AddrPort
	NATT        bool   // IKE and ESP on port 4500
	BehindNAT   bool   // NAT-D saw a NAT on the client's side
	ID          string // the client's phase 1 identity, as ID.String formats it
	IKE         IKEProposal
	ESP         []ESPProposal // of its current child SAs
	Established time.Time     // its first phase 1
	Children    int           // child SA pairs
}

// current is the newest ISAKMP SA of p (nil if none is left).
func (p *rpeer) current() *rSA {
	if len(p.sas) == 0 {
		return nil
	}
	return p.sas[len(p.sas)-1]
}

// phase1Up attaches sa, just established, to its peer: a new one, or the
// same client's (a phase 1 rekey).
func (r *Responder) phase1Up(sa *rSA, id ID, initialContact bool, now time.Time) {
	if initialContact {
		r.initialContact(sa.from, id, nil)
	}
	p := r.peers[sa.from]
	if p != nil && !p.id.Equal(id) {
		r.dropPeer(p, "another client ("+id.String()+") completed a main mode from its address", false)
		p = nil
	}
	natt := "none"
	switch {
	case sa.natT && sa.draft:
		natt = "draft"
	case sa.natT:
		natt = "rfc3947"
	}
	if p == nil {
		p = &rpeer{addr: sa.from, local: sa.local, natt: sa.natt, id: id, upAt: now}
		r.peers[sa.from] = p
		r.log.Info("ike: phase 1 up", "peer", sa.from, "peer_id", sa.peerID, "ike", sa.prop.String(),
			"lifetime", sa.life, "nat_t", natt, "behind_nat", sa.natPeer)
		if r.cfg.ForceEncap && !sa.natT {
			r.log.Warn("ike: this client does not support NAT traversal (RFC 3947 or its drafts): it cannot get an "+
				"IPsec SA here, because this server carries ESP only UDP-encapsulated (port 4500) and cannot receive "+
				"plain ESP (IP protocol 50); its quick modes will be refused", "peer", sa.from, "peer_id", sa.peerID)
		}
	} else {
		r.log.Info("ike: phase 1 rekeyed by the client", "peer", sa.from, "peer_id", sa.peerID, "ike", sa.prop.String())
	}
	p.sas = append(p.sas, sa)
	p.lastRx = now
	p.dpd = sa.peerDPD
	sa.peer = p
}

// initialContact drops the peers of the identity id at the IP address of
// from, except keep: the client says it has no SAs with us any more.
// Clients behind one NAT may share an IP address, so both identity and
// address must match.
func (r *Responder) initialContact(from netip.AddrPort, id ID, keep *rpeer) {
	for _, p := range r.peers {
		if p != keep && p.id.Equal(id) && p.addr.Addr() == from.Addr() {
			r.dropPeer(p, "INITIAL-CONTACT: the client ("+id.String()+") started over", false)
		}
	}
}

// dropPeer ends a peer: its children are withdrawn, its SAs forgotten
// (deleted at the client if tell), and OnPeerGone says why.
func (r *Responder) dropPeer(p *rpeer, reason string, tell bool) {
	for _, c := range p.children {
		if tell {
			r.sendDeleteChild(p, c)
		}
		r.childGone(c)
	}
	p.children = nil
	for _, sa := range p.sas {
		if tell {
			r.sendInfo(sa, "delete ISAKMP SA", &Delete{DOI: DOIIPsec, Protocol: ProtoISAKMP, SPISize: 16, SPIs: [][]byte{sa.cookies()}})
		}
		r.forgetSA(sa)
	}
	p.sas = nil
	if r.peers[p.addr] == p {
		delete(r.peers, p.addr)
	}
	r.log.Info("ike: peer gone", "peer", p.addr, "peer_id", p.id.String(), "reason", reason)
	if f := r.cfg.OnPeerGone; f != nil {
		addr := p.addr
		r.later(func() { f(addr, reason) })
	}
}

// forgetSA removes an ISAKMP SA and the Quick Modes in progress on it.
func (r *Responder) forgetSA(sa *rSA) {
	for _, q := range sa.qm {
		if !q.done {
			delete(r.spis, q.spiIn)
			if q.rekeyOf != nil && q.rekeyOf.rekeying == q {
				q.rekeyOf.rekeying = nil // tried again on the next ISAKMP SA
			}
		}
	}
	sa.qm = map[uint32]*rqm{}
	delete(r.sas, cookieKey(sa.ckyI, sa.ckyR))
	if p := sa.peer; p != nil {
		for i, o := range p.sas {
			if o == sa {
				p.sas = append(p.sas[:i], p.sas[i+1:]...)
				break
			}
		}
		if p.dpdSA == sa {
			p.dpdOut, p.dpdSA = nil, nil
		}
	}
}

// peerTick runs the timers of p: expiries, retransmissions, DPD.
func (r *Responder) peerTick(p *rpeer, now time.Time, earlier func(time.Time)) {
	r.childTick(p, now, earlier)
	for _, sa := range append([]*rSA(nil), p.sas...) {
		if !now.Before(sa.expireAt) {
			r.log.Info("ike: ISAKMP SA expired", "peer", p.addr)
			r.sendInfo(sa, "delete ISAKMP SA", &Delete{DOI: DOIIPsec, Protocol: ProtoISAKMP, SPISize: 16, SPIs: [][]byte{sa.cookies()}})
			r.forgetSA(sa)
			continue
		}
		earlier(sa.expireAt)
		r.quickModeTick(sa, now, earlier)
	}
	if len(p.sas) == 0 && len(p.children) == 0 {
		r.dropPeer(p, "its SAs were deleted or expired", false)
		return
	}
	r.dpdTick(p, now, earlier)
}

// dpdTick sends our R-U-THERE when p has been silent for DPDDelay, and
// declares it gone when Retransmits of them went unanswered.
func (r *Responder) dpdTick(p *rpeer, now time.Time, earlier func(time.Time)) {
	sa := p.current()
	if !p.dpd || r.cfg.DPDDelay < 0 || sa == nil {
		return
	}
	if o := p.dpdOut; o != nil {
		if now.Before(o.deadline) {
			earlier(o.deadline)
			return
		}
		if r.retransmit(p.addr, o, now) {
			r.dropPeer(p, "dead peer detection: no R-U-THERE-ACK after "+strconv.Itoa(r.cfg.Retransmits+1)+" tries, nothing received for "+
				now.Sub(p.lastRx).Round(time.Second).String(), false)
			return
		}
		earlier(o.deadline)
		return
	}
	due := p.lastRx.Add(r.cfg.DPDDelay)
	if now.Before(due) {
		earlier(due)
		return
	}
	if p.dpdSeq == 0 {
		p.dpdSeq = binary.BigEndian.Uint32(r.randBytes(4)) >> 1
	}
	p.dpdSeq++
	var seq [4]byte
	binary.BigEndian.PutUint32(seq[:], p.dpdSeq)
	msg := r.sendInfo(sa, "R_U_THERE", &Notify{DOI: DOIIPsec, Protocol: ProtoISAKMP, MessageType: NotifyRUThere,
		SPI: sa.cookies(), Data: seq[:]})
	if msg == nil {
		return
	}
	p.dpdOut = &pending{msg: msg, what: "R_U_THERE", natt: p.natt, deadline: now.Add(r.cfg.RetransmitTimeout)}
	p.dpdSA = sa
	earlier(p.dpdOut.deadline)
}

// Peers returns a snapshot of the established peers.
func (r *Responder) Peers() []PeerInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]PeerInfo, 0, len(r.peers))
	for _, p := range r.peers {
		info := PeerInfo{Addr: p.addr, Local: p.local, NATT: p.natt, ID: p.id.String(), Established: p.upAt}
		if sa := p.current(); sa != nil {
			info.IKE, info.BehindNAT = sa.prop, sa.natPeer
		}
		for _, c := range p.children {
			if !c.superseded {
				info.ESP = append(info.ESP, c.c.Proposal)
			}
			info.Children++
		}
		out = append(out, info)
	}
	return out
}

// Disconnect ends the peer at addr: its child and ISAKMP SAs are deleted
// at the client and withdrawn (OnChildDeleted, OnPeerGone). It reports
// whether there was such a peer.
func (r *Responder) Disconnect(addr netip.AddrPort) bool {
	found := false
	r.do(func(time.Time) {
		if p := r.peers[addr]; p != nil {
			found = true
			r.dropPeer(p, "disconnected by the administrator", true)
		}
	})
	return found
}

// Close disconnects every peer, forgets the Main Modes in progress and
// makes Input ignore what comes later. It is idempotent.
func (r *Responder) Close() {
	r.do(func(time.Time) {
		if r.closed {
			return
		}
		r.closed = true
		for _, p := range r.peers {
			r.dropPeer(p, "the server is shutting down", true)
		}
		for k := range r.sas {
			delete(r.sas, k)
		}
		r.halfOpen = 0
	})
}
