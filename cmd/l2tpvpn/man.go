package main

// Man pages made from the same texts as --help and the flag definitions,
// so they cannot drift: l2tpvpn(1) from the overview, each command's help
// and the exit codes; l2tpvpn.toml(5) from connect's flags that a profile
// may set (every key is the flag of the same name). `make man` writes them
// to man/ through the hidden command "__man"; TestManPagesCurrent fails
// when the files there differ from what the binary would write.

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

const manCommand = "__man"

// manDate is fixed: the pages change when their text does, not daily.
const manDate = "2026-12-04"

func manPage(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || (args[0] != "1" && args[0] != "5") {
		fmt.Fprintln(stderr, "usage: l2tpvpn __man 1|5")
		return exitUsage
	}
	// The texts name the profile directories of the environment; a page
	// names them as for any user.
	for k, v := range map[string]string{"HOME": "~", "XDG_CONFIG_HOME": "", "SUDO_USER": "", "XDG_RUNTIME_DIR": ""} {
		if old, ok := os.LookupEnv(k); ok {
			defer os.Setenv(k, old)
		} else {
			defer os.Unsetenv(k)
		}
		os.Setenv(k, v)
	}
	if args[0] == "1" {
		fmt.Fprint(stdout, manSection1())
	} else {
		fmt.Fprint(stdout, manSection5())
	}
	return exitOK
}

// roffEscape makes plain text safe in roff: backslashes, a leading dot or
// quote on a line, and characters outside ASCII as \[uXXXX].
func roffEscape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	var ascii strings.Builder
	for _, r := range s {
		if r < 128 {
			ascii.WriteRune(r)
		} else {
			fmt.Fprintf(&ascii, `\[u%04X]`, r)
		}
	}
	s = ascii.String()
	var b strings.Builder
	for line := range strings.Lines(s) {
		if strings.HasPrefix(line, ".") || strings.HasPrefix(line, "'") {
			b.WriteString(`\&`)
		}
		b.WriteString(line)
	}
	return b.String()
}

// verbatim is a no-fill block of preformatted text.
func verbatim(s string) string {
	return ".nf\n" + roffEscape(strings.TrimRight(s, "\n")) + "\n.fi\n"
}

func manSection1() string {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH L2TPVPN 1 %q \"l2tpvpn\" \"User Commands\"\n", manDate)
	b.WriteString(".SH NAME\nl2tpvpn \\- userspace L2TP/IPsec VPN client and server\n")
	overview, codes, _ := strings.Cut(usage, "Exit codes:")
	b.WriteString(".SH SYNOPSIS\n" + verbatim(overview))
	b.WriteString(".SH DESCRIPTION\n")
	b.WriteString("l2tpvpn negotiates IKEv1 and ESP itself (or lets strongSwan's charon do it), runs L2TPv2 and PPP, " +
		"and moves IP packets to a TUN device, or without root to an in-process network stack behind SOCKS5 and HTTP " +
		"proxies. The same binary serves (l2tpvpn serve).\n")
	b.WriteString(".SH COMMANDS\n")
	for _, c := range []string{"connect", "exec", "status", "disconnect", "list", "presets", "probe", "serve", "completion"} {
		var help bytes.Buffer
		helpFor(c, &help, io.Discard)
		b.WriteString(".SS " + c + "\n" + verbatim(help.String()))
	}
	b.WriteString(".SH EXIT STATUS\n" + verbatim("Exit codes:"+codes))
	b.WriteString(".SH FILES\n.TP\n/etc/l2tpvpn/NAME.toml, ~/.config/l2tpvpn/NAME.toml\nprofiles, see l2tpvpn.toml(5)\n" +
		".TP\n/run/l2tpvpn\ncontrol sockets, background logs and undo journals (root); $XDG_RUNTIME_DIR/l2tpvpn for other users\n")
	b.WriteString(".SH SEE ALSO\nl2tpvpn.toml(5), systemd.service(5)\n")
	return b.String()
}

func manSection5() string {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH L2TPVPN.TOML 5 %q \"l2tpvpn\" \"File Formats\"\n", manDate)
	b.WriteString(".SH NAME\nl2tpvpn.toml \\- connection profiles of l2tpvpn\n")
	b.WriteString(".SH DESCRIPTION\nA profile is a TOML file NAME.toml in $XDG_CONFIG_HOME/l2tpvpn (default " +
		"~/.config/l2tpvpn; under sudo, the invoking user's) or /etc/l2tpvpn, used by l2tpvpn connect NAME. Every key " +
		"is the connect flag of the same name, with the same values; flags given on the command line win over the " +
		"profile. Secrets (password, psk, l2tp-secret, otp) are \"env:VAR\", \"file:PATH\" or \"prompt\"; a literal " +
		"secret is accepted only in a file that only its owner may read. An unknown key, or a bad value, is an error " +
		"that names the file, the line and the key.\n")
	fs := connectFlags(&connectOpts{}, io.Discard)
	for _, group := range helpGroups {
		var keys []*pflag.Flag
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Hidden || annotation(f, "profile") == "no" || annotation(f, "group") != group {
				return
			}
			keys = append(keys, f)
		})
		if len(keys) == 0 {
			continue
		}
		b.WriteString(".SH " + strings.ToUpper(group) + "\n")
		for _, f := range keys {
			name, usage := pflag.UnquoteUsage(f)
			b.WriteString(".TP\n.B " + f.Name)
			if name != "" {
				b.WriteString(" = " + name)
			}
			b.WriteString("\n" + roffEscape(usage))
			if f.DefValue != "" && f.DefValue != "[]" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
				b.WriteString(" (default " + roffEscape(f.DefValue) + ")")
			}
			b.WriteString("\n")
		}
	}
	b.WriteString(".SH EXAMPLE\n" + verbatim("server = \"vpn.example.com\"\nuser = \"alice\"\npassword = \"prompt\"\n"+
		"psk = \"file:/etc/l2tpvpn/work.psk\"\nserver-type = \"windows-rras\"\nroute = [\"10.0.0.0/8\"]\n"))
	b.WriteString(".SH SEE ALSO\nl2tpvpn(1)\n")
	return b.String()
}

func annotation(f *pflag.Flag, key string) string {
	if v := f.Annotations[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}
