/**
 * The CA material of the peers, made with openssl: a P-256 root and a P-256 intermediate under
 * it (what step-ca and cfssl sign with, the same key types as certmint's bench-root and
 * bench-issuing), and a P-256 TLS server certificate for 127.0.0.1 under the root (what certmint
 * and cfssl serve TLS with; step-ca makes its own from its intermediate).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Pki {
  rootCert: string;
  intermediateCert: string;
  intermediateKey: string;
  serverCert: string;
  serverKey: string;
}

const CONFIG = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[root]
basicConstraints = critical, CA:true, pathlen:1
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[intermediate]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, digitalSignature, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[server]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
`;

export function makePki(dir: string): Pki {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = (name: string) => join(dir, name);
  // Arguments as one line, split on spaces (paths and subjects here have none).
  const openssl = (line: string) => execFileSync("openssl", line.split(" "), { stdio: "pipe" });
  const serial = () => `0x${randomBytes(16).toString("hex")}`;
  writeFileSync(f("openssl.cnf"), CONFIG);
  const key = (name: string) => {
    openssl(`genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ${f(name)}`);
    chmodSync(f(name), 0o600);
  };
  key("root.key");
  openssl(
    `req -x509 -new -key ${f("root.key")} -subj /CN=bench-peers-root -days 30 -sha256 ` +
      `-config ${f("openssl.cnf")} -extensions root -set_serial ${serial()} -out ${f("root.crt")}`,
  );
  const issue = (name: string, subject: string, extensions: string) => {
    key(`${name}.key`);
    openssl(
      `req -new -key ${f(`${name}.key`)} -subj ${subject} -config ${f("openssl.cnf")} -out ${f(`${name}.csr`)}`,
    );
    openssl(
      `x509 -req -in ${f(`${name}.csr`)} -CA ${f("root.crt")} -CAkey ${f("root.key")} -set_serial ${serial()} ` +
        `-days 30 -sha256 -extfile ${f("openssl.cnf")} -extensions ${extensions} -out ${f(`${name}.crt`)}`,
    );
  };
  issue("intermediate", "/CN=bench-peers-intermediate", "intermediate");
  issue("server", "/CN=127.0.0.1", "server");
  return {
    rootCert: f("root.crt"),
    intermediateCert: f("intermediate.crt"),
    intermediateKey: f("intermediate.key"),
    serverCert: f("server.crt"),
    serverKey: f("server.key"),
  };
}
