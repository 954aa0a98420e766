package server

// The users file: who may connect, with what credential, and at which
// fixed address, if any. TOML, one table per user:
//
//	[users.alice]
//	nt-hash = "44EBBA8D5312B8D611474411F56989AE"  # l2tpvpn serve hash-password
//	address = "198.51.100.7"                     # optional, inside the pool
//
//	[users.'CORP\bob']
//	password = "cleartext"
//
// nt-hash (the MD4 of the UTF-16LE password, RFC 2759 section 8.3, 32 hex
// digits) is the better choice: it is all MS-CHAPv2 needs, and it is not
// the password. CHAP-MD5 and PAP need the cleartext password, so a user
// with only an nt-hash can use MS-CHAPv2 only. Exactly one of the two is
// given. The values are the secrets themselves (no env:/file: specs): the
// file is secret as a whole and must be private (mode 0600 or stricter,
// owned by us or root), or it is refused.
//
// Names are matched as the client sends them (PAP Peer-ID, CHAP Name),
// exactly, case included. A name that is not found as sent and has the
// form DOMAIN\user or user@realm is looked up once more without the
// domain or realm (both stripped for DOMAIN\user@realm), so Windows
// clients that send a domain find their entry. A table of the full name
// wins over the bare one.
//
// UsersFile holds the current reading for the supervisor: Lookup is
// lock-free and Reload swaps in a new reading atomically, or keeps the old
// one when the new file is bad.

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"

	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/secret"
)

// HashPassword returns the NT hash of pw (RFC 2759 section 8.3) as 32
// upper-case hex digits, the nt-hash of the users file.
func HashPassword(pw string) string {
	return strings.ToUpper(hex.EncodeToString(ppp.NTPasswordHash(secret.FromString(pw)).Bytes()))
}

// Users is one reading of the users file. It is immutable, so safe for
// concurrent use.
type Users struct {
	path  string
	users map[string]userEntry
}

type userEntry struct {
	cred     ppp.Credential
	addr     netip.Addr // fixed address, or invalid
	addrLine int        // where it is given
}

// userFields are the keys of a user's table.
var userFields = []string{"nt-hash", "password", "address"}

// maxUserLen is the longest user name and password: PAP's length octets.
const maxUserLen = 255

