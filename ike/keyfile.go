package ike

// KeyLog writes negotiated keys where Wireshark looks for them, so a capture
// of our traffic can be decrypted: a directory laid out like a Wireshark
// profile, with the UAT files esp_sa and ikev1_decryption_table. Only for
// debugging: these files hold secrets.

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"

	"github.com/l2tpvpn/l2tpvpn/esp"
)

// KeyLog appends key lines to the two files of a directory.
type KeyLog struct {
	mu       sync.Mutex
	dir      string
	err      error
	espFile  *os.File
	ikeFile  *os.File
	wildcard bool
}

// OpenKeyLog creates dir if needed and opens (appending) dir/esp_sa and
// dir/ikev1_decryption_table, readable by the owner only: a file that
// already exists with a wider mode is narrowed to 0600 before a key is
// written. With wildcard the ESP lines match any addresses ("*"), which is
// what a capture behind a NAT needs.
func OpenKeyLog(dir string, wildcard bool) (*KeyLog, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	open := func(name string) (*os.File, error) {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		// The mode of OpenFile applies only to a file it creates (and is
		// narrowed by the umask, never widened).
		if err := keyFilePrivate(f); err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	}
	e, err := open("esp_sa")
	if err != nil {
		return nil, err
	}
	i, err := open("ikev1_decryption_table")
	if err != nil {
		e.Close()
		return nil, err
	}
	return &KeyLog{dir: dir, espFile: e, ikeFile: i, wildcard: wildcard}, nil
}

// Close closes the files and returns the first write error.
func (k *KeyLog) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.espFile.Close()
	k.ikeFile.Close()
	return k.err
}

func (k *KeyLog) ike(ckyI [8]byte, ka []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, err := k.ikeFile.Write(AppendIKEv1KeyLine(nil, ckyI, ka)); err != nil && k.err == nil {
		k.err = err
	}
}

func (k *KeyLog) esp(src, dst netip.Addr, spi uint32, t esp.Transform, key []byte) {
	if k.wildcard {
		src, dst = netip.Addr{}, netip.Addr{}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, err := k.espFile.Write(AppendESPSALine(nil, src, dst, spi, t, key)); err != nil && k.err == nil {
		k.err = err
	}
}

// keyFilePrivate makes f a regular file readable and writable by its owner
// only.
func keyFilePrivate(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("ike: key log %s is not a regular file", f.Name())
	}
	if fi.Mode().Perm() == 0o600 {
		return nil
	}
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("ike: key log: %w", err)
	}
	return nil
}
