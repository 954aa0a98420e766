package vpn

// engine is a running control loop of a connection (the IKE session, the
// L2TP tunnel, the PPP link): done is closed when its Run returns, and err
// holds Run's result from then on. Anyone may watch done and read the error
// afterwards, any number of times.
type engine struct {
	done chan struct{}
	err  error
}

// startEngine runs run on its own goroutine, counted in c.wg.
func (c *Conn) startEngine(run func() error) *engine {
	e := &engine{done: make(chan struct{})}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		e.err = run()
		close(e.done)
	}()
	return e
}

// Done is closed when the loop has ended; nil (never ready) for a loop that
// was not started.
func (e *engine) Done() <-chan struct{} {
	if e == nil {
		return nil
	}
	return e.done
}

// ended says whether the loop has ended.
func (e *engine) ended() bool {
	if e == nil {
		return false
	}
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// Err is the loop's result; it must only be called once Done is closed.
func (e *engine) Err() error { return e.err }
