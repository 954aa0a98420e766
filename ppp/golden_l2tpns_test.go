package ppp

// Golden PPP packets sent by a real server, from /work/shared/captures/l2tpns-l2tp-ppp-pap.pcap and
// l2tpns-l2tp-ppp-chap.pcap. Each frame is the PPP part of an L2TP data message (FF 03,
// protocol, packet); the comment above it is the whole captured frame as
// printed by `tshark -r X.pcap -x -d udp.port==1701,l2tp`.

var goldenL2TPNSVectors = []golden{
	{
		// l2tpns-l2tp-ppp-pap.pcap frame 10, from 203.0.113.1: LCP Configure-Request: MRU 1462, PAP, Magic, MRRU, Endpoint-Discriminator
		// 0000  9a 1b 2d a8 69 13 2e 9e 48 7a c9 8e 08 00 45 00   ..-.i...Hz....E.
		// 0010  00 43 72 c5 40 00 40 11 4f e0 cb 00 71 01 cb 00   .Cr.@.@.O...q...
		// 0020  71 02 06 a5 06 a5 00 2f 78 45 00 02 f6 84 42 4f   q....../xE....BO
		// 0030  ff 03 c0 21 01 01 00 1d 01 04 05 b6 03 04 c0 23   ...!...........#
		// 0040  05 06 6b 05 06 cf 11 04 06 4e 13 07 02 cb 00 71   ..k......N.....q
		// 0050  01                                                .
		name:  "l2tpns-pap/10",
		frame: "ff03c0210101001d010405b60304c02305066b0506cf1104064e130702cb007101",
		want:  lcp(CodeConfigureRequest, 1, opt(1, "05b6"), opt(3, "c023"), opt(5, "6b0506cf"), opt(17, "064e"), opt(19, "02cb007101")),
	},
	{
		// l2tpns-l2tp-ppp-pap.pcap frame 11, from 203.0.113.1: LCP Configure-Ack of MRU 1400 and Magic
		// 0000  9a 1b 2d a8 69 13 2e 9e 48 7a c9 8e 08 00 45 00   ..-.i...Hz....E.
		// 0010  00 34 72 c6 40 00 40 11 4f ee cb 00 71 01 cb 00   .4r.@.@.O...q...
		// 0020  71 02 06 a5 06 a5 00 20 78 36 00 02 f6 84 42 4f   q...... x6....BO
		// 0030  ff 03 c0 21 02 01 00 0e 01 04 05 78 05 06 cc 07   ...!.......x....
		// 0040  78 db                                             x.
		name:  "l2tpns-pap/11",
		frame: "ff03c0210201000e010405780506cc0778db",
		want:  lcp(CodeConfigureAck, 1, opt(1, "0578"), opt(5, "cc0778db")),
	},
	{
		// l2tpns-l2tp-ppp-pap.pcap frame 13, from 203.0.113.1: LCP Configure-Request without the multilink options
		// 0000  9a 1b 2d a8 69 13 2e 9e 48 7a c9 8e 08 00 45 00   ..-.i...Hz....E.
		// 0010  00 38 72 c7 40 00 40 11 4f e9 cb 00 71 01 cb 00   .8r.@.@.O...q...
		// 0020  71 02 06 a5 06 a5 00 24 78 3a 00 02 f6 84 42 4f   q......$x:....BO
		// 0030  ff 03 c0 21 01 02 00 12 01 04 05 b6 03 04 c0 23   ...!...........#
		// 0040  05 06 6b 05 06 cf                                 ..k...
		name:  "l2tpns-pap/13",
		frame: "ff03c02101020012010405b60304c02305066b0506cf",
		want:  lcp(CodeConfigureRequest, 2, opt(1, "05b6"), opt(3, "c023"), opt(5, "6b0506cf")),
	},
	{
		// l2tpns-l2tp-ppp-pap.pcap frame 16, from 203.0.113.1: PAP Authenticate-Ack with an empty message
		// 0000  9a 1b 2d a8 69 13 2e 9e 48 7a c9 8e 08 00 45 00   ..-.i...Hz....E.
		// 0010  00 2b 72 c8 40 00 40 11 4f f5 cb 00 71 01 cb 00   .+r.@.@.O...q...
		// 0020  71 02 06 a5 06 a5 00 17 78 2d 00 02 f6 84 42 4f   q.......x-....BO
		// 0030  ff 03 c0 23 02 01 00 05 00                        ...#.....
		name:  "l2tpns-pap/16",
		frame: "ff03c0230201000500",
		want:  PAPPacket{Code: PAPAuthenticateAck, ID: 1, Message: []byte{}},
	},
	{
		// l2tpns-l2tp-ppp-pap.pcap frame 17, from 203.0.113.1: IPCP Configure-Request, server address 203.0.113.1
		// 0000  9a 1b 2d a8 69 13 2e 9e 48 7a c9 8e 08 00 45 00   ..-.i...Hz....E.
		// 0010  00 30 72 c9 40 00 40 11 4f ef cb 00 71 01 cb 00   .0r.@.@.O...q...
		// 0020  71 02 06 a5 06 a5 00 1c 78 32 00 02 f6 84 42 4f   q.......x2....BO
		// 0030  ff 03 80 21 01 01 00 0a 03 06 cb 00 71 01         ...!........q.
		name:  "l2tpns-pap/17",
		frame: "ff0380210101000a0306cb007101",
		want:  lcp(CodeConfigureRequest, 1, opt(3, "cb007101")),
	},
	{
		// l2tpns-l2tp-ppp-pap.pcap frame 20, from 203.0.113.1: IPCP Configure-Nak: 0.0.0.0 → 203.0.113.192
		// 0000  9a 1b 2d a8 69 13 2e 9e 48 7a c9 8e 08 00 45 00   ..-.i...Hz....E.
		// 0010  00 30 72 ca 40 00 40 11 4f ee cb 00 71 01 cb 00   .0r.@.@.O...q...
		// 0020  71 02 06 a5 06 a5 00 1c 78 32 00 02 f6 84 42 4f   q.......x2....BO
		// 0030  ff 03 80 21 03 01 00 0a 03 06 cb 00 71 c0         ...!........q.
		name:  "l2tpns-pap/20",
		frame: "ff0380210301000a0306cb0071c0",
		want:  lcp(CodeConfigureNak, 1, opt(3, "cb0071c0")),
	},
	{
		// l2tpns-l2tp-ppp-pap.pcap frame 22, from 203.0.113.1: IPCP Configure-Ack of 203.0.113.192
		// 0000  9a 1b 2d a8 69 13 2e 9e 48 7a c9 8e 08 00 45 00   ..-.i...Hz....E.
		// 0010  00 30 72 cb 40 00 40 11 4f ed cb 00 71 01 cb 00   .0r.@.@.O...q...
		// 0020  71 02 06 a5 06 a5 00 1c 78 32 00 02 f6 84 42 4f   q.......x2....BO
		// 0030  ff 03 80 21 02 02 00 0a 03 06 cb 00 71 c0         ...!........q.
		name:  "l2tpns-pap/22",
		frame: "ff0380210202000a0306cb0071c0",
		want:  lcp(CodeConfigureAck, 2, opt(3, "cb0071c0")),
	},
	{
		// l2tpns-l2tp-ppp-pap.pcap frame 28, from 203.0.113.1: LCP Terminate-Ack
		// 0000  9a 1b 2d a8 69 13 2e 9e 48 7a c9 8e 08 00 45 00   ..-.i...Hz....E.
		// 0010  00 2a 72 cd 40 00 40 11 4f f1 cb 00 71 01 cb 00   .*r.@.@.O...q...
		// 0020  71 02 06 a5 06 a5 00 16 78 2c 00 02 f6 84 42 4f   q.......x,....BO
		// 0030  ff 03 c0 21 06 63 00 04                           ...!.c..
		name:  "l2tpns-pap/28",
		frame: "ff03c02106630004",
		want:  raw(CodeTerminateAck, 0x63, ""),
	},
	{
		// l2tpns-l2tp-ppp-chap.pcap frame 15, from 203.0.113.1: LCP Configure-Request after our Nak towards CHAP-MD5
		// 0000  9a 1b 2d a8 69 13 2e 9e 48 7a c9 8e 08 00 45 00   ..-.i...Hz....E.
		// 0010  00 39 73 52 40 00 40 11 4f 5d cb 00 71 01 cb 00   .9sR@.@.O]..q...
		// 0020  71 02 06 a5 06 a5 00 25 78 3b 00 02 11 43 75 bf   q......%x;...Cu.
		// 0030  ff 03 c0 21 01 03 00 13 01 04 05 b6 03 05 c2 23   ...!...........#
		// 0040  05 05 06 6b 05 06 d4                              ...k...
		name:  "l2tpns-chap/15",
		frame: "ff03c02101030013010405b60305c2230505066b0506d4",
		want:  lcp(CodeConfigureRequest, 3, opt(1, "05b6"), opt(3, "c22305"), opt(5, "6b0506d4")),
	},
	{
		// l2tpns-l2tp-ppp-chap.pcap frame 17, from 203.0.113.1: CHAP-MD5 Challenge from "vm"
		// 0000  9a 1b 2d a8 69 13 2e 9e 48 7a c9 8e 08 00 45 00   ..-.i...Hz....E.
		// 0010  00 3d 73 53 40 00 40 11 4f 58 cb 00 71 01 cb 00   .=sS@.@.OX..q...
		// 0020  71 02 06 a5 06 a5 00 29 78 3f 00 02 11 43 75 bf   q......)x?...Cu.
		// 0030  ff 03 c2 23 01 01 00 17 10 ea 0a 40 42 a4 7d 24   ...#.......@B.}$
		// 0040  f3 3b 38 a5 fe 2f ab c8 0f 76 6d                  .;8../...vm
		name:  "l2tpns-chap/17",
		frame: "ff03c2230101001710ea0a4042a47d24f33b38a5fe2fabc80f766d",
		want:  CHAPPacket{Code: CHAPChallenge, ID: 1, Value: unhex("ea0a4042a47d24f33b38a5fe2fabc80f"), Name: []byte("vm")},
	},
	{
		// l2tpns-l2tp-ppp-chap.pcap frame 18, from 203.0.113.2: CHAP-MD5 Response of the probe client (user pfuser)
		// 0000  2e 9e 48 7a c9 8e 9a 1b 2d a8 69 13 08 00 45 00   ..Hz....-.i...E.
		// 0010  00 43 6f eb 40 00 40 11 52 ba cb 00 71 02 cb 00   .Co.@.@.R...q...
		// 0020  71 01 06 a5 06 a5 00 2f 78 45 40 02 00 27 00 03   q....../xE@..'..
		// 0030  00 02 ff 03 c2 23 02 01 00 1b 10 f5 4b a2 03 c5   .....#......K...
		// 0040  0c 14 d9 31 03 36 5e 0d 60 14 33 70 66 75 73 65   ...1.6^.`.3pfuse
		// 0050  72                                                r
		name:  "l2tpns-chap/18",
		frame: "ff03c2230201001b10f54ba203c50c14d93103365e0d601433706675736572",
		want:  CHAPPacket{Code: CHAPResponse, ID: 1, Value: unhex("f54ba203c50c14d93103365e0d601433"), Name: []byte("pfuser")},
	},
	{
		// l2tpns-l2tp-ppp-chap.pcap frame 19, from 203.0.113.1: CHAP Success of length 4, no message
		// 0000  9a 1b 2d a8 69 13 2e 9e 48 7a c9 8e 08 00 45 00   ..-.i...Hz....E.
		// 0010  00 2a 73 54 40 00 40 11 4f 6a cb 00 71 01 cb 00   .*sT@.@.Oj..q...
		// 0020  71 02 06 a5 06 a5 00 16 78 2c 00 02 11 43 75 bf   q.......x,...Cu.
		// 0030  ff 03 c2 23 03 01 00 04                           ...#....
		name:  "l2tpns-chap/19",
		frame: "ff03c22303010004",
		want:  CHAPPacket{Code: CHAPSuccess, ID: 1, Message: []byte{}},
	},
}
