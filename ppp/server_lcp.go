package ppp

// LCP on the authenticator's side (RFC 1661 section 6): the options both
// roles share (lcpOptions), and the Authentication-Protocol option, which
// here we ask for.

import "fmt"

// serverLCP asks for the Authentication-Protocol (RFC 1661 6.2), a
// Magic-Number and, if configured, an MRU; it takes the client's MRU and
// Magic-Number and refuses to authenticate itself.
type serverLCP struct {
	lcpOptions
	s *ServerLink

	offer   AuthMethod   // the method in our current request
	refused []AuthMethod // methods the client Nak'd since LCP was last up
	acked   AuthMethod   // the method the client acked
}

func newServerLCP(s *ServerLink) *serverLCP {
	return &serverLCP{lcpOptions: newLCPOptions(&s.linkCore, s.cfg.MRU), s: s, offer: s.cfg.Auth[0]}
}

func (h *serverLCP) appendRequest(b []byte) []byte {
	return h.appendOwn(authMethodOption(h.offer).Append(b))
}

// checkRequest classifies the client's options. ACCM, PFC and ACFC are
// acked for the same reasons as on the client side (see lcpOptions). The
// Authentication-Protocol option, EAP or any other, is rejected: the
// client would have us authenticate ourselves, and we have no secret of
// our own to do it with (pppd Configure-Rejects it in that case too).
func (h *serverLCP) checkRequest(opts []byte, rejectNaks bool, rej []byte) (Code, []byte, error) {
	return h.classify(opts, rejectNaks, rej, func(o Option, _ bool, rej, nak []byte) ([]byte, []byte, error) {
		_, name := authOption(o.Data)
		h.s.log.Debug("ppp: server: lcp: the client asks us to authenticate ourselves; rejected", "asked", name)
		return o.Append(rej), nak, nil
	})
}

func (h *serverLCP) gotAck([]byte) {
	h.takeAck()
	h.acked = h.offer
}

// gotNak adjusts our request. A Nak of the Authentication-Protocol names
// the method the client would rather use: we take it if it is allowed
// here and not yet refused, else offer the next allowed method in our
// order; EAP and unknown methods are never taken. With every allowed method
// refused the negotiation fails.
func (h *serverLCP) gotNak(opts []byte) error { return h.takeNak(opts, h.authNaked) }

func (h *serverLCP) authNaked(o Option) error {
	if !containsMethod(h.refused, h.offer) {
		h.refused = append(h.refused, h.offer)
	}
	want, name := authOption(o.Data)
	next := AuthMethod(0)
	if want != 0 && containsMethod(h.s.cfg.Auth, want) && !containsMethod(h.refused, want) {
		next = want
	} else {
		for _, m := range h.s.cfg.Auth {
			if !containsMethod(h.refused, m) {
				next = m
				break
			}
		}
	}
	if next == 0 {
		return &NegotiationError{Protocol: ProtoLCP, Reason: fmt.Sprintf(
			"the client refused every authentication method allowed here (%s); it asked for %s", authList(h.s.cfg.Auth), name)}
	}
	h.s.log.Debug("ppp: server: lcp: the client refused an authentication method", "refused", h.offer, "asked", name, "offering", next)
	h.offer = next
	return nil
}

func (h *serverLCP) gotReject(opts []byte) error {
	return h.takeReject(opts, &NegotiationError{Protocol: ProtoLCP,
		Reason: "the client refuses to authenticate (it Configure-Rejected the Authentication-Protocol option)"})
}

func (h *serverLCP) up() {
	h.refused = h.refused[:0]
	h.s.lcpUp()
}
