package main

// The Go peer of the lab's `http` experiment (listed in cases.go's servers
// table): net/http's Server answering every request with the 13-byte
// plaintext body, as crates/baton-lab/src/servers.rs's servers do. The lab
// starts it, loads it with wrk and kills it (crates/baton-lab/src/wrk.rs).

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

var helloBody = []byte("Hello, World!")

// httpPlaintext listens on addr, says so on stdout, and serves until the
// process is killed. net/http adds Date and Content-Length itself, and
// keeps connections alive. GOMAXPROCS is the cores the process may run on
// (the lab pins it with taskset for the pinned case).
func httpPlaintext(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "listening on http://%s\n", ln.Addr())
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(helloBody)
	})
	return http.Serve(ln, mux)
}
