// Package ike implements IKEv1 (RFC 2409) over ISAKMP (RFC 2408) with the IPsec
// DOI (RFC 2407), NAT traversal (RFC 3947, and the draft payload numbers) and
// dead peer detection (RFC 3706).
//
// This part of the package is the message codec: Parse and ParsePayloads decode
// ISAKMP messages into a Header and a list of typed payloads (one Go type per
// payload, one file each), and Message.Append / AppendPayloads encode them.
//
// Decoders check every length field against its minimum and against the bytes
// that are really there, never index out of range and never panic. Decoded
// payloads alias the input buffer: copy what must outlive it.
package ike
