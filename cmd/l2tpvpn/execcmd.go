package main

// l2tpvpn exec: connect (or reuse a running connection of that name), run a
// command, disconnect when it exits, and return its exit status.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

const execHelp = `Usage: l2tpvpn exec [NAME] [connect flags] -- CMD [ARGS...]

Connects as 'l2tpvpn connect NAME --background' would (or uses the running
connection of that name, and then leaves it up), runs CMD with the same
standard input and output, disconnects when CMD exits, and exits with CMD's
status (128+N when a signal N ended it). When the connect fails, CMD is not
run and the exit code is the connect's (see 'l2tpvpn help').

The connect's progress lines go to stderr, so CMD's stdout stays its own.
SIGINT, SIGTERM and SIGHUP are passed on to CMD. The environment variables
that held our secrets (password-env, psk env:VAR, ...) are not passed to CMD.
In proxy mode (--proxy) CMD gets ALL_PROXY (socks5h://), HTTP_PROXY,
HTTPS_PROXY and NO_PROXY (and their lower-case forms) pointing at the proxy.

With --netns, CMD runs in a network namespace of its own (in a user
namespace, so no root is needed where the kernel allows unprivileged user
namespaces) whose only interface besides loopback is a TUN device that the
client feeds: every program in it goes through the VPN, proxy-aware or not,
and nothing can go around the tunnel. Its default route is the tunnel, its
/etc/resolv.conf lists the tunnel's DNS servers, and it keeps your uid and
gid. The client runs in the foreground of exec and disconnects when CMD
exits; --netns always makes its own connection. If the VPN ends first
(it gave up reconnecting, or 'l2tpvpn disconnect'), CMD gets SIGTERM.

Examples:
  l2tpvpn exec work -- ssh build.internal make
  l2tpvpn exec work --netns -- ./integration-tests.sh
  l2tpvpn exec --server 192.0.2.1 --user ci --password-env VPN_PW --psk-env VPN_PSK -- ./deploy.sh
`

func execCommand(args []string, stdout, stderr io.Writer) int {
	i := slices.Index(args, "--")
	if i < 0 {
		if slices.Contains(args, "-h") || slices.Contains(args, "--help") {
			fmt.Fprint(stdout, execHelp)
			return exitOK
		}
		fmt.Fprintln(stderr, "l2tpvpn exec: no command: put it after '--' (run 'l2tpvpn exec --help')")
		return exitUsage
	}
	connArgs, cmdArgs := slices.Clone(args[:i]), args[i+1:]
	if len(cmdArgs) == 0 {
		fmt.Fprintln(stderr, "l2tpvpn exec: no command after '--' (run 'l2tpvpn exec --help')")
		return exitUsage
	}
	netns := false
	connArgs = slices.DeleteFunc(connArgs, func(a string) bool {
		if a == "--netns" {
			netns = true
		}
		return a == "--netns"
	})
	for _, a := range connArgs {
		if a == "--background" || strings.HasPrefix(a, "--background=") || a == "--dry-run" || a == "--daemon-child" {
			fmt.Fprintf(stderr, "l2tpvpn exec: %s is not for exec (it connects in the background itself)\n", a)
			return exitUsage
		}
	}
	o, err := parseConnect(connArgs, io.Discard)
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn exec: %v\n", err)
		return exitUsage
	}
	if netns {
		// The client runs here in the foreground: its lines go to stderr,
		// the command's stdout stays its own.
		return connectWith(connArgs, stderr, stderr, &netnsSpec{argv: cmdArgs})
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn exec: %v\n", err)
		return exitInternal
	}
	dir := stateDir()
	_, qerr := queryStatus(dir, o.name)
	reused := qerr == nil
	if !reused {
		c := exec.Command(self, append(append([]string{"connect"}, connArgs...), "--background")...)
		c.Stdin, c.Stdout, c.Stderr = os.Stdin, stderr, stderr
		if err := c.Run(); err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.ExitCode() > 0 {
				return ee.ExitCode()
			}
			fmt.Fprintf(stderr, "l2tpvpn exec: connect: %v\n", err)
			return exitInternal
		}
	} else {
		fmt.Fprintf(stderr, "l2tpvpn exec: using the running connection %q (it stays up)\n", o.name)
	}

	env := scrubbedEnv(os.Environ(), o)
	if st, err := queryStatus(dir, o.name); err == nil && st.Mode == "proxy" && st.Proxy != "" {
		env = append(env, proxyEnv(st.Proxy)...)
	}
	code := runChild(cmdArgs, env, stdout, stderr)

	if !reused {
		if err := requestDisconnect(dir, o.name, 30*time.Second); err != nil && !errors.Is(err, errNotRunning) {
			fmt.Fprintf(stderr, "l2tpvpn exec: disconnect %s: %v\n", o.name, err)
		}
	}
	return code
}

// runChild runs the command with our stdio, passing on the signals that
// would end us, and returns its exit status.
func runChild(argv, env []string, stdout, stderr io.Writer) int {
	c := exec.Command(argv[0], argv[1:]...)
	c.Stdin, c.Stdout, c.Stderr, c.Env = os.Stdin, stdout, stderr, env
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := c.Start(); err != nil {
		fmt.Fprintf(stderr, "l2tpvpn exec: %v\n", err)
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return 127
		}
		return 126
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				c.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := c.Wait()
	close(done)
	return exitStatus(err)
}

// proxyEnv points proxy-aware programs at a proxy-mode connection's
// listener (SOCKS5 with names resolved by the proxy, and HTTP), in both the
// upper- and lower-case spellings tools read.
func proxyEnv(addr string) []string {
	var env []string
	for k, v := range map[string]string{"ALL_PROXY": "socks5h://" + addr, "HTTP_PROXY": "http://" + addr,
		"HTTPS_PROXY": "http://" + addr, "NO_PROXY": "localhost,127.0.0.1,::1"} {
		env = append(env, k+"="+v, strings.ToLower(k)+"="+v)
	}
	slices.Sort(env)
	return env
}

// scrubbedEnv is env without the variables our secrets came from.
func scrubbedEnv(env []string, o *connectOpts) []string {
	drop := map[string]bool{}
	for _, name := range []string{o.passwordEnv, o.pskEnv, o.secretEnv} {
		if name != "" {
			drop[name] = true
		}
	}
	for _, v := range []*secretValue{o.password, o.psk, o.l2tpSecret, o.otp, o.certX.pkcs12Password} {
		if v == nil {
			continue
		}
		if name, ok := strings.CutPrefix(v.Spec(), "env:"); ok {
			drop[name] = true
		}
	}
	// A profile's secrets name their variables the same way.
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !drop[name] {
			out = append(out, kv)
		}
	}
	return out
}
