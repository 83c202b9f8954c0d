/**
 * Test PKI made with openssl (P-256, one day): CAs, a server certificate for 127.0.0.1 and
 * localhost, client certificates; plus helpers that talk TLS to a port.
 */
import { randomBytes, X509Certificate } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { connect } from "node:tls";
import { type ChannelCredentials, type ChannelOptions, credentials } from "@grpc/grpc-js";
import { HealthClient } from "../support/health-client";
import { opensslOk, type TempDir } from "../support/openssl";
import { OWN_CONNECTION } from "../support/own-connection";
import { WAIT_TIMEOUT_MS } from "../support/wait";

export interface Issued {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
  /** Lower-case hex SHA-256 of the DER. */
  fingerprint: string;
  serial: string;
}

function load(certFile: string, keyFile: string): Issued {
  const certPem = readFileSync(certFile, "utf8");
  const x509 = new X509Certificate(certPem);
  return {
    certFile,
    keyFile,
    certPem,
    keyPem: readFileSync(keyFile, "utf8"),
    fingerprint: x509.fingerprint256.replace(/:/g, "").toLowerCase(),
    serial: x509.serialNumber.toLowerCase(),
  };
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
const RSA = ["-newkey", "rsa:2048", "-nodes"];

export function makeCa(dir: TempDir, cn: string): Issued {
  const keyFile = dir.out("ca.key");
  const certFile = dir.out("ca.pem");
  opensslOk([
    "req",
    "-x509",
    ...EC,
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-subj",
    `/CN=${cn}`,
    "-days",
    "1",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  return load(certFile, keyFile);
}

/**
 * A leaf signed by `ca`: `usage` "server" (SANs IP:127.0.0.1, DNS:localhost) or "client", with
 * a P-256 key unless `key` says RSA (2048 bits).
 */
export function makeLeaf(
  dir: TempDir,
  ca: Issued,
  cn: string,
  usage: "server" | "client",
  extraSans: string[] = [],
  key: "ec" | "rsa" = "ec",
): Issued {
  const sans = [...(usage === "server" ? ["IP:127.0.0.1", "DNS:localhost"] : []), ...extraSans];
  return issueUnder(dir, ca, cn, key, [
    "basicConstraints=critical,CA:FALSE",
    // keyEncipherment lets an RSA key do static-RSA key transport, so that refusing those
    // suites is the server's cipher policy, not the certificate's doing.
    `keyUsage=critical,digitalSignature${key === "rsa" ? ",keyEncipherment" : ""}`,
    `extendedKeyUsage=${usage === "server" ? "serverAuth" : "clientAuth"}`,
    ...(sans.length > 0 ? [`subjectAltName=${sans.join(",")}`] : []),
  ]);
}

/** An intermediate CA certificate (P-256, path length 0) signed by `ca`. */
export function makeIntermediate(dir: TempDir, ca: Issued, cn: string): Issued {
  return issueUnder(dir, ca, cn, "ec", [
    "basicConstraints=critical,CA:TRUE,pathlen:0",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

/** A new key and a certificate for it signed by `ca`, for one day, with these extensions. */
function issueUnder(
  dir: TempDir,
  ca: Issued,
  cn: string,
  key: "ec" | "rsa",
  extensions: string[],
): Issued {
  const keyFile = dir.out("leaf.key");
  const csr = dir.out("leaf.csr");
  const certFile = dir.out("leaf.pem");
  const newKey = key === "rsa" ? RSA : EC;
  // An empty cn: an empty subject, as a SAN-only certificate has (RFC 5280 4.1.2.6).
  const subject = cn === "" ? "/" : `/CN=${cn}`;
  opensslOk(["req", "-new", ...newKey, "-keyout", keyFile, "-out", csr, "-subj", subject]);
  opensslOk([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.certFile,
    "-CAkey",
    ca.keyFile,
    "-set_serial",
    // A leading 01: positive, minimally encoded, so every tool prints the same hex.
    `0x01${randomBytes(15).toString("hex")}`,
    "-days",
    "1",
    "-extfile",
    dir.file("leaf.ext", extensions.join("\n")),
    "-out",
    certFile,
  ]);
  return load(certFile, keyFile);
}

/** Replaces `target` with `content` atomically: write a sibling file, then rename over it. */
export function replaceAtomically(target: string, content: string): void {
  const tmp = `${target}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  renameSync(tmp, target);
}

/** Opens a new TLS connection (ALPN h2, as gRPC does) and returns the served certificate's fingerprint. */
export function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca, ALPNProtocols: ["h2"] }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve(fp.replace(/:/g, "").toLowerCase());
    });
    socket.once("error", reject);
  });
}

/** grpc.health.v1 Check over TLS on a new connection; resolves the status or rejects the error. */
export function tlsHealthCheck(
  port: number,
  ca: string,
  client?: { keyPem: string; certPem: string },
): Promise<string> {
  const creds = credentials.createSsl(
    Buffer.from(ca),
    client ? Buffer.from(client.keyPem) : null,
    client ? Buffer.from(client.certPem) : null,
  );
  return healthCheckWith(`127.0.0.1:${port}`, creds);
}

/** The health client's constructor also takes channel options. */
export const HealthClientWithOptions = HealthClient as unknown as new (
  address: string,
  creds: ChannelCredentials,
  options: ChannelOptions,
) => InstanceType<typeof HealthClient>;

export function healthCheckWith(address: string, creds: ChannelCredentials): Promise<string> {
  const client = new HealthClientWithOptions(address, creds, OWN_CONNECTION);
  return new Promise((resolve, reject) => {
    client.check({ service: "" }, { deadline: Date.now() + WAIT_TIMEOUT_MS }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res.status);
    });
  });
}

/** Polls `probe` until it returns true (test/support/wait.ts, here for the TLS tests' imports). */
export { waitFor } from "../support/wait";
