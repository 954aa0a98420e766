package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// serveHTTP is a web server for the proxy tests: GET /hello is a short
// page, GET /blob/SIZE/SEED is SIZE bytes of the SEED stream (as get and put
// use) with their SHA-256 in the X-Sha256 header, computed before sending.
func serveHTTP(addr string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from the l2tpvpn lab, %s\n", r.Host)
	})
	mux.HandleFunc("GET /blob/{size}/{seed}", func(w http.ResponseWriter, r *http.Request) {
		size, err1 := strconv.ParseInt(r.PathValue("size"), 10, 64)
		seed, err2 := strconv.ParseUint(r.PathValue("seed"), 10, 64)
		if err1 != nil || err2 != nil || size < 0 || size > 1<<30 {
			http.Error(w, "bad size or seed", http.StatusBadRequest)
			return
		}
		h := sha256.New()
		io.CopyN(h, stream(seed), size)
		w.Header().Set("X-Sha256", hex.EncodeToString(h.Sum(nil)))
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		io.CopyN(w, stream(seed), size)
	})
	fmt.Println("listening on", addr)
	return http.ListenAndServe(addr, mux)
}

// lookup resolves name with the DNS server at addr only (over UDP) and
// prints the addresses, one per line.
func lookup(addr, name string) error {
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ips, err := r.LookupHost(ctx, name)
	if err != nil {
		return err
	}
	for _, ip := range ips {
		fmt.Println(ip)
	}
	return nil
}
