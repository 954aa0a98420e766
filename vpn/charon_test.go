package vpn

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike/vici"
)

// The record a delegated connection leaves for `disconnect --cleanup`: no
// record, nothing to do; a record whose charon cannot be reached is kept
// and the error says so; a damaged record is an error.
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
	_, found, err := CleanupCharon(dir, "work", nil)
	if !found || !errors.Is(err, vici.ErrNoSocket) || !strings.Contains(err.Error(), sock) {
		t.Fatalf("unreachable charon: found %v, err %v", found, err)
	}
	if _, err := os.Stat(charonRecordPath(dir, "work")); err != nil {
		t.Errorf("the record is gone although nothing was unloaded: %v", err)
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