// LoadUsers reads the users file at path. It refuses a file that its
// group or others may access, or that belongs to another user; errors
// locate the problem (file, line, users.NAME.KEY) and never show a
// password or hash.
func LoadUsers(path string) (*Users, error) {
	data, fi, err := readSmallFile(path)
	if err != nil {
		return nil, err
	}
	if err := usersFilePrivate(path, fi.Mode().Perm(), secret.FileOwner(fi), os.Geteuid()); err != nil {
		return nil, err
	}
	values := map[string]any{}
	if err := toml.Unmarshal(data, &values); err != nil {
		return nil, decodeError(path, data, err, func(string) bool { return true })
	}
	entries, err := tomlEntries(path, data)
	if err != nil {
		return nil, err
	}
	lines := map[string]int{}
	for _, e := range entries {
		fail := func(msg string) error {
			return &ConfigError{Path: path, Line: e.line, Key: keyPath(e.path...), Err: errors.New(msg)}
		}
		p := e.path
		for i := range p {
			p[i] = canonField(p, i)
		}
		switch {
		case p[0] != "users":
			return nil, fail(`unknown key; users are tables [users.NAME]`)
		case e.array:
			return nil, fail(`want tables [users.NAME], not [[users]]`)
		case len(p) == 1 && !e.table:
			return nil, fail(`want tables [users.NAME]`)
		case len(p) == 2 && !e.table && !e.inline:
			return nil, fail(`want a table [users.NAME] with password or nt-hash`)
		case len(p) == 3 && !slices.Contains(userFields, p[2]):
			msg := "unknown key"
			if s := suggest(p[2], userFields); s != "" {
				msg += "; did you mean " + s + "?"
			}
			return nil, fail(msg)
		case len(p) > 3:
			return nil, fail("unknown key; a user has password or nt-hash, and address")
		}
		lines[strings.Join(p, "\x00")] = e.line
	}
	u := &Users{path: path, users: map[string]userEntry{}}
	line := func(p ...string) int {
		for ; len(p) > 0; p = p[:len(p)-1] {
			if l, ok := lines[strings.Join(p, "\x00")]; ok {
				return l
			}
		}
		return 0
	}
	table, ok := values["users"].(map[string]any)
	if !ok || len(table) == 0 {
		return nil, &ConfigError{Path: path, Line: line("users"), Err: errors.New("no users; add a table [users.NAME] with password or nt-hash")}
	}
	owners := map[netip.Addr]string{}
	for _, name := range sortedKeys(table) {
		fail := func(field string, err error) error {
			return &ConfigError{Path: path, Line: line("users", name, field), Key: keyPath("users", name, field), Err: err}
		}
		if err := checkUserName(name); err != nil {
			return nil, fail("", err)
		}
		fields, ok := table[name].(map[string]any)
		if !ok {
			return nil, fail("", errors.New("want a table [users.NAME] with password or nt-hash"))
		}
		var e userEntry
		for _, raw := range sortedKeys(fields) {
			f := strings.ReplaceAll(raw, "_", "-")
			if !slices.Contains(userFields, f) { // inside an inline table
				return nil, fail(f, errors.New("unknown key"))
			}
			if err := e.set(f, fields[raw]); err != nil {
				return nil, fail(f, err)
			}
			if f == "address" {
				e.addrLine = line("users", name, f)
			}
		}
		switch {
		case e.cred.Password.IsZero() && e.cred.NTHash.IsZero():
			return nil, fail("", errors.New("give password or nt-hash"))
		case !e.cred.Password.IsZero() && !e.cred.NTHash.IsZero():
			return nil, fail("", errors.New("give password or nt-hash, not both"))
		}
		if e.addr.IsValid() {
			if other, dup := owners[e.addr]; dup {
				return nil, fail("address", fmt.Errorf("%s is also the address of user %s", e.addr, other))
			}
			owners[e.addr] = name
		}
		u.users[name] = e
	}
	return u, nil
}

// set reads one field of a user's table.
func (e *userEntry) set(field string, v any) error {
	s, ok := v.(string)
	if !ok {
		return want("a string", v)
	}
	switch field {
	case "nt-hash":
		h, err := hex.DecodeString(s)
		if err != nil || len(h) != 16 {
			return errors.New("want 32 hex digits (l2tpvpn serve hash-password makes them)")
		}
		e.cred.NTHash = secret.New(h)
	case "password":
		if s == "" || len(s) > maxUserLen {
			return fmt.Errorf("want 1 to %d bytes", maxUserLen)
		}
		e.cred.Password = secret.FromString(s)
	case "address":
		a, err := oneAddr(v)
		if err != nil {
			return err
		}
		if !a.Is4() {
			return fmt.Errorf("%s: IPCP hands out IPv4 addresses only", a)
		}
		e.addr = a
	}
	return nil
}

// usersFilePrivate refuses a users file that others may access (perm is
// its permission bits, uid its owner, euid us).
func usersFilePrivate(path string, perm os.FileMode, uid, euid int) error {
	if perm&0o077 != 0 {
		return &ConfigError{Path: path, Err: fmt.Errorf("has mode %04o, but it holds passwords: only its owner may have access (chmod 600 %s)", perm, path)}
	}
	if problem, fix := secret.Privacy(path, perm, uid, euid); problem != "" {
		return &ConfigError{Path: path, Err: fmt.Errorf("%s: %s", problem, fix)}
	}
	return nil
}

func checkUserName(name string) error {
	if name == "" || len(name) > maxUserLen || !utf8.ValidString(name) {
		return fmt.Errorf("a user name has 1 to %d bytes of UTF-8", maxUserLen)
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return errors.New("a user name has no control characters")
	}
	return nil
}

