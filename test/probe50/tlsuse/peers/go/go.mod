module github.com/certmint/certmint/test/probe50/tlsuse/peers/go

go 1.26.0
