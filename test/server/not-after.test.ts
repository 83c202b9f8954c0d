/**
 * The notAfter metrics an operator alerts on before something expires: the TLS certificate the
 * gRPC port serves (certmint_tls_certificate_not_after_seconds{listener="grpc"}, as loaded at
 * start-up and by each reload of the files) and each CA's certificate
 * (certmint_ca_not_after_seconds{ca_id}, by the CA's id: never a caller's text). With
 * CERTMINT_PROCESSES=2 the supervisor's /metrics has each once, with the certificate's value, not
 * the sum of the workers'. Until stop 42 of 2026-12-06 neither existed: an expiring serving
 * certificate or CA showed nowhere until clients failed.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Issuer, issueCertificate, newSerialNumber, SoftwareSigner } from "../../src/signer";
import { parseExposition } from "../metrics/prometheus";
import { createRoot } from "../support/fixtures";
import { makeClients, type TestCertmint } from "../support/harness";
import { TempDir } from "../support/openssl";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import {
  logLines,
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../support/server-process";
import {
  type Issued,
  makeCa,
  makeLeaf,
  replaceAtomically,
  servedFingerprint,
  waitFor,
} from "../tls/pki";
import { type LoggedCertmint, startLogged } from "../tls/server";

const TLS_GAUGE = "certmint_tls_certificate_not_after_seconds";
const CA_GAUGE = "certmint_ca_not_after_seconds";

const notAfterSeconds = (pem: string) => Date.parse(new X509Certificate(pem).validTo) / 1000;

async function scrape(port: number) {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
}

const samplesOf = (e: ReturnType<typeof parseExposition>, name: string) =>
  e.samples.filter((s) => s.name === name);

/** A root CA created over TLS, with the admin token of the server's data directory. */
async function createRootOverTls(
  address: string,
  dataDir: string,
  caPem: string,
  db: TestDatabase,
) {
  const token = readFileSync(join(dataDir, "admin-token"), "utf8").trim();
  const clients = makeClients(address, token, credentials.createSsl(Buffer.from(caPem)));
  try {
    return await createRoot(
      { db, authorities: clients.authorities } as unknown as TestCertmint,
      "expiry-root",
    );
  } finally {
    clients.authorities.close();
  }
}

describe("notAfter gauges, one process", () => {
  const dir = new TempDir();
  let db: TestDatabase;
  let ca: Issued;
  let first: Issued;
  let certFile: string;
  let keyFile: string;
  let dataDir: string;
  let server: LoggedCertmint;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    ca = makeCa(dir, "not-after CA");
    first = makeLeaf(dir, ca, "certmint.test", "server");
    certFile = join(dir.path, "live-cert.pem");
    keyFile = join(dir.path, "live-key.pem");
    copyFileSync(first.certFile, certFile);
    copyFileSync(first.keyFile, keyFile);
    dataDir = mkdtempSync(join(tmpdir(), "certmint-not-after-"));
    server = await startLogged(db.url, {
      CERTMINT_DATA_DIR: dataDir,
      CERTMINT_TLS_CERT_FILE: certFile,
      CERTMINT_TLS_KEY_FILE: keyFile,
      CERTMINT_TLS_RELOAD_INTERVAL_MS: "200",
      CERTMINT_METRICS_LISTEN: "127.0.0.1:0",
    });
  });
  afterAll(async () => {
    await server?.running.shutdown();
    await db?.drop();
    dir.remove();
  });

  it("reports the served certificate's notAfter, then the reloaded one's; and each CA's", async () => {
    const root = await createRootOverTls(`127.0.0.1:${server.port}`, dataDir, ca.certPem, db);
    const metricsPort = server.running.metricsPort!;
    let e = await scrape(metricsPort);
    expect(samplesOf(e, TLS_GAUGE)).toEqual([
      expect.objectContaining({
        labels: { listener: "grpc" },
        value: notAfterSeconds(first.certPem),
      }),
    ]);
    expect(e.types.get(TLS_GAUGE)).toBe("gauge");
    expect(samplesOf(e, CA_GAUGE)).toEqual([
      expect.objectContaining({
        labels: { ca_id: root.id },
        value: notAfterSeconds(root.certificatePem),
      }),
    ]);

    // A new pair, valid now and ending at another second than the first, renamed into place.
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const next = await issueCertificate({
      subject: { attributes: [{ type: "COMMON_NAME", value: "certmint.test" }] },
      sans: { dns: ["localhost"], ip: ["127.0.0.1"], email: [], uri: [] },
      publicKey,
      serial: newSerialNumber(),
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3_600_000),
      isCa: false,
      keyUsages: ["DIGITAL_SIGNATURE"],
      extendedKeyUsages: ["SERVER_AUTH"],
      signatureAlgorithm: "ECDSA_WITH_SHA256",
      issuer: Issuer.from({
        signer: new SoftwareSigner(createPrivateKey(ca.keyPem)),
        certificate: ca.certPem,
      }),
    });
    const nextX509 = new X509Certificate(next.pem);
    expect(notAfterSeconds(next.pem)).not.toBe(notAfterSeconds(first.certPem));
    replaceAtomically(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }).toString());
    replaceAtomically(certFile, next.pem);
    await waitFor(
      "the new certificate to be served",
      async () =>
        (await servedFingerprint(server.port, ca.certPem)) ===
        nextX509.fingerprint256.replace(/:/g, "").toLowerCase(),
    );
    e = await scrape(metricsPort);
    expect(samplesOf(e, TLS_GAUGE)).toEqual([
      expect.objectContaining({ labels: { listener: "grpc" }, value: notAfterSeconds(next.pem) }),
    ]);
  });
});

describe("notAfter gauges with CERTMINT_PROCESSES=2", { timeout: 2 * START_LIMIT_MS }, () => {
  const dir = new TempDir();
  let db: TestDatabase;
  let ca: Issued;
  let leaf: Issued;
  let server: ServerProcess;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    ca = makeCa(dir, "not-after cluster CA");
    leaf = makeLeaf(dir, ca, "certmint.test", "server");
    server = await startServerProcess({
      DATABASE_URL: db.url,
      CERTMINT_PROCESSES: "2",
      CERTMINT_KEK: randomBytes(32).toString("base64"),
      CERTMINT_LOG_FORMAT: "json",
      CERTMINT_TLS_CERT_FILE: leaf.certFile,
      CERTMINT_TLS_KEY_FILE: leaf.keyFile,
      CERTMINT_METRICS_LISTEN: "127.0.0.1:0",
    });
    await waitFor("every worker to serve", () =>
      logLines(server).some((l) => l.msg === "all worker processes serving"),
    );
  }, START_LIMIT_MS + 60_000);
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
    dir.remove();
  });

  it("has each gauge once, with the certificate's notAfter, not summed over the workers", async () => {
    const root = await createRootOverTls(server.address, server.dataDir, ca.certPem, db);
    const port = logLines(server).find(
      (l) => l.msg === "serving Prometheus metrics of all worker processes at /metrics",
    )?.port as number;
    const e = await scrape(port);
    expect(samplesOf(e, TLS_GAUGE)).toEqual([
      expect.objectContaining({
        labels: { listener: "grpc" },
        value: notAfterSeconds(leaf.certPem),
      }),
    ]);
    expect(samplesOf(e, CA_GAUGE)).toEqual([
      expect.objectContaining({
        labels: { ca_id: root.id },
        value: notAfterSeconds(root.certificatePem),
      }),
    ]);
  });
});
