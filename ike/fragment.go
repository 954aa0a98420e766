package ike

// FragmentMode says when our IKE messages are fragmented.
type FragmentMode int

// Fragmentation modes.
const (
	// FragmentAuto fragments a message larger than the fragment size once
	// the server announced the FRAGMENTATION vendor ID.
	FragmentAuto FragmentMode = iota
	// FragmentForce fragments every message larger than the fragment size.
	FragmentForce
	// FragmentOff never fragments (received fragments are still reassembled).
	FragmentOff
)

// DefaultFragmentSize is the IKE payload carried per fragment when
// Config.FragmentSize is zero: 576 bytes, as Windows sends.
const DefaultFragmentSize = 576
