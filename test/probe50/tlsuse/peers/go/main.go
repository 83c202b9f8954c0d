// tls-peer is Go's crypto/tls as a relying party of certificates certmint issued: it reads one
// check per line on stdin (tab-separated) and prints one verdict per line, in order: "ok", or
// "fail<TAB>error". Only the standard library: the verdicts are Go's own.
//
//	connect PORT NAME ROOT CERT KEY ATTIME
//	    dial 127.0.0.1:PORT, verify the server's chain to ROOT (the only trust anchor) for NAME
//	    (a DNS name, sent as SNI, or an IP address), at ATTIME (unix seconds, "-" for now);
//	    CERT/KEY ("-" for none) is the client certificate (PEM, chain after the leaf) to present.
//	mtls PORT NAME ROOT CERT KEY ATTIME SERVERCERT SERVERKEY
//	    a server on 127.0.0.1 (SERVERCERT/KEY) that requires and verifies a client certificate
//	    against ROOT, as Go verifies one (extKeyUsage clientAuth), dialled with CERT/KEY: the
//	    verdict is the server's.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

func rootPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s: no certificate", path)
	}
	return p, nil
}

func clock(attime string) func() time.Time {
	if attime == "-" || attime == "" {
		return nil
	}
	s, err := strconv.ParseInt(attime, 10, 64)
	if err != nil {
		return nil
	}
	return func() time.Time { return time.Unix(s, 0) }
}

func connect(f []string) error {
	port, name, root, cert, key, attime := f[1], f[2], f[3], f[4], f[5], f[6]
	roots, err := rootPool(root)
	if err != nil {
		return err
	}
	cfg := &tls.Config{RootCAs: roots, ServerName: name, Time: clock(attime)}
	if cert != "-" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return err
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	dialer := &net.Dialer{Timeout: 20 * time.Second}
	conn, err := tls.DialWithDialer(dialer, "tcp", "127.0.0.1:"+port, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	if cert == "-" {
		return nil
	}
	// TLS 1.3 reports a refused client certificate only on the first read: send a request
	// line, which the test servers answer.
	if _, err := conn.Write([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
		return err
	}
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	return err
}

func mtls(f []string) error {
	name, root, cert, key, serverCert, serverKey := f[2], f[3], f[4], f[5], f[7], f[8]
	roots, err := rootPool(root)
	if err != nil {
		return err
	}
	serverPair, err := tls.LoadX509KeyPair(serverCert, serverKey)
	if err != nil {
		return err
	}
	clientPair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return err
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{serverPair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    roots,
	})
	if err != nil {
		return err
	}
	defer ln.Close()
	verdict := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			verdict <- err
			return
		}
		defer c.Close()
		verdict <- c.(*tls.Conn).Handshake()
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{
		RootCAs: roots, ServerName: name, Certificates: []tls.Certificate{clientPair},
	})
	if err == nil {
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, _ = conn.Read(make([]byte, 1))
		conn.Close()
	}
	select {
	case err := <-verdict:
		return err
	case <-time.After(20 * time.Second):
		return errors.New("server saw no handshake")
	}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		line := strings.TrimRight(in.Text(), "\r")
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		var err error
		switch {
		case f[0] == "connect" && len(f) >= 7:
			err = connect(f)
		case f[0] == "mtls" && len(f) >= 9:
			err = mtls(f)
		default:
			err = fmt.Errorf("bad check %q", line)
		}
		if err != nil {
			fmt.Printf("fail\t%s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			fmt.Println("ok")
		}
	}
}
