// Golden data: extracted once from /work/shared/captures/*.vectors.json (decrypted plaintexts and payload lists).

package ike

// Decrypted plaintexts of encrypted IKE messages, as recorded in the captures' vectors.json
// (MM5/MM6 and every Quick Mode / Informational message) with the payload list the capture
// tooling found; padding after the last payload is part of the plaintext.

type goldenPlain struct {
	name     string
	first    PayloadType
	payloads []string
	plain    string
}

var goldenPlaintexts = []goldenPlain{
	{name: "se-mm-qm-transport MM5", first: PayloadID, payloads: []string{"ID", "HASH"}, plain: "" +
		"0800000c01000000c000020200000018c1c4b33663ae6c6ace7036739990fab6" +
		"9efa232c000000000000000000000000"},
	{name: "se-mm-qm-transport MM6", first: PayloadID, payloads: []string{"ID", "HASH"}, plain: "" +
		"0800000c0100000000000000000000180298732dec621b0119dccb720de57946" +
		"1ff1c0050102030405060708090a0b0c"},
	{name: "se-mm-qm-transport frame 7", first: PayloadHash, payloads: []string{"HASH", "SA", "NONCE", "ID", "ID", "NAT-OA", "NAT-OA"}, plain: "" +
		"0100001840341b4f3e8c99db9fef8711d5cab0b9bf543b970a00006800000001" +
		"000000010000005c0103040308e2676a0300001c010c00008006008080050002" +
		"800400048001000180020f780300001c020c0000800601008005000280040004" +
		"8001000180020f78000000180303000080050002800400048001000180020f78" +
		"0500002498bc7748663c938f36c3d3262a64761b126207c14e383f5eab3fc8b7" +
		"101944930500000c011106a5c00002021500000c011106a5c00002011500000c" +
		"01000000c00002020000000c01000000c0000201000000000000000000000000"},
	{name: "se-mm-qm-transport frame 8", first: PayloadHash, payloads: []string{"HASH", "SA", "NONCE", "ID", "ID", "NAT-OA", "NAT-OA"}, plain: "" +
		"010000189aaf357e1acb0bf868d2e465daec65d8a00155220a00003400000001" +
		"000000010000002801030401a84859260000001c010c00008005000280010001" +
		"80020f7880060080800400040500001493c43c1ae0122dff06337b24842d9c13" +
		"0500000c011106a5c00002021500000c011106a5c00002011500000c01000000" +
		"c00002020000000c0100000000000000"},
	{name: "se-mm-qm-transport frame 9", first: PayloadHash, payloads: []string{"HASH", "N"}, plain: "" +
		"0b000018ec4ac73c30bf24a8201945bd0be81ff5697e058a0000001000000001" +
		"0304000e08e2676a0000000000000000"},
	{name: "se-mm-qm-transport frame 10", first: PayloadHash, payloads: []string{"HASH", "SA", "NONCE", "ID", "ID", "NAT-OA", "NAT-OA"}, plain: "" +
		"010000189aaf357e1acb0bf868d2e465daec65d8a00155220a00003400000001" +
		"000000010000002801030401a84859260000001c010c00008005000280010001" +
		"80020f7880060080800400040500001493c43c1ae0122dff06337b24842d9c13" +
		"0500000c011106a5c00002021500000c011106a5c00002011500000c01000000" +
		"c00002020000000c0100000000000000"},
	{name: "se-mm-qm-transport frame 11", first: PayloadHash, payloads: []string{"HASH", "SA", "NONCE", "ID", "ID", "NAT-OA", "NAT-OA"}, plain: "" +
		"01000018b9dea3786ac73905f9cc626cd44563add8138bab0a00003400000001" +
		"000000010000002801030401993596bf0000001c010c00008005000280010001" +
		"80020f78800600808004000405000014a89ebb5a8ee5c9a0659b5cf53cb51261" +
		"0500000c011106a5c00002011500000c011106a5c00002021500000c01000000" +
		"c00002020000000c0100000000000000"},
	{name: "se-mm-qm-transport frame 12", first: PayloadHash, payloads: []string{"HASH", "SA", "NONCE", "ID", "ID", "NAT-OA", "NAT-OA"}, plain: "" +
		"01000018d8afd18d4ca38355c6121225895dc4327188e6730a00003400000001" +
		"0000000100000028010304015cbe318f0000001c010c00008006008080050002" +
		"800400048001000180020f7805000024f1cfbdf274f811ac5878dbc746f3e533" +
		"b246921ecca5b05a2bba2d13731749080500000c011106a5c00002011500000c" +
		"011106a5c00002021500000c01000000c00002010000000c01000000c0000202" +
		"00000000000000000000000000000000"},
	{name: "se-mm-qm-transport frame 13", first: PayloadHash, payloads: []string{"HASH"}, plain: "" +
		"00000018f11bfd43da5f626c66d13e44a425df23abbeb0b20102030405060708"},
	{name: "se-mm-qm-transport frame 14", first: PayloadHash, payloads: []string{"HASH", "D"}, plain: "" +
		"0c000018e41732eeffd71a703fa3a7ecd6ec08c382a53e5c0000001000000001" +
		"03040001993596bf0000000000000000"},
	{name: "se-mm-qm-transport frame 15", first: PayloadHash, payloads: []string{"HASH", "D"}, plain: "" +
		"0c000018ffcb719c78d983223aebe99bbc415245799907320000001000000001" +
		"03040001993596bf0102030405060708"},
	{name: "se-mm-qm-tunnel-esp MM5", first: PayloadID, payloads: []string{"ID", "HASH"}, plain: "" +
		"0800000c01000000c000020200000018644aa5c5a0e99511ffa7465b6ebb6b03" +
		"7df6a6e0000000000000000000000000"},
	{name: "se-mm-qm-tunnel-esp MM6", first: PayloadID, payloads: []string{"ID", "HASH"}, plain: "" +
		"0800000c0100000000000000000000182645a6ba19e4d57e5c9653d665e69f26" +
		"2f1ffc170102030405060708090a0b0c"},
	{name: "se-mm-qm-tunnel-esp frame 7", first: PayloadHash, payloads: []string{"HASH", "SA", "NONCE", "ID", "ID", "NAT-OA", "NAT-OA"}, plain: "" +
		"0100001806be89c5045d2aa3082a6d6dedd4cf0df9109c9c0a00003400000001" +
		"000000010000002801030401b46cc5510000001c010c00008005000280010001" +
		"80020f78800600808004000405000014820ae3f5bdd6a963c2d7898d38a3a55d" +
		"0500000c011106a5c00002011500000c011106a5c00002021500000c01000000" +
		"c00002020000000c0100000000000000"},
	{name: "se-mm-qm-tunnel-esp frame 8", first: PayloadHash, payloads: []string{"HASH", "N"}, plain: "" +
		"0b00001889e9283ab3b1731f267457ca4d7a588def97161e0000000c00000001" +
		"01000010000000000000000000000000"},
	{name: "se-mm-qm-tunnel-esp frame 9", first: PayloadHash, payloads: []string{"HASH", "SA", "NONCE", "ID", "ID"}, plain: "" +
		"01000018a7bfe5186d71a192edf61a06a30608c421dd4e180a00006800000001" +
		"000000010000005c0103040381ba30050300001c010c00008006008080050002" +
		"800400038001000180020f780300001c020c0000800601008005000280040003" +
		"8001000180020f78000000180303000080050002800400038001000180020f78" +
		"05000024a6d715d0abcd6240b08af0d024c131eaf4cb66a4333e384a2a2579f4" +
		"980831570500000c011106a5c00002020000000c011106a5c000020100000000"},
	{name: "se-mm-qm-tunnel-esp frame 10", first: PayloadHash, payloads: []string{"HASH", "SA", "NONCE", "ID", "ID"}, plain: "" +
		"010000188fd87af28d66fad412352609088d9d2cf3b56d000a00003400000001" +
		"000000010000002801030401b584ceb10000001c010c00008005000280010001" +
		"80020f7880060080800400030500001453dc17b1b9df9e43d78a4f8e67d88415" +
		"0500000c011106a5c00002020000000c011106a5c00002010102030405060708"},
	{name: "se-mm-qm-tunnel-esp frame 11", first: PayloadHash, payloads: []string{"HASH"}, plain: "" +
		"0000001836d0a438f3e0f3814c997c16f282d99d8a89f2070000000000000000"},
	{name: "se-mm-qm-tunnel-esp frame 15", first: PayloadHash, payloads: []string{"HASH", "D"}, plain: "" +
		"0c00001844900d10b9db44e061650efed0a2e4e603610e020000001000000001" +
		"0304000181ba30050000000000000000"},
	{name: "se-mm-qm-tunnel-esp frame 16", first: PayloadHash, payloads: []string{"HASH", "D"}, plain: "" +
		"0c0000180cbba951673f503e3289d863b5ef5af57bbd7f810000001000000001" +
		"0304000181ba30050102030405060708"},
	{name: "se-mm-qm-tunnel-esp frame 17", first: PayloadHash, payloads: []string{"HASH", "D"}, plain: "" +
		"0c000018fc876a39db732107c01a8aa803001b503ff854380000001c00000001" +
		"011000018648e567890d27ccd8830a57200ef36a000000000000000000000000"},
	{name: "se-mm-qm-tunnel-esp frame 18", first: PayloadHash, payloads: []string{"HASH", "D"}, plain: "" +
		"0c0000181f9cf27a58c5f3ef759cf9c824603a672e2327080000001c00000001" +
		"011000018648e567890d27ccd8830a57200ef36a0102030405060708090a0b0c"},
	{name: "se-mm-qm-tunnel-esp frame 19", first: PayloadHash, payloads: []string{"HASH", "D"}, plain: "" +
		"0c0000180695d7a67ed6709b01302c567b20205b394866fc0000001000000001" +
		"03040001b46cc5510102030405060708"},
	{name: "se-mm-qm-tunnel-esp frame 20", first: PayloadHash, payloads: []string{"HASH", "D"}, plain: "" +
		"0c00001853a338fa5d0f64f7ecb8cd07b0f6046abdcba7310000001000000001" +
		"03040001b584ceb10102030405060708"},
	{name: "sw-sw-transport-aes128sha1.initiator MM5", first: PayloadID, payloads: []string{"ID", "HASH"}, plain: "" +
		"0800000c01000000cb0071820000001800aa4998c057d085a47508a3eaf4b81b" +
		"24e0d262000000000000000000000000"},
	{name: "sw-sw-transport-aes128sha1.initiator MM6", first: PayloadID, payloads: []string{"ID", "HASH"}, plain: "" +
		"0800000c01000000cb0071810000001851fc5134c5fecb937e7743dac3923803" +
		"abd337bc000000000000000000000000"},
	{name: "sw-sw-transport-aes128sha1.initiator frame 7", first: PayloadHash, payloads: []string{"HASH", "SA", "NONCE", "ID", "ID", "NAT-OA", "NAT-OA"}, plain: "" +
		"010000187d02f57f64655ec8681210a12b24ce384200d9670a00003400000001" +
		"00000001000000280103040149cbc1180000001c010c00008006008080050002" +
		"800400048001000180020f780500002447324e285fe6c819dcc11c539748b648" +
		"b1d2bff203d6038b7ea543c138afcfb00500000c011106a5cb0071821500000c" +
		"011106a5cb0071811500000c01000000cb0071820000000c01000000cb007181" +
		"00000000000000000000000000000000"},
	{name: "sw-sw-transport-aes128sha1.initiator frame 8", first: PayloadHash, payloads: []string{"HASH", "SA", "NONCE", "ID", "ID", "NAT-OA", "NAT-OA"}, plain: "" +
		"010000188eaf5d693969218d5065ce3b4aa265e7b5f212650a00003400000001" +
		"000000010000002801030401128ac5240000001c010c00008006008080050002" +
		"800400048001000180020f78050000242f583110c4fd6630756c7d3f8350df26" +
		"6f349c3d22010f040e5f3a036adcbd7c0500000c011106a5cb0071821500000c" +
		"011106a5cb0071811500000c01000000cb0071820000000c01000000cb007181" +
		"00000000000000000000000000000000"},
	{name: "sw-sw-transport-aes128sha1.initiator frame 9", first: PayloadHash, payloads: []string{"HASH", "N"}, plain: "" +
		"0b000018244aacc9e630e35d32008957c817ad8df456df9e0000001000000001" +
		"0304000e49cbc1180000000000000000"},
	{name: "sw-sw-transport-aes128sha1.initiator frame 10", first: PayloadHash, payloads: []string{"HASH", "D"}, plain: "" +
		"0c00001818b84e1e688287be9fce3a34863efa9d7eb890980000001c00000001" +
		"011000012b40a853001d5b2ee903cabfc18dca07000000000000000000000000"},
	{name: "sw-sw-tunnel-aes128sha1.initiator MM5", first: PayloadID, payloads: []string{"ID", "HASH"}, plain: "" +
		"0800000c01000000cb007182000000181ac62bec16f54e0e1f1f504fdf86690b" +
		"69f1ccc9000000000000000000000000"},
	{name: "sw-sw-tunnel-aes128sha1.initiator MM6", first: PayloadID, payloads: []string{"ID", "HASH"}, plain: "" +
		"0800000c01000000cb0071810000001892c39b9447baedcad03abd790877dc97" +
		"11db0b03000000000000000000000000"},
	{name: "sw-sw-tunnel-aes128sha1.initiator frame 7", first: PayloadHash, payloads: []string{"HASH", "SA", "NONCE", "ID", "ID"}, plain: "" +
		"01000018f37b39f86a84c78acb3942a7377409a2b278f21b0a00003400000001" +
		"000000010000002801030401368619a00000001c010c00008006008080050002" +
		"800400038001000180020f78050000240cf1d77576fe78d1b7b422948946780c" +
		"e0ef3a1c9124c1a9ab19472c284900510500000c011106a5cb0071820000000c" +
		"011106a5cb0071810000000000000000"},
	{name: "sw-sw-tunnel-aes128sha1.initiator frame 8", first: PayloadHash, payloads: []string{"HASH", "SA", "NONCE", "ID", "ID"}, plain: "" +
		"01000018c157f0307f04f97138f299ba94a990ee13db91180a00003400000001" +
		"0000000100000028010304019c4ae6b50000001c010c00008006008080050002" +
		"800400038001000180020f780500002475a369ce9d2122832dfd35561718aafb" +
		"20590f503dd512aafa9e0e40b31f0b370500000c011106a5cb0071820000000c" +
		"011106a5cb0071810000000000000000"},
	{name: "sw-sw-tunnel-aes128sha1.initiator frame 9", first: PayloadHash, payloads: []string{"HASH"}, plain: "" +
		"000000185999d5c40337d823232604ad7a2dd47beb615e940000000000000000"},
	{name: "sw-sw-tunnel-aes128sha1.initiator frame 13", first: PayloadHash, payloads: []string{"HASH", "D"}, plain: "" +
		"0c000018a3b4bf513a954144bf6ef9e9031b967537aa3fdc0000001000000001" +
		"03040001368619a00000000000000000"},
	{name: "sw-sw-tunnel-aes128sha1.initiator frame 14", first: PayloadHash, payloads: []string{"HASH", "D"}, plain: "" +
		"0c00001856b9074ac553cd59375901281e1cc9edd3a2ac490000001c00000001" +
		"01100001e3950cb7f035c014684a527bdd5c373f000000000000000000000000"},
	{name: "sw-sw-tunnel-aes256gcm16.initiator MM5", first: PayloadID, payloads: []string{"ID", "HASH"}, plain: "" +
		"0800000c01000000cb007182000000187ffd93243fee6899bbbf4c8c8e8a4dce" +
		"470ba565000000000000000000000000"},
	{name: "sw-sw-tunnel-aes256gcm16.initiator MM6", first: PayloadID, payloads: []string{"ID", "HASH"}, plain: "" +
		"0800000c01000000cb00718100000018945b683f3e2576c26b0c2dd40ca90dbc" +
		"147597a6000000000000000000000000"},
	{name: "sw-sw-tunnel-aes256gcm16.initiator frame 7", first: PayloadHash, payloads: []string{"HASH", "SA", "NONCE", "ID", "ID"}, plain: "" +
		"010000180c9a1e6c1a8c6b186f4bd7155964cbee2a56523b0a00003000000001" +
		"000000010000002401030401b30774d400000018011400008006010080040003" +
		"8001000180020f7805000024017bbaa03ce30dc12a0e7ca774c4e819706ca95b" +
		"2781b741b4cf0f4751bfd6d10500000c011106a5cb0071820000000c011106a5" +
		"cb007181000000000000000000000000"},
	{name: "sw-sw-tunnel-aes256gcm16.initiator frame 8", first: PayloadHash, payloads: []string{"HASH", "SA", "NONCE", "ID", "ID"}, plain: "" +
		"01000018b161b6a8fefca2cc53851751864938523e3400f70a00003000000001" +
		"000000010000002401030401e69510ea00000018011400008006010080040003" +
		"8001000180020f7805000024fb7293e0a18911c6ae0e08528b7edca1927acda6" +
		"69a1b7453e4522fda628bb000500000c011106a5cb0071820000000c011106a5" +
		"cb007181000000000000000000000000"},
	{name: "sw-sw-tunnel-aes256gcm16.initiator frame 9", first: PayloadHash, payloads: []string{"HASH"}, plain: "" +
		"00000018f3ef2ae6f67b131ee1bba8c259688409d9a386b10000000000000000"},
	{name: "sw-sw-tunnel-aes256gcm16.initiator frame 13", first: PayloadHash, payloads: []string{"HASH", "D"}, plain: "" +
		"0c0000188fe739608e682c39a996d5a41570d00f890ea0d10000001000000001" +
		"03040001b30774d40000000000000000"},
	{name: "sw-sw-tunnel-aes256gcm16.initiator frame 14", first: PayloadHash, payloads: []string{"HASH", "D"}, plain: "" +
		"0c000018750518ae4378a978cede2dce8c7714e38a2996dd0000001c00000001" +
		"011000011d2a71000ccd2d08413dd2563c3d1aba000000000000000000000000"},
	{name: "sw-sw-tunnel-aes128sha1.responder MM5", first: PayloadID, payloads: []string{"ID", "HASH"}, plain: "" +
		"0800000c01000000cb007182000000181ac62bec16f54e0e1f1f504fdf86690b" +
		"69f1ccc9000000000000000000000000"},
	{name: "sw-sw-tunnel-aes128sha1.responder MM6", first: PayloadID, payloads: []string{"ID", "HASH"}, plain: "" +
		"0800000c01000000cb0071810000001892c39b9447baedcad03abd790877dc97" +
		"11db0b03000000000000000000000000"},
	{name: "sw-sw-tunnel-aes128sha1.responder frame 7", first: PayloadHash, payloads: []string{"HASH", "SA", "NONCE", "ID", "ID"}, plain: "" +
		"01000018f37b39f86a84c78acb3942a7377409a2b278f21b0a00003400000001" +
		"000000010000002801030401368619a00000001c010c00008006008080050002" +
		"800400038001000180020f78050000240cf1d77576fe78d1b7b422948946780c" +
		"e0ef3a1c9124c1a9ab19472c284900510500000c011106a5cb0071820000000c" +
		"011106a5cb0071810000000000000000"},
	{name: "sw-sw-tunnel-aes128sha1.responder frame 8", first: PayloadHash, payloads: []string{"HASH", "SA", "NONCE", "ID", "ID"}, plain: "" +
		"01000018c157f0307f04f97138f299ba94a990ee13db91180a00003400000001" +
		"0000000100000028010304019c4ae6b50000001c010c00008006008080050002" +
		"800400038001000180020f780500002475a369ce9d2122832dfd35561718aafb" +
		"20590f503dd512aafa9e0e40b31f0b370500000c011106a5cb0071820000000c" +
		"011106a5cb0071810000000000000000"},
	{name: "sw-sw-tunnel-aes128sha1.responder frame 9", first: PayloadHash, payloads: []string{"HASH"}, plain: "" +
		"000000185999d5c40337d823232604ad7a2dd47beb615e940000000000000000"},
	{name: "sw-sw-tunnel-aes128sha1.responder frame 13", first: PayloadHash, payloads: []string{"HASH", "D"}, plain: "" +
		"0c000018a3b4bf513a954144bf6ef9e9031b967537aa3fdc0000001000000001" +
		"03040001368619a00000000000000000"},
	{name: "sw-sw-tunnel-aes128sha1.responder frame 14", first: PayloadHash, payloads: []string{"HASH", "D"}, plain: "" +
		"0c00001856b9074ac553cd59375901281e1cc9edd3a2ac490000001c00000001" +
		"01100001e3950cb7f035c014684a527bdd5c373f000000000000000000000000"},
}
