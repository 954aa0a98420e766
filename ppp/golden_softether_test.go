package ppp

// Golden PPP packets sent by a real server, from /work/shared/captures/se-l2tp-ppp-pap.pcap and
// se-l2tp-ppp-mschapv2.pcap. Each frame is the PPP part of an L2TP data message (FF 03,
// protocol, packet); the comment above it is the whole captured frame as
// printed by `tshark -r X.pcap -x -d udp.port==1701,l2tp`.

var goldenSoftEtherVectors = []golden{
	{
		// se-l2tp-ppp-pap.pcap frame 10, from 192.0.2.1: LCP Configure-Request asking for EAP
		// 0000  0a 3b d7 b6 24 3f f6 3f 63 27 11 d7 08 00 45 00   .;..$?.?c'....E.
		// 0010  00 30 53 42 40 00 40 11 63 77 c0 00 02 01 c0 00   .0SB@.@.cw......
		// 0020  02 02 06 a5 06 a5 00 1c 84 31 40 02 00 14 d5 6c   .........1@....l
		// 0030  f4 6c ff 03 c0 21 01 00 00 08 03 04 c2 27         .l...!.......'
		name:  "se-pap/10",
		frame: "ff03c021010000080304c227",
		want:  lcp(CodeConfigureRequest, 0, opt(3, "c227")),
	},
	{
		// se-l2tp-ppp-pap.pcap frame 11, from 192.0.2.1: LCP Echo-Request with magic 0, before LCP is open
		// 0000  0a 3b d7 b6 24 3f f6 3f 63 27 11 d7 08 00 45 00   .;..$?.?c'....E.
		// 0010  00 40 53 43 40 00 40 11 63 66 c0 00 02 01 c0 00   .@SC@.@.cf......
		// 0020  02 02 06 a5 06 a5 00 2c 84 41 40 02 00 24 d5 6c   .......,.A@..$.l
		// 0030  f4 6c ff 03 c0 21 09 00 00 18 00 00 00 00 41 68   .l...!........Ah
		// 0040  6f 20 42 61 6b 61 20 4d 61 6e 75 6b 65 00         o Baka Manuke.
		name:  "se-pap/11",
		frame: "ff03c021090000180000000041686f2042616b61204d616e756b6500",
		want:  raw(CodeEchoRequest, 0, "0000000041686f2042616b61204d616e756b6500"),
	},
	{
		// se-l2tp-ppp-pap.pcap frame 12, from 192.0.2.1: LCP Configure-Reject of our Magic-Number
		// 0000  0a 3b d7 b6 24 3f f6 3f 63 27 11 d7 08 00 45 00   .;..$?.?c'....E.
		// 0010  00 32 53 44 40 00 40 11 63 73 c0 00 02 01 c0 00   .2SD@.@.cs......
		// 0020  02 02 06 a5 06 a5 00 1e 84 33 40 02 00 16 d5 6c   .........3@....l
		// 0030  f4 6c ff 03 c0 21 04 01 00 0a 05 06 2c 40 1b 64   .l...!......,@.d
		name:  "se-pap/12",
		frame: "ff03c0210401000a05062c401b64",
		want:  lcp(CodeConfigureReject, 1, opt(5, "2c401b64")),
	},
	{
		// se-l2tp-ppp-pap.pcap frame 16, from 192.0.2.1: LCP Configure-Request asking for MS-CHAPv2
		// 0000  0a 3b d7 b6 24 3f f6 3f 63 27 11 d7 08 00 45 00   .;..$?.?c'....E.
		// 0010  00 31 53 45 40 00 40 11 63 73 c0 00 02 01 c0 00   .1SE@.@.cs......
		// 0020  02 02 06 a5 06 a5 00 1d 84 32 40 02 00 15 d5 6c   .........2@....l
		// 0030  f4 6c ff 03 c0 21 01 01 00 09 03 05 c2 23 81      .l...!.......#.
		name:  "se-pap/16",
		frame: "ff03c021010100090305c22381",
		want:  lcp(CodeConfigureRequest, 1, opt(3, "c22381")),
	},
	{
		// se-l2tp-ppp-pap.pcap frame 18, from 192.0.2.1: LCP Configure-Ack of MRU 1400
		// 0000  0a 3b d7 b6 24 3f f6 3f 63 27 11 d7 08 00 45 00   .;..$?.?c'....E.
		// 0010  00 30 53 8e 40 00 40 11 63 2b c0 00 02 01 c0 00   .0S.@.@.c+......
		// 0020  02 02 06 a5 06 a5 00 1c 84 31 40 02 00 14 d5 6c   .........1@....l
		// 0030  f4 6c ff 03 c0 21 02 02 00 08 01 04 05 78         .l...!.......x
		name:  "se-pap/18",
		frame: "ff03c0210202000801040578",
		want:  lcp(CodeConfigureAck, 2, opt(1, "0578")),
	},
	{
		// se-l2tp-ppp-pap.pcap frame 19, from 192.0.2.1: LCP Configure-Request asking for PAP
		// 0000  0a 3b d7 b6 24 3f f6 3f 63 27 11 d7 08 00 45 00   .;..$?.?c'....E.
		// 0010  00 30 53 cc 40 00 40 11 62 ed c0 00 02 01 c0 00   .0S.@.@.b.......
		// 0020  02 02 06 a5 06 a5 00 1c 84 31 40 02 00 14 d5 6c   .........1@....l
		// 0030  f4 6c ff 03 c0 21 01 02 00 08 03 04 c0 23         .l...!.......#
		name:  "se-pap/19",
		frame: "ff03c021010200080304c023",
		want:  lcp(CodeConfigureRequest, 2, opt(3, "c023")),
	},
	{
		// se-l2tp-ppp-pap.pcap frame 22, from 192.0.2.1: PAP Authenticate-Ack of length 4, without Msg-Length
		// 0000  0a 3b d7 b6 24 3f f6 3f 63 27 11 d7 08 00 45 00   .;..$?.?c'....E.
		// 0010  00 2c 53 d9 40 00 40 11 62 e4 c0 00 02 01 c0 00   .,S.@.@.b.......
		// 0020  02 02 06 a5 06 a5 00 18 84 2d 40 02 00 10 d5 6c   .........-@....l
		// 0030  f4 6c ff 03 c0 23 02 01 00 04                     .l...#....
		name:  "se-pap/22",
		frame: "ff03c02302010004",
		want:  PAPPacket{Code: PAPAuthenticateAck, ID: 1, NoMsgLength: true},
	},
	{
		// se-l2tp-ppp-pap.pcap frame 24, from 192.0.2.1: IPCP Configure-Nak: 0.0.0.0 → 198.51.100.10
		// 0000  0a 3b d7 b6 24 3f f6 3f 63 27 11 d7 08 00 45 00   .;..$?.?c'....E.
		// 0010  00 32 54 3b 40 00 40 11 62 7c c0 00 02 01 c0 00   .2T;@.@.b|......
		// 0020  02 02 06 a5 06 a5 00 1e 84 33 40 02 00 16 d5 6c   .........3@....l
		// 0030  f4 6c ff 03 80 21 03 01 00 0a 03 06 c6 33 64 0a   .l...!.......3d.
		name:  "se-pap/24",
		frame: "ff0380210301000a0306c633640a",
		want:  lcp(CodeConfigureNak, 1, opt(3, "c633640a")),
	},
	{
		// se-l2tp-ppp-pap.pcap frame 25, from 192.0.2.1: IPCP Configure-Request, server address 198.51.100.1
		// 0000  0a 3b d7 b6 24 3f f6 3f 63 27 11 d7 08 00 45 00   .;..$?.?c'....E.
		// 0010  00 32 54 3c 40 00 40 11 62 7b c0 00 02 01 c0 00   .2T<@.@.b{......
		// 0020  02 02 06 a5 06 a5 00 1e 84 33 40 02 00 16 d5 6c   .........3@....l
		// 0030  f4 6c ff 03 80 21 01 03 00 0a 03 06 c6 33 64 01   .l...!.......3d.
		name:  "se-pap/25",
		frame: "ff0380210103000a0306c6336401",
		want:  lcp(CodeConfigureRequest, 3, opt(3, "c6336401")),
	},
	{
		// se-l2tp-ppp-pap.pcap frame 28, from 192.0.2.1: IPCP Configure-Ack of 198.51.100.10
		// 0000  0a 3b d7 b6 24 3f f6 3f 63 27 11 d7 08 00 45 00   .;..$?.?c'....E.
		// 0010  00 32 54 bd 40 00 40 11 61 fa c0 00 02 01 c0 00   .2T.@.@.a.......
		// 0020  02 02 06 a5 06 a5 00 1e 84 33 40 02 00 16 d5 6c   .........3@....l
		// 0030  f4 6c ff 03 80 21 02 02 00 0a 03 06 c6 33 64 0a   .l...!.......3d.
		name:  "se-pap/28",
		frame: "ff0380210202000a0306c633640a",
		want:  lcp(CodeConfigureAck, 2, opt(3, "c633640a")),
	},
	{
		// se-l2tp-ppp-mschapv2.pcap frame 18, from 192.0.2.1: MS-CHAPv2 Challenge from "vm"
		// 0000  0a 3b d7 b6 24 3f f6 3f 63 27 11 d7 08 00 45 00   .;..$?.?c'....E.
		// 0010  00 3f 59 e7 40 00 40 11 5c c3 c0 00 02 01 c0 00   .?Y.@.@.\.......
		// 0020  02 02 06 a5 06 a5 00 2b 84 40 40 02 00 23 5d b3   .......+.@@..#].
		// 0030  21 43 ff 03 c2 23 01 02 00 17 10 43 1c 64 17 95   !C...#.....C.d..
		// 0040  5e 56 0c 61 a9 4f 72 bc 84 65 b3 76 6d            ^V.a.Or..e.vm
		name:  "se-mschapv2/18",
		frame: "ff03c2230102001710431c6417955e560c61a94f72bc8465b3766d",
		want:  CHAPPacket{Code: CHAPChallenge, ID: 2, Value: unhex("431c6417955e560c61a94f72bc8465b3"), Name: []byte("vm")},
	},
	{
		// se-l2tp-ppp-mschapv2.pcap frame 19, from 192.0.2.2: MS-CHAPv2 Response of the probe client (user pfuser)
		// 0000  f6 3f 63 27 11 d7 0a 3b d7 b6 24 3f 08 00 45 00   .?c'...;..$?..E.
		// 0010  00 64 b3 ab 40 00 40 11 02 da c0 00 02 02 c0 00   .d..@.@.........
		// 0020  02 01 06 a5 06 a5 00 50 84 65 40 02 00 48 00 01   .......P.e@..H..
		// 0030  00 01 ff 03 c2 23 02 02 00 3c 31 71 1b 06 7c 04   .....#...<1q..|.
		// 0040  e0 67 94 f9 3e 31 ef d7 b3 d8 50 00 00 00 00 00   .g..>1....P.....
		// 0050  00 00 00 a0 be 1c ac 14 c2 d3 d9 5e c2 c2 4d d1   ...........^..M.
		// 0060  52 15 52 a9 da ba 8d bc bf 25 d3 00 70 66 75 73   R.R......%..pfus
		// 0070  65 72                                             er
		name:  "se-mschapv2/19",
		frame: "ff03c2230202003c31711b067c04e06794f93e31efd7b3d8500000000000000000a0be1cac14c2d3d95ec2c24dd1521552a9daba8dbcbf25d300706675736572",
		want:  CHAPPacket{Code: CHAPResponse, ID: 2, Value: unhex("711b067c04e06794f93e31efd7b3d8500000000000000000a0be1cac14c2d3d95ec2c24dd1521552a9daba8dbcbf25d300"), Name: []byte("pfuser")},
	},
	{
		// se-l2tp-ppp-mschapv2.pcap frame 20, from 192.0.2.1: MS-CHAPv2 Success with the authenticator response
		// 0000  0a 3b d7 b6 24 3f f6 3f 63 27 11 d7 08 00 45 00   .;..$?.?c'....E.
		// 0010  00 56 59 f6 40 00 40 11 5c 9d c0 00 02 01 c0 00   .VY.@.@.\.......
		// 0020  02 02 06 a5 06 a5 00 42 84 57 40 02 00 3a 5d b3   .......B.W@..:].
		// 0030  21 43 ff 03 c2 23 03 02 00 2e 53 3d 35 38 34 46   !C...#....S=584F
		// 0040  39 41 44 39 43 43 33 31 41 45 32 43 37 42 42 36   9AD9CC31AE2C7BB6
		// 0050  35 35 36 32 41 36 46 35 30 45 32 43 37 33 35 46   5562A6F50E2C735F
		// 0060  45 33 30 33                                       E303
		name:  "se-mschapv2/20",
		frame: "ff03c2230302002e533d35383446394144394343333141453243374242363535363241364635304532433733354645333033",
		want:  CHAPPacket{Code: CHAPSuccess, ID: 2, Message: []byte("S=584F9AD9CC31AE2C7BB65562A6F50E2C735FE303")},
	},
	{
		// se-l2tp-ppp-mschapv2.pcap frame 33, from 192.0.2.1: LCP Terminate-Ack
		// 0000  0a 3b d7 b6 24 3f f6 3f 63 27 11 d7 08 00 45 00   .;..$?.?c'....E.
		// 0010  00 2c 5a 28 40 00 40 11 5c 95 c0 00 02 01 c0 00   .,Z(@.@.\.......
		// 0020  02 02 06 a5 06 a5 00 18 84 2d 40 02 00 10 5d b3   .........-@...].
		// 0030  21 43 ff 03 c0 21 06 63 00 04                     !C...!.c..
		name:  "se-mschapv2/33",
		frame: "ff03c02106630004",
		want:  raw(CodeTerminateAck, 0x63, ""),
	},
}
