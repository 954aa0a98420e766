// Package server is `l2tpvpn serve`, the L2TP/IPsec server: it owns the
// sockets, demultiplexes clients and runs, per client, the protocol
// packages in their responder roles (ike.Responder, the l2tp LNS,
// ppp.ServerLink), with the address pool, the users file and the data
// path.
//
//	config.go   the configuration file (LoadConfig)
//	users.go    the users file (LoadUsers, UsersFile with Reload)
//	pool.go     the IPv4 address pool handed out by IPCP (Pool)
package server
