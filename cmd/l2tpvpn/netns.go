package main

// The namespace holder of 'l2tpvpn exec --netns': the hidden command
// "__netns", started by exec in a new user, network and mount namespace.
// It is the namespace's first process: it brings up loopback, makes the
// TUN device when the client asks (with the address, MTU, default route
// and resolv.conf of the connection) and hands the device's file to the
// client, which stays in the host's namespace and feeds it. Then it runs
// the command there, in a nested user namespace that gives it back the
// user's own uid and gid, and exits with its status.
//
// The client talks to it over a SOCK_SEQPACKET pair (fd 3): one JSON
// request per message, one JSON reply, the TUN's file as SCM_RIGHTS with
// the reply to "open". The holder never sees a secret: its arguments are
// the command's, its environment the command's (already scrubbed).

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// netnsCommand is the holder's (hidden) command name.
const netnsCommand = "__netns"

// netnsControlFD is where the holder finds its end of the control pair.
const netnsControlFD = 3

// nsRequest is one request of the client to the holder.
type nsRequest struct {
	Op     string   `json:"op"` // open, update, run
	Name   string   `json:"name,omitempty"`
	Local  string   `json:"local,omitempty"`
	Peer   string   `json:"peer,omitempty"`
	MTU    int      `json:"mtu,omitempty"`
	DNS    []string `json:"dns,omitempty"`
	Search []string `json:"search,omitempty"`
}

// nsReply answers one request.
type nsReply struct {
	Error string `json:"error,omitempty"`
	PID   int    `json:"pid,omitempty"` // run: the command's pid
	// NotFound: run failed because the command does not exist (127).
	NotFound bool `json:"not_found,omitempty"`
}

// nsResolvConf is the resolver file the command sees: the tunnel's DNS
// servers and search domains only.
func nsResolvConf(dns, search []string) []byte {
	var b strings.Builder
	b.WriteString("# l2tpvpn exec --netns: the tunnel's DNS servers\n")
	for _, s := range dns {
		b.WriteString("nameserver " + s + "\n")
	}
	if len(search) > 0 {
		b.WriteString("search " + strings.Join(search, " ") + "\n")
	}
	return []byte(b.String())
}

// nsHolder is the holder's state.
type nsHolder struct {
	uid, gid int    // the user's, outside; -1: no nested user namespace
	stateDir string // where the resolv.conf is written before it is bound
	argv     []string
	ctl      *net.UnixConn
	tunName  string
	local    netip.Addr // the address on the device now
	resolv   string     // the bound resolv.conf, once bound
	cmd      *exec.Cmd
}

func netnsHolder(args []string, stderr io.Writer) int {
	fs := pflag.NewFlagSet(netnsCommand, pflag.ContinueOnError)
	h := &nsHolder{}
	fs.IntVar(&h.uid, "uid", -1, "")
	fs.IntVar(&h.gid, "gid", -1, "")
	fs.StringVar(&h.stateDir, "state-dir", "", "")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fmt.Fprintln(stderr, "l2tpvpn: __netns is internal to 'l2tpvpn exec --netns'")
		return exitUsage
	}
	h.argv = fs.Args()
	c, err := net.FileConn(os.NewFile(netnsControlFD, "control"))
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn exec --netns: control: %v\n", err)
		return exitInternal
	}
	h.ctl = c.(*net.UnixConn)
	// Signals are the command's: ours pass them on (or, before it runs,
	// the client decides).
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	if err := h.setup(); err != nil {
		h.reply(nsReply{Error: err.Error()}, -1)
		return exitHost
	}
	reqs := make(chan nsRequest)
	go h.readRequests(reqs)
	var done chan int
	for {
		select {
		case r, ok := <-reqs:
			if !ok { // the client ended: so does the command
				return h.stop(done)
			}
			if d := h.serve(r); d != nil {
				done = d
			}
		case s := <-sigs:
			if h.cmd != nil {
				h.cmd.Process.Signal(s)
			}
		case code := <-done:
			return code
		}
	}
}

// readRequests decodes requests until the client closes its end.
func (h *nsHolder) readRequests(reqs chan<- nsRequest) {
	defer close(reqs)
	buf := make([]byte, 64<<10)
	for {
		n, err := h.ctl.Read(buf)
		if err != nil || n == 0 {
			return
		}
		var r nsRequest
		if err := json.Unmarshal(buf[:n], &r); err != nil {
			h.reply(nsReply{Error: "bad request: " + err.Error()}, -1)
			continue
		}
		reqs <- r
	}
}

// serve answers one request; a started command's exit arrives on the
// returned channel.
func (h *nsHolder) serve(r nsRequest) chan int {
	switch r.Op {
	case "open":
		fd, err := h.open(r)
		if err != nil {
			h.reply(nsReply{Error: err.Error()}, -1)
			return nil
		}
		h.reply(nsReply{}, fd)
		unix.Close(fd)
	case "update":
		if err := h.configure(r); err != nil {
			h.reply(nsReply{Error: err.Error()}, -1)
			return nil
		}
		h.reply(nsReply{}, -1)
	case "run":
		done, err := h.run()
		if err != nil {
			h.reply(nsReply{Error: err.Error(), NotFound: errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist)}, -1)
			return nil
		}
		h.reply(nsReply{PID: h.cmd.Process.Pid}, -1)
		return done
	default:
		h.reply(nsReply{Error: "unknown request " + strconv.Quote(r.Op)}, -1)
	}
	return nil
}

func (h *nsHolder) reply(r nsReply, fd int) {
	b, _ := json.Marshal(r)
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	h.ctl.WriteMsgUnix(b, oob, nil)
}

