package vpn

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/esp"
)

// The record a delegated connection leaves for `disconnect --cleanup`: no
// record, nothing to do; a record whose charon is not running is removed
// (its SAs went with it); a damaged record is an error.
func TestCleanupCharon(t *testing.T) {
	dir := t.TempDir()
	if _, found, err := CleanupCharon(dir, "work", nil); found || err != nil {
		t.Fatalf("no record: found %v, err %v", found, err)
	}
	sock := filepath.Join(dir, "no-charon.vici")
	if err := writeCharonRecord(dir, "work", sock); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(charonRecordPath(dir, "work"))
	if err != nil || !strings.Contains(string(b), `"conn":"l2tpvpn-work"`) || !strings.Contains(string(b), sock) {
		t.Fatalf("record: %s %v", b, err)
	}
	if fi, _ := os.Stat(charonRecordPath(dir, "work")); fi.Mode().Perm() != 0o600 {
		t.Errorf("record mode %v, want 0600", fi.Mode().Perm())
	}
	if got := CharonRecords(dir); !slices.Equal(got, []string{"work"}) {
		t.Errorf("CharonRecords = %v", got)
	}
	// charon is not running: its state went with it (issue 17 point 6;
	// more in charon_cleanup_test.go).
	done, found, err := CleanupCharon(dir, "work", nil)
	if !found || err != nil || !strings.Contains(done, "charon is not running") || !strings.Contains(done, sock) {
		t.Fatalf("charon not running: %q, found %v, err %v", done, found, err)
	}
	if _, err := os.Stat(charonRecordPath(dir, "work")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the record of a charon that is not running is kept: %v", err)
	}
	os.WriteFile(charonRecordPath(dir, "bad"), []byte("{"), 0o600)
	if _, found, err := CleanupCharon(dir, "bad", nil); !found || err == nil {
		t.Errorf("damaged record: found %v, err %v", found, err)
	}
}

func TestDelegatedMTU(t *testing.T) {
	tr, tu := delegatedMTU(esp.Transport), delegatedMTU(esp.Tunnel)
	if tu > tunnelModeMTU || tu >= tr || tr > 1500-plainOverhead {
		t.Errorf("delegated MTU transport %d, tunnel %d", tr, tu)
	}
}
