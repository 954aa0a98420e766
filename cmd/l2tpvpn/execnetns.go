package main

// l2tpvpn exec --netns: the client runs here, in the host's network
// namespace, in the foreground of exec; the command runs in a namespace of
// its own whose only way out is a TUN device the client feeds (netns.go
// holds that namespace). Every program there goes through the VPN, proxy
// aware or not, and nothing can go around it. No root is needed where the
// kernel lets users make user namespaces.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/l2tpvpn/l2tpvpn/vpn"
	"golang.org/x/sys/unix"
)

// errUserns explains a refused namespace.
const usernsHint = "unprivileged user namespaces are not allowed here: check the sysctls user.max_user_namespaces, " +
	"kernel.unprivileged_userns_clone (Debian) and kernel.apparmor_restrict_unprivileged_userns (Ubuntu), " +
	"or a container's seccomp profile; or run as root, or use --proxy"

// netnsSpec is what exec --netns asks of connectWith: the command.
type netnsSpec struct{ argv []string }

// netnsRun is one exec --netns: the holder process and its control pair.
// It is the client's vpn.DeviceProvider.
type netnsRun struct {
	holder *exec.Cmd
	ctl    *net.UnixConn
	mu     sync.Mutex // one request at a time
	exited chan struct{}
	code   int // the holder's exit status, once exited is closed
	name   string
}

// startNetns starts the holder in new namespaces with the command's argv
// and environment. The command does not run until run is called.
func startNetns(argv, env []string, stateDir, ifname string) (*netnsRun, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if ifname == "" {
		ifname = "l2tp0"
	}
	if missing := boundingLacks(readProcStatus()); missing != "" {
		return nil, fmt.Errorf("%w: this process's capability bounding set lacks %s (a container that dropped it): "+
			"a user namespace cannot give it back, so the command's namespace cannot have a TUN device; use --proxy", errPermission, missing)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("control pair: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "netns-control"), os.NewFile(uintptr(fds[1]), "netns-control")
	defer theirs.Close()
	args := []string{netnsCommand, "--state-dir", stateDir}
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	if uid, gid := os.Getuid(), os.Getgid(); uid != 0 {
		// We become root of a user namespace of our own, which owns the
		// new network namespace; the command gets our ids back.
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}}
		attr.GidMappingsEnableSetgroups = false
		args = append(args, "--uid", strconv.Itoa(uid), "--gid", strconv.Itoa(gid))
	}
	c := exec.Command(self, append(append(args, "--"), argv...)...)
	c.Stdin, c.Stdout, c.Stderr, c.Env = os.Stdin, os.Stdout, os.Stderr, env
	c.ExtraFiles = []*os.File{theirs} // fd 3 = netnsControlFD
	c.SysProcAttr = attr
	if err := c.Start(); err != nil {
		ours.Close()
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EINVAL) {
			return nil, fmt.Errorf("%w: creating the command's namespaces: %v; %s", errPermission, err, usernsHint)
		}
		return nil, fmt.Errorf("creating the command's namespaces: %w", err)
	}
	fc, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		c.Process.Kill()
		c.Wait()
		return nil, err
	}
	n := &netnsRun{holder: c, ctl: fc.(*net.UnixConn), exited: make(chan struct{}), name: ifname}
	go func() {
		n.code = exitStatus(c.Wait())
		close(n.exited)
	}()
	return n, nil
}

// capSysAdmin is CAP_SYS_ADMIN's bit (the holder's bind mounts need it).
const capSysAdmin = 21

// boundingLacks names the capabilities the holder needs in its own user
// namespace that the bounding set (CapBnd in /proc/self/status) would
// take away at its execve, or "".
func boundingLacks(procStatus []byte) string {
	for line := range strings.Lines(string(procStatus)) {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return ""
			}
			var missing []string
			if caps&(1<<capNetAdmin) == 0 {
				missing = append(missing, "CAP_NET_ADMIN")
			}
			if caps&(1<<capSysAdmin) == 0 {
				missing = append(missing, "CAP_SYS_ADMIN")
			}
			return strings.Join(missing, " and ")
		}
	}
	return ""
}

