"""Python's ssl module (OpenSSL underneath, with Python's own hostname and IP matching) as a
relying party of certificates certmint issued. One check per stdin line, tab-separated,
one verdict per line on stdout: "ok" or "fail<TAB>error".

    connect PORT NAME ROOT CERT KEY ATTIME
        dial 127.0.0.1:PORT and verify the server for NAME (DNS name, sent as SNI, or IP
        address) with ROOT as the only trust anchor; CERT/KEY ("-": none) is presented as the
        client certificate. ATTIME is not supported by ssl and must be "-".
    crl PORT NAME ROOT CRLS
        as connect, with CRL checking of the leaf (VERIFY_CRL_CHECK_LEAF) against the CRLs
        in the PEM file CRLS.
"""

import socket
import ssl
import sys


def check(fields):
    mode, port, name, root = fields[0], int(fields[1]), fields[2], fields[3]
    ctx = ssl.create_default_context(cafile=root)
    if mode == "connect":
        cert, key, attime = fields[4], fields[5], fields[6]
        if attime != "-":
            raise ValueError("ssl cannot verify at another time")
        if cert != "-":
            ctx.load_cert_chain(cert, key)
    elif mode == "crl":
        ctx.load_verify_locations(cafile=fields[4])
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    else:
        raise ValueError(f"bad mode {mode}")
    with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as tls:
            if mode == "connect" and fields[4] != "-":
                # TLS 1.3 reports a refused client certificate on the first read.
                tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
                if not tls.recv(1):
                    raise ConnectionError("closed before any data")


def main():
    for line in sys.stdin:
        fields = line.rstrip("\r\n").split("\t")
        if fields == [""]:
            continue
        try:
            check(fields)
            print("ok", flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is a verdict
            print("fail\t" + str(e).replace("\n", " "), flush=True)


main()