// canonField is part i of a key path: a user's field with '_' read as '-'.
func canonField(p []string, i int) string {
	if i == 2 && p[0] == "users" {
		return strings.ReplaceAll(p[i], "_", "-")
	}
	return p[i]
}

// keyPath writes a key path as TOML would, quoting parts that need it;
// empty parts are left out.
func keyPath(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p == "" {
			continue
		}
		bare := strings.IndexFunc(p, func(r rune) bool {
			return !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z')
		}) < 0
		if !bare {
			p = strconv.Quote(p)
		}
		out = append(out, p)
	}
	return strings.Join(out, ".")
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Len is the number of users.
func (u *Users) Len() int { return len(u.users) }

// Name returns the entry a name sent by a client matches (see the file
// comment): the name itself, or it without DOMAIN\ or @realm.
func (u *Users) Name(name string) (string, bool) {
	if _, ok := u.users[name]; ok {
		return name, true
	}
	n := name
	if i := strings.LastIndexByte(n, '\\'); i >= 0 {
		n = n[i+1:]
		if _, ok := u.users[n]; ok {
			return n, true
		}
	}
	if i := strings.LastIndexByte(n, '@'); i > 0 {
		n = n[:i]
		if _, ok := u.users[n]; ok {
			return n, true
		}
	}
	return "", false
}

// Lookup returns the credential and the fixed address (invalid if none)
// of the user a client-sent name matches.
func (u *Users) Lookup(name string) (cred ppp.Credential, fixed netip.Addr, ok bool) {
	n, ok := u.Name(name)
	if !ok {
		return ppp.Credential{}, netip.Addr{}, false
	}
	e := u.users[n]
	return e.cred, e.addr, true
}

// Addresses lists the users' fixed addresses, for Pool.Reserve.
func (u *Users) Addresses() []netip.Addr {
	var out []netip.Addr
	for _, e := range u.users {
		if e.addr.IsValid() {
			out = append(out, e.addr)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// checkPool checks that every fixed address is one p hands out.
func (u *Users) checkPool(p *Pool) error {
	names := make([]string, 0, len(u.users))
	for n := range u.users {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if e := u.users[n]; e.addr.IsValid() && !p.Contains(e.addr) {
			return &ConfigError{Path: u.path, Line: e.addrLine, Key: keyPath("users", n, "address"),
				Err: fmt.Errorf("%s is not an address of pool %s (or it is server-ip)", e.addr, p)}
		}
	}
	return nil
}

// UsersFile is the users file the server reads from: the current Users,
// swapped by Reload. Every method is safe for concurrent use; Lookup takes
// no lock.
type UsersFile struct {
	path string
	pool *Pool
	mu   sync.Mutex // serialises Reload
	cur  atomic.Pointer[Users]
}

// OpenUsers reads the users file at path. With pool, every fixed address
// must be one the pool hands out, and they are reserved in it (see
// Pool.Reserve).
func OpenUsers(path string, pool *Pool) (*UsersFile, error) {
	f := &UsersFile{path: path, pool: pool}
	if err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Reload reads the file again and swaps the new users in. If the file is
// bad, the users read before stay and the error says why.
func (f *UsersFile) Reload() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, err := LoadUsers(f.path)
	if err != nil {
		return err
	}
	if f.pool != nil {
		if err := u.checkPool(f.pool); err != nil {
			return err
		}
		if err := f.pool.Reserve(u.Addresses()); err != nil {
			return err
		}
	}
	f.cur.Store(u)
	return nil
}

// Path is the users file's path.
func (f *UsersFile) Path() string { return f.path }

// Users is the current reading.
func (f *UsersFile) Users() *Users { return f.cur.Load() }

// Lookup is Users().Lookup.
func (f *UsersFile) Lookup(name string) (cred ppp.Credential, fixed netip.Addr, ok bool) {
	return f.cur.Load().Lookup(name)
}

// Credential is Lookup without the address, in the form of
// ppp.ServerConfig.Lookup.
func (f *UsersFile) Credential(name string) (ppp.Credential, bool) {
	c, _, ok := f.cur.Load().Lookup(name)
	return c, ok
}
