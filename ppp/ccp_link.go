package ppp

// CCP and MPPE on the Link: when CCP runs, what its This-Layer-* actions do,
// and what the data path asks (MPPE, MPPEBlocked).
//
// Policy. MPPEOff, and MPPEAllow without MS-CHAPv2 (no keys), run no CCP:
// the server's CCP gets a Protocol-Reject, as before MPPE existed here and
// as pppd with noccp. MPPEAllow with MS-CHAPv2 starts CCP passively, on the
// server's first CCP packet, and asks for MPPE only if the server does.
// MPPERequire starts CCP with the Network phase, asking for MPPE-128, and
// fails the link if MPPE does not come up. While MPPE is being negotiated
// (required, or asked for by the server) IPCP's Up waits for it, and
// MPPEBlocked tells the data path not to send IP in the clear.

// MPPE returns the MPPE session while CCP is open with MPPE, else nil. The
// data path encrypts and decrypts with it (one goroutine per direction).
func (l *Link) MPPE() *MPPE { return l.mppe.Load() }

// MPPEBlocked reports whether IP must not be sent or accepted in the clear:
// MPPE is required, or the server asked for it, or it was on and CCP is
// renegotiating. Data path callers check MPPE first.
func (l *Link) MPPEBlocked() bool { return l.mppeBlock.Load() }

// mppeKeys says whether MPPE keys exist: MS-CHAPv2 authenticated us.
func (l *Link) mppeKeys() bool {
	return l.auth.method == AuthMSCHAPv2 && l.auth.haveKeys
}

// startCCP opens CCP (Open and Up), sending our first Configure-Request.
func (l *Link) startCCP() {
	if l.ccpStarted {
		return
	}
	l.ccpStarted = true
	l.ccp.step(evOpen)
	l.ccp.step(evUp)
}

// ccpNetwork runs when the Network phase starts.
func (l *Link) ccpNetwork() {
	if l.cfg.MPPE != MPPERequire {
		return
	}
	if !l.mppeKeys() {
		l.fail(mppeRequiredError("the server authenticated us with " + l.auth.method.displayName() +
			", and MPPE keys come only from MS-CHAPv2 (allow mschapv2 only)"))
		return
	}
	l.ccpL.want, l.ccpL.sendMPPE = mppeBitS|mppeBitH, true
	l.startCCP()
}

// ccpInput handles a CCP frame.
func (l *Link) ccpInput(f frame) {
	if l.cfg.MPPE == MPPEOff || !l.mppeKeys() {
		l.protocolReject(f)
		return
	}
	p, err := ParsePacket(f.info)
	if err != nil {
		l.malformed(f.proto, err)
		return
	}
	if l.phase != phaseNetwork {
		l.drop(f.proto, "not in the Network phase")
		return
	}
	l.logPacket("received", f.proto, f.info)
	switch p.Code {
	case CodeResetRequest:
		// RFC 1962 2.1, RFC 3078 8: change our send key, flag the next
		// packet, and acknowledge.
		if m := l.mppe.Load(); m != nil {
			m.Flush()
			l.sendPacket(ProtoCCP, Packet{Code: CodeResetAck, ID: p.ID})
		}
		return
	case CodeResetAck:
		return // our receiver resynchronizes on the flushed bit
	}
	if !l.ccpStarted {
		if p.Code != CodeConfigureRequest {
			l.drop(f.proto, "CCP is not running")
			return
		}
		if l.ccpL.prescan(p.Data) {
			l.mppeBlock.Store(true)
		}
		l.startCCP()
	}
	l.ccp.input(p)
}

// sendResetRequest asks the server to change its send key: our receiver
// lost packets in stateful mode (RFC 3078 section 8.2).
func (l *Link) sendResetRequest() {
	if l.mppe.Load() == nil || l.ccp.state != stateOpened {
		return
	}
	l.log.Debug("ppp: mppe: lost packets, asking the server to reset its key")
	l.sendPacket(ProtoCCP, Packet{Code: CodeResetRequest, ID: l.ccp.newID()})
}

// mppeResetC is the channel on which the MPPE receiver asks for a
// Reset-Request, nil without MPPE.
func (l *Link) mppeResetC() <-chan struct{} {
	if m := l.mppe.Load(); m != nil {
		return m.resetReq
	}
	return nil
}

func (l *Link) ccpUp() {
	bits := l.ccpL.negotiated()
	if bits == 0 {
		if l.cfg.MPPE == MPPERequire {
			l.fail(mppeRequiredError("CCP opened without it"))
			return
		}
		l.log.Info("ppp: ccp up without mppe")
		l.mppeBlock.Store(false)
		l.releaseIPCP()
		return
	}
	strength, stateless := mppeSetting(bits)
	m := newMPPE(strength, stateless, l.auth.passwordHashHash, l.auth.ntResponse)
	l.mppe.Store(m)
	l.mppeBlock.Store(true)
	l.mu.Lock()
	l.info.MPPE = m.String()
	info := l.copyInfo()
	up := l.up
	l.mu.Unlock()
	l.log.Info("ppp: ccp up", "mppe", m.String())
	if strength != MPPE128 {
		l.log.Warn("ppp: the server negotiated weak MPPE keys", "mppe", m.String())
	}
	if up {
		l.emit(Event{Kind: "ccp.up", Auth: info.Auth, Info: &info})
	}
	l.releaseIPCP()
}

func (l *Link) ccpDown() {
	l.mppe.Store(nil) // mppeBlock stays: no plaintext while renegotiating
	l.mu.Lock()
	l.info.MPPE = ""
	l.mu.Unlock()
	l.log.Info("ppp: ccp down")
	l.emit(Event{Kind: "ccp.down"})
}

func (l *Link) ccpFinished(reason string) {
	if l.ccpResetting || l.closeIssued || l.pendingClose {
		return
	}
	if l.cfg.MPPE == MPPERequire {
		if reason == "" {
			reason = "CCP finished"
		}
		l.fail(mppeRequiredError("CCP did not open: " + reason))
		return
	}
	l.log.Info("ppp: ccp not available", "reason", reason)
	l.mppeBlock.Store(false)
	l.releaseIPCP()
}

// ccpReset takes CCP back to Initial when LCP goes down; a new Network
// phase starts it afresh.
func (l *Link) ccpReset() {
	if !l.ccpStarted {
		return
	}
	l.ccpResetting = true
	l.ccp.step(evDown)
	l.ccp.step(evClose)
	l.ccpResetting = false
	l.ccpStarted = false
	l.ipcpWaiting = false
	*l.ccpL = ccpLayer{l: l}
}

// ccpPending says whether IPCP's Up must wait for CCP: MPPE is being
// negotiated and not up yet.
func (l *Link) ccpPending() bool {
	return l.mppeBlock.Load() && l.mppe.Load() == nil && (l.ccpStarted || l.cfg.MPPE == MPPERequire)
}

// releaseIPCP completes an IPCP Up that waited for CCP.
func (l *Link) releaseIPCP() {
	if l.ipcpWaiting && l.ipcp.state == stateOpened {
		l.ipcpWaiting = false
		l.ipcpUp()
	}
}
