package main

// Server-family presets (profile key server-type): the settings each family
// of L2TP/IPsec server needs from a client, from what the family documents
// for the clients it supports. A preset only fills in keys the profile and
// the command line leave unset: explicit settings always win.

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// serverType is one family's preset.
type serverType struct {
	Name   string
	About  string
	Source string
	Sets   []presetSetting // in the order they are shown
}

// presetSetting is one key and its value as a flag takes it.
type presetSetting struct{ Key, Value string }

var serverTypes = map[string]serverType{
	"generic": {
		Name:   "generic",
		About:  "no assumptions: the built-in defaults (the union of the Windows and macOS offers, no PFS, chap and mschapv2 (and pap inside IPsec), local-port auto)",
		Source: "this project's defaults",
	},
	"windows-rras": {
		Name: "windows-rras",
		About: "Windows Server Routing and Remote Access: the offer of the Windows client it is built for, no PFS, MS-CHAPv2 " +
			"(user may be DOMAIN\\user), routes and domain from DHCPINFORM, the class-based route as Windows adds it",
		Source: "Microsoft KB 325158 (L2TP/IPsec transforms: 3DES/AES, SHA-1, DH group 2/14, transport mode, no PFS); Microsoft Learn, " +
			"RRAS remote access authentication (MS-CHAP v2 is the default PPP method); Microsoft Learn, DHCP for remote access " +
			"clients (the client sends DHCPINFORM after connecting for option 249 routes and option 15 domain, and adds the " +
			"class-based route of its address unless that is disabled)",
		Sets: []presetSetting{{"proposals", "windows"}, {"pfs", "none"}, {"esp-mode", "transport"}, {"auth", "mschapv2"},
			{"dhcp-inform", "on"}, {"class-route", "true"}},
	},
	"meraki": {
		Name:  "meraki",
		About: "Cisco Meraki MX client VPN: 3DES or AES-128 with SHA-1 and DH group 2 in phase 1, no PFS, PAP inside IPsec",
		Source: "Cisco Meraki documentation, Client VPN Overview and Client VPN troubleshooting (L2TP over IPsec; phase 1 3DES/SHA1 " +
			"DH group 2, phase 2 AES128/3DES with SHA1, PFS off; users authenticate with PAP, which the IPsec SA protects)",
		Sets: []presetSetting{{"ike", "3des-sha1-modp1024,aes128-sha1-modp1024"}, {"esp", "aes128-sha1,3des-sha1"},
			{"pfs", "none"}, {"esp-mode", "transport"}, {"auth", "pap"}},
	},
	"mikrotik": {
		Name: "mikrotik",
		About: "MikroTik RouterOS L2TP server with use-ipsec: its default IPsec profile and proposal (PFS when the proposal " +
			"asks for it), MRU 1450, MS-CHAPv2 or CHAP, MPPE accepted when the PPP profile requires it",
		Source: "MikroTik RouterOS manual, L2TP (max-mtu and max-mru 1450, authentication mschap1/mschap2 by default, the " +
			"default-encryption PPP profile requires MPPE) and IP/IPsec (default profile sha1 with aes-128/3des and " +
			"modp2048/modp1024; default proposal sha1 with aes-256/192/128-cbc and pfs-group modp1024)",
		Sets: []presetSetting{{"ike", "aes128-sha1-modp2048,aes128-sha1-modp1024,3des-sha1-modp2048,3des-sha1-modp1024"},
			{"esp", "aes256-sha1,aes192-sha1,aes128-sha1"}, {"pfs", "auto"}, {"esp-mode", "transport"},
			{"auth", "mschapv2,chap"}, {"mru", "1450"}, {"mppe", "allow"}},
	},
	"fortigate": {
		Name:  "fortigate",
		About: "FortiGate L2TP over IPsec: the phase 1 and 2 proposals of Fortinet's L2TP dial-up example, DH group 2, no PFS, transport mode",
		Source: "Fortinet FortiOS Administration Guide, L2TP over IPsec (phase1-interface proposal aes256-md5 3des-sha1 aes192-sha1, " +
			"dhgrp 2; phase2 the same proposals, pfs disable, encapsulation transport-mode)",
		Sets: []presetSetting{{"ike", "aes256-md5-modp1024,3des-sha1-modp1024,aes192-sha1-modp1024"},
			{"esp", "aes256-md5,3des-sha1,aes192-sha1"}, {"pfs", "none"}, {"esp-mode", "transport"}},
	},
	"sonicwall": {
		Name:  "sonicwall",
		About: "SonicWall WAN GroupVPN with the L2TP server: 3DES (or AES) with SHA-1 and DH group 2, no PFS",
		Source: "SonicWall knowledge base, configuring the L2TP server for Windows clients (WAN GroupVPN: IKE DH group 2, " +
			"3DES, SHA1; ESP 3DES with HMAC SHA1, PFS off; PPP authentication MS-CHAPv2, CHAP, MS-CHAP, PAP)",
		Sets: []presetSetting{{"ike", "3des-sha1-modp1024,aes256-sha1-modp1024,aes128-sha1-modp1024"},
			{"esp", "3des-sha1,aes256-sha1,aes128-sha1"}, {"pfs", "none"}, {"esp-mode", "transport"}, {"auth", "mschapv2,chap,pap"}},
	},
	"unifi": {
		Name:  "unifi",
		About: "Ubiquiti UniFi gateway L2TP server: set up for the Windows, macOS and iOS clients, MS-CHAPv2",
		Source: "Ubiquiti Help Center, UniFi Gateway L2TP remote access VPN (pre-shared key, user name and password with " +
			"MS-CHAP v2, clients: the built-in Windows, macOS and iOS ones, so their offers are accepted)",
		Sets: []presetSetting{{"pfs", "none"}, {"esp-mode", "transport"}, {"auth", "mschapv2"}},
	},
	"cisco-ios": {
		Name:  "cisco-ios",
		About: "Cisco IOS/IOS-XE VPDN L2TP/IPsec for Windows clients: 3DES or AES with SHA-1 (or MD5), DH group 2, transport mode, no PFS",
		Source: "Cisco IOS Security Configuration Guide, L2TP over IPsec for Windows clients (crypto isakmp policy 3des/sha/group 2, " +
			"transform set esp-3des esp-sha-hmac mode transport, vpdn accept-dialin protocol l2tp, ppp authentication ms-chap-v2)",
		Sets: []presetSetting{{"ike", "3des-sha1-modp1024,aes128-sha1-modp1024,3des-md5-modp1024"},
			{"esp", "3des-sha1,aes128-sha1,3des-md5"}, {"pfs", "none"}, {"esp-mode", "transport"}, {"auth", "mschapv2,chap"}},
	},
	"softether": {
		Name: "softether",
		About: "SoftEther VPN Server's L2TP/IPsec: AES with SHA-2 or SHA-1, transport mode, no PFS, MS-CHAPv2 or CHAP (user@HUB picks the hub), " +
			"routes and domain from SecureNAT's DHCP by DHCPINFORM",
		Source: "SoftEther VPN manual, 3.9 L2TP/IPsec (PSK, transport mode, PAP/CHAP/MS-CHAPv2, user@HUB), and SoftEther 5.01 in " +
			"this project's lab (accepts these proposals; answers DHCPINFORM with SecureNAT's classless routes and domain)",
		Sets: []presetSetting{{"ike", "aes256-sha256-modp2048,aes128-sha1-modp2048,3des-sha1-modp1024"},
			{"esp", "aes256-sha1,aes128-sha1,3des-sha1"}, {"pfs", "none"}, {"esp-mode", "transport"}, {"auth", "mschapv2,chap"},
			{"dhcp-inform", "on"}},
	},
	"libreswan": {
		Name:  "libreswan",
		About: "Libreswan (or Openswan) with xl2tpd: Libreswan's IKEv1 algorithms, no PFS, transport mode with udp/1701 selectors",
		Source: "Libreswan wiki, VPN server for remote clients using IKEv1 with L2TP (conn type=transport, leftprotoport=17/1701, " +
			"pfs=no) and Libreswan's ipsec.conf(5) defaults for ike= and phase2alg= (AES with SHA-2 or SHA-1, MODP 2048 or 1024)",
		Sets: []presetSetting{{"ike", "aes256-sha256-modp2048,aes128-sha256-modp2048,aes256-sha1-modp2048,aes128-sha1-modp2048,aes256-sha256-modp1024,aes128-sha1-modp1024"},
			{"esp", "aes256-sha256,aes128-sha256,aes256-sha1,aes128-sha1"}, {"pfs", "none"}, {"esp-mode", "transport"}},
	},
}

// serverTypeNames lists the presets, sorted.
func serverTypeNames() []string { return slices.Sorted(maps.Keys(serverTypes)) }

func lookupServerType(name string) (serverType, error) {
	st, ok := serverTypes[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return serverType{}, fmt.Errorf("unknown server type %q (known: %s; see l2tpvpn presets)", name, strings.Join(serverTypeNames(), ", "))
	}
	return st, nil
}

// applyServerType fills the keys the preset sets and neither the profile
// nor the command line gave. An explicit proposals preset also keeps the
// server type's ike and esp lists out.
func (o *connectOpts) applyServerType() error {
	if o.serverType == "" {
		return nil
	}
	st, err := lookupServerType(o.serverType)
	if err != nil {
		return o.keyErr("server-type", err)
	}
	proposals := o.set("proposals")
	for _, s := range st.Sets {
		if o.set(s.Key) || proposals && (s.Key == "ike" || s.Key == "esp") {
			continue
		}
		if err := o.fs.Set(s.Key, s.Value); err != nil {
			return fmt.Errorf("server-type %s: %s = %q: %w (a bug in the preset)", st.Name, s.Key, s.Value, err)
		}
		o.fromPreset = append(o.fromPreset, s.Key)
	}
	return nil
}
