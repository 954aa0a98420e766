package vpn

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A record of a killed delegated run whose charon is gone too (socket
// missing, or left over with nobody accepting): charon's state went with
// it, so cleanup removes the record and says so instead of failing.
func TestCleanupCharonNotRunning(t *testing.T) {
	leftover := filepath.Join(t.TempDir(), "left.vici")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: leftover, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close() // the file stays; connecting is refused
	for name, socket := range map[string]string{
		"missing":  filepath.Join(t.TempDir(), "none.vici"),
		"leftover": leftover,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := writeCharonRecord(dir, "work", socket); err != nil {
				t.Fatal(err)
			}
			done, found, err := CleanupCharon(dir, "work", nil)
			if err != nil || !found {
				t.Fatalf("CleanupCharon: %q, found %v, err %v", done, found, err)
			}
			if !strings.Contains(done, "charon is not running") || !strings.Contains(done, "removed the record") {
				t.Errorf("report %q", done)
			}
			if _, err := os.Stat(charonRecordPath(dir, "work")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the record is still there: %v", err)
			}
			if n := CharonRecords(dir); len(n) != 0 {
				t.Errorf("records left: %q", n)
			}
		})
	}
}