// setup makes the namespace usable: loopback up, mounts private (our bind
// mounts stay ours), ICMP sockets allowed for the user (ping without
// privileges: the namespace starts with none allowed).
func (h *nsHolder) setup() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("netns: loopback: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("netns: loopback up: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("netns: private mounts: %w", err)
	}
	// Our gid 0 is the user's group outside.
	_ = os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte("0 0"), 0)
	// Resolvers that would ask the host's DNS behind the namespace's back
	// (systemd-resolved's NSS module and nscd talk to sockets of the host).
	for _, dir := range []string{"/run/systemd/resolve", "/run/nscd"} {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			_ = unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=16k,mode=0755")
		}
	}
	return nil
}

// open creates the TUN device and configures it; the returned fd is
// handed to the client.
func (h *nsHolder) open(r nsRequest) (int, error) {
	if h.tunName != "" {
		return -1, errors.New("netns: the device exists already")
	}
	name := r.Name
	if name == "" {
		name = "l2tp0"
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.EACCES) {
		return -1, fmt.Errorf("netns: /dev/net/tun: %w: a user needs read and write access to it (mode 0666, the usual default of udev)", err)
	}
	if err != nil {
		return -1, fmt.Errorf("netns: /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err == nil {
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
		err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	}
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("netns: create %s: %w", name, err)
	}
	h.tunName = name
	// The only addresses are the connection's: no IPv6 link-local of the
	// kernel's own, whose router solicitations would go to the server.
	if link, err := netlink.LinkByName(name); err == nil {
		_ = netlink.LinkSetIP6AddrGenMode(link, nl.IN6_ADDR_GEN_MODE_NONE)
	}
	if err := h.configure(r); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// configure gives the device the connection's address, MTU and default
// route, and the command its resolv.conf.
func (h *nsHolder) configure(r nsRequest) error {
	local, err := netip.ParseAddr(r.Local)
	if err != nil {
		return fmt.Errorf("netns: local address: %w", err)
	}
	peer, err := netip.ParseAddr(r.Peer)
	if err != nil {
		return fmt.Errorf("netns: peer address: %w", err)
	}
	link, err := netlink.LinkByName(h.tunName)
	if err != nil {
		return fmt.Errorf("netns: %s: %w", h.tunName, err)
	}
	if err := netlink.LinkSetMTU(link, r.MTU); err != nil {
		return fmt.Errorf("netns: mtu %d: %w", r.MTU, err)
	}
	if local != h.local {
		addr := &netlink.Addr{IPNet: prefixNet(netip.PrefixFrom(local, 32)), Peer: prefixNet(netip.PrefixFrom(peer, 32))}
		if err := netlink.AddrAdd(link, addr); err != nil {
			return fmt.Errorf("netns: address %s: %w", local, err)
		}
		if h.local.IsValid() {
			old := &netlink.Addr{IPNet: prefixNet(netip.PrefixFrom(h.local, 32))}
			_ = netlink.AddrDel(link, old)
		}
		h.local = local
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("netns: %s up: %w", h.tunName, err)
	}
	// Everything leaves through the tunnel: there is no other way out.
	def := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: prefixNet(netip.MustParsePrefix("0.0.0.0/0")), Scope: netlink.SCOPE_LINK}
	if err := netlink.RouteReplace(def); err != nil {
		return fmt.Errorf("netns: default route: %w", err)
	}
	return h.writeResolvConf(nsResolvConf(r.DNS, r.Search))
}

// writeResolvConf binds a file of ours over /etc/resolv.conf (its target
// when it is a link) the first time, and rewrites it later.
func (h *nsHolder) writeResolvConf(content []byte) error {
	if h.resolv != "" {
		return os.WriteFile(h.resolv, content, 0o644)
	}
	target, err := filepath.EvalSymlinks("/etc/resolv.conf")
	if err != nil {
		return nil // no resolver file to replace: programs fall back to localhost, which has no server here
	}
	f, err := os.CreateTemp(h.stateDir, "netns-resolv-*.conf")
	if err != nil {
		return fmt.Errorf("netns: resolv.conf: %w", err)
	}
	defer os.Remove(f.Name()) // the bind mount keeps the file
	_, err = f.Write(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = unix.Mount(f.Name(), target, "", unix.MS_BIND, "")
	}
	if err != nil {
		return fmt.Errorf("netns: resolv.conf over %s: %w", target, err)
	}
	h.resolv = target
	return nil
}

// run starts the command: in a nested user namespace that maps the user's
// own uid and gid back (so it is not root in ours), unless we are root.
func (h *nsHolder) run() (chan int, error) {
	if h.cmd != nil {
		return nil, errors.New("netns: the command runs already")
	}
	c := exec.Command(h.argv[0], h.argv[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if h.uid >= 0 {
		c.SysProcAttr.Cloneflags = syscall.CLONE_NEWUSER
		c.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: h.uid, HostID: 0, Size: 1}}
		c.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: h.gid, HostID: 0, Size: 1}}
		c.SysProcAttr.GidMappingsEnableSetgroups = false
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	h.cmd = c
	done := make(chan int, 1)
	go func() { done <- exitStatus(c.Wait()) }()
	return done, nil
}

// stop ends the command after the client went away: SIGTERM, then SIGKILL
// after 10 s.
func (h *nsHolder) stop(done chan int) int {
	if h.cmd == nil {
		return exitInterrupted
	}
	h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case code := <-done:
		return code
	case <-time.After(10 * time.Second):
		h.cmd.Process.Kill()
		return <-done
	}
}

// exitStatus is a finished command's status as a shell reports it.
func exitStatus(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return 1
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
