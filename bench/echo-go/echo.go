// echo.go: the echo benchmark's (B-10) server on Go's net package: one
// goroutine per connection, the runtime's netpoller underneath.
//
//	GOMAXPROCS=1 echo-go PORT    (0 picks a free port)
//
// Listens on 127.0.0.1:PORT, prints "listening on 127.0.0.1:PORT" as its
// first line; SIGTERM ends it.  bench/echo.sh builds it with the Go of
// Debian (golang-go) into the build directory, offline, and runs it with
// GOMAXPROCS=1: one thread runs the goroutines, as one thread runs the
// tasks of the other servers (the runtime keeps its own threads besides:
// sysmon, and the one blocked in the netpoller's epoll_pwait).  Go sets
// TCP_NODELAY on every TCP connection by default.
package main

import (
	"fmt"
	"net"
	"os"
)

func serve(c net.Conn) {
	defer c.Close()
	// A plain read/write loop, not io.Copy: io.Copy between two TCP
	// connections takes the splice(2) path, which no other server has.
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: echo-go PORT")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo-go:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go serve(c)
	}
}
