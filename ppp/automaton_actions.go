package ppp

// The actions of the RFC 1661 automaton (section 4.4).

func (f *automaton) act(a action) {
	if f.trace != nil {
		f.trace(a)
	}
}

func (f *automaton) tlu() { f.act(actTLU); f.layer.up() }
func (f *automaton) tld() { f.act(actTLD); f.layer.down() }
func (f *automaton) tls() { f.act(actTLS); f.layer.started() }
func (f *automaton) tlf() {
	f.act(actTLF)
	why := f.why
	f.why = ""
	f.layer.finished(why)
}

type counterKind bool

const (
	maxConf counterKind = false
	maxTerm counterKind = true
)

func (f *automaton) irc(k counterKind) {
	f.act(actIRC)
	if k == maxTerm {
		f.restartCount = f.maxTerminate
	} else {
		f.restartCount = f.maxConfigure
	}
}

func (f *automaton) zrc() {
	f.act(actZRC)
	f.restartCount = 0
	f.timer.start(f.restartTime)
}

// scr sends a Configure-Request. A retransmission of a request that got no
// valid reply keeps its Identifier and options (RFC 1661 section 5.1).
func (f *automaton) scr(retransmit bool) {
	f.act(actSCR)
	if !retransmit || f.answered {
		f.reqID = f.newID()
		f.reqOpts = f.layer.appendRequest(f.reqOpts[:0])
	}
	f.answered = false
	f.restartCount--
	f.host.sendPacket(f.proto, Packet{Code: CodeConfigureRequest, ID: f.reqID, Data: f.reqOpts})
	f.timer.start(f.restartTime)
}

func (f *automaton) sca() {
	f.act(actSCA)
	f.failures = 0
	f.host.sendPacket(f.proto, Packet{Code: CodeConfigureAck, ID: f.rx.ID, Data: f.rx.Data})
}

func (f *automaton) scn() {
	f.act(actSCN)
	if f.replyCode == CodeConfigureNak {
		f.failures++
	}
	f.host.sendPacket(f.proto, Packet{Code: f.replyCode, ID: f.rx.ID, Data: f.reply})
}

func (f *automaton) str() {
	f.act(actSTR)
	f.restartCount--
	f.host.sendPacket(f.proto, Packet{Code: CodeTerminateRequest, ID: f.newID(), Data: f.termData})
	f.timer.start(f.restartTime)
}

func (f *automaton) sta() {
	f.act(actSTA)
	f.host.sendPacket(f.proto, Packet{Code: CodeTerminateAck, ID: f.rx.ID})
}

// scj sends a Code-Reject carrying the rejected packet, truncated so the
// reply fits the default MRU (RFC 1661 section 5.6).
func (f *automaton) scj() {
	f.act(actSCJ)
	data := f.rx.Append(nil)
	if max := 1500 - packetHeaderLen; len(data) > max {
		data = data[:max]
	}
	f.host.sendPacket(f.proto, Packet{Code: CodeCodeReject, ID: f.newID(), Data: data})
}

func (f *automaton) ser() {
	f.act(actSER)
	if f.extras != nil {
		f.extras.rxr(f.rx)
	}
}
