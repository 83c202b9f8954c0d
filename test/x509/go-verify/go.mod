module github.com/certmint/certmint/test/x509/go-verify

go 1.26.0