// call sends one request and waits for its reply (and a file, for open).
func (n *netnsRun) call(r nsRequest) (nsReply, *os.File, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	b, _ := json.Marshal(r)
	if _, err := n.ctl.Write(b); err != nil {
		return nsReply{}, nil, fmt.Errorf("the namespace's holder: %w", err)
	}
	buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4))
	nb, noob, _, _, err := n.ctl.ReadMsgUnix(buf, oob)
	if err == nil && nb == 0 {
		err = io.EOF
	}
	if err != nil {
		return nsReply{}, nil, fmt.Errorf("the namespace's holder ended: %w", err)
	}
	var f *os.File
	if msgs, err := unix.ParseSocketControlMessage(oob[:noob]); err == nil && len(msgs) == 1 {
		if fds, err := unix.ParseUnixRights(&msgs[0]); err == nil && len(fds) == 1 {
			f = os.NewFile(uintptr(fds[0]), "tun")
		}
	}
	var rep nsReply
	if err := json.Unmarshal(buf[:nb], &rep); err != nil {
		return nsReply{}, f, fmt.Errorf("the namespace's holder: %w", err)
	}
	return rep, f, nil
}

func nsSettings(op, name string, s vpn.DeviceSettings) nsRequest {
	r := nsRequest{Op: op, Name: name, Local: s.Local.String(), Peer: s.Peer.String(), MTU: s.MTU, Search: s.Search}
	for _, a := range s.DNS {
		r.DNS = append(r.DNS, a.String())
	}
	return r
}

// Open implements vpn.DeviceProvider.
func (n *netnsRun) Open(s vpn.DeviceSettings) (*os.File, string, error) {
	rep, f, err := n.call(nsSettings("open", n.name, s))
	if err == nil && rep.Error != "" {
		err = errors.New(rep.Error)
	}
	if err == nil && f == nil {
		err = errors.New("the namespace's holder sent no device")
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		return nil, "", err
	}
	return f, n.name, nil
}

// Update implements vpn.DeviceProvider.
func (n *netnsRun) Update(s vpn.DeviceSettings) error {
	rep, _, err := n.call(nsSettings("update", n.name, s))
	if err == nil && rep.Error != "" {
		err = errors.New(rep.Error)
	}
	return err
}

// close ends the holder (and with it a command that still runs) and
// waits for it.
func (n *netnsRun) close() {
	n.ctl.Close()
	select {
	case <-n.exited:
	case <-time.After(15 * time.Second):
		n.holder.Process.Kill()
		<-n.exited
	}
}

// whileUp runs the command once the connection is up and keeps the
// connection until it exits. Signals go to the command. When the VPN ends
// first, the command gets SIGTERM (SIGKILL 10 s later) and the exit code is
// the VPN's, unless the VPN ended cleanly ('l2tpvpn disconnect').
func (n *netnsRun) whileUp(ctx context.Context, stopNotify func(), cl *vpn.Client, srv *controlServer, out *output, stderr io.Writer) int {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	interrupted := ctx.Err() != nil
	stopNotify() // from here the command's signals are passed on, not ours (this cancels ctx)
	if interrupted {
		err := cl.Close()
		srv.finished(err)
		n.close()
		out.line("interrupted before the command started; disconnected")
		return exitInterrupted
	}
	rep, _, err := n.call(nsRequest{Op: "run"})
	if err == nil && rep.Error != "" {
		err = errors.New(rep.Error)
	}
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn exec: %v\n", err)
		srv.finished(cl.Close())
		n.close()
		if rep.NotFound {
			return 127
		}
		return 126
	}
	var vpnErr error
	vpnEnded := false
	endVPN := func(err error) {
		vpnErr, vpnEnded = err, true
		srv.finished(err)
		n.holder.Process.Signal(syscall.SIGTERM) // the holder passes it on
		go func() {
			select {
			case <-n.exited:
			case <-time.After(10 * time.Second):
				n.holder.Process.Kill() // and the command with it (Pdeathsig)
			}
		}()
	}
	for {
		select {
		case s := <-sigs:
			n.holder.Process.Signal(s)
		case <-srv.disconnect:
			if !vpnEnded {
				endVPN(cl.Close())
			}
		case <-cl.Done():
			if !vpnEnded {
				endVPN(cl.Wait())
			}
		case <-n.exited:
			n.ctl.Close()
			if !vpnEnded {
				err := cl.Close()
				srv.finished(err)
				if err != nil {
					out.failure(err)
				}
				return n.code
			}
			if vpnErr != nil {
				out.failure(vpnErr)
				return exitCode(vpnErr)
			}
			return n.code
		}
	}
}
