/**
 * Stop-49 outside probe: the story README tells a first user, on the mode they run first (the
 * embedded default, `make run`: the compiled server with README's node flags, no DATABASE_URL,
 * PGlite in CERTMINT_DATA_DIR), on a live server process.
 *
 * README "A first certificate with the CLI" (three commands, openssl verify OK), then the rest of
 * the lifecycle over gRPC (a CSR, renewal, revocation, GetRequestStatus, listing), the CRL and
 * OCSP over HTTP (CERTMINT_PUBLICATION_LISTEN), what another local user can reach (file modes,
 * sockets), a second server on the same data directory, and a restart (SIGTERM with a watch
 * stream open) that keeps everything: rows, tokens, growing CRL numbers.
 */
import { spawnSync } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../../gen/ts/certmint/v1/access_token_service";
import {
  CertificateRequestStatus,
  CertificateStatus,
  ListCertificatesRequest,
  RenewCertificateRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { opensslCsr } from "../../support/fixtures";
import { type CertmintClients, call, decodeError, makeClients } from "../../support/harness";
import { openssl, opensslOk, TempDir } from "../../support/openssl";
import {
  checkHealth,
  isAlive,
  logLines,
  type ServerProcess,
  START_LIMIT_MS,
  serverCommand,
} from "../../support/server-process";
import { waitFor } from "../../support/wait";
import { WatchStream } from "../../support/watch-stream";
import {
  cli,
  closeClients,
  csrIssueRequest,
  EMBEDDED,
  generatedKeyRequest,
  MAKE_RUN_NODE_ARGS,
  openSockets,
  publicationPort,
  startEmbedded,
} from "./support";

const ISSUED = CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED;

describe("probe49 EMB: README's first use on the embedded default", {
  timeout: 2 * START_LIMIT_MS,
}, () => {
  const base = mkdtempSync(join(tmpdir(), "certmint-probe49-emb-"));
  const dataDir = join(base, "data");
  const work = join(base, "work");
  const tmp = new TempDir();
  const env = { CERTMINT_PUBLICATION_LISTEN: "127.0.0.1:0" };
  let server: ServerProcess;
  let c: CertmintClients;
  let rootPem = "";
  let rootId = "";
  let issuerToken = "";
  let revokedSerial = "";
  let firstCrlNumber = 0n;

  const start = async () => {
    server = await startEmbedded(dataDir, env);
    c = makeClients(server.address, server.adminToken());
  };
  const crlOverHttp = async () => {
    const res = await fetch(`http://127.0.0.1:${publicationPort(server)}/crl/${rootId}.crl`);
    expect(res.status).toBe(200);
    const der = Buffer.from(await res.arrayBuffer());
    const file = tmp.file("crl.der", der);
    const verified = openssl([
      "crl",
      "-inform",
      "DER",
      "-in",
      file,
      "-CAfile",
      tmp.file("root.pem", rootPem),
      "-verify",
      "-noout",
    ]);
    expect(verified.stdout + verified.stderr).toMatch(/verify OK/);
    const text = opensslOk(["crl", "-inform", "DER", "-in", file, "-noout", "-text"]);
    const number = /X509v3 CRL Number:\s*\n\s*(\S+)/.exec(text)![1]!;
    // openssl prints a small cRLNumber in decimal, a large one as 0x... hex.
    return { text, number: BigInt(number) };
  };
  const ocspStatus = (leafPem: string) => {
    const out = openssl([
      "ocsp",
      "-issuer",
      tmp.file("root.pem", rootPem),
      "-cert",
      tmp.file("leaf-ocsp.pem", leafPem),
      "-url",
      `http://127.0.0.1:${publicationPort(server)}/ocsp`,
      "-CAfile",
      tmp.file("root.pem", rootPem),
      "-no_nonce",
    ]);
    return out.stdout + out.stderr;
  };

  beforeAll(async () => {
    mkdirSync(work);
    await start();
  }, START_LIMIT_MS + 60_000);
  afterAll(async () => {
    closeClients(c);
    await server?.stop();
    tmp.remove();
    rmSync(base, { recursive: true, force: true });
  });

  it("README's three CLI commands put a certificate on disk that openssl verifies; its key is 0600", () => {
    const root = cli(server, work, [
      "ca",
      "create-root",
      "example-root",
      "--cn",
      "Example Root CA",
    ]);
    expect(root.stderr).toBe("");
    expect(root.status).toBe(0);
    rootId = /^id:\s+(\S+)/m.exec(root.stdout)![1]!;
    const profile = cli(server, work, [
      "profile",
      "create",
      "servers",
      "--ca",
      "example-root",
      "--preset",
      "tls-server",
      "--allow-dns",
      "**.example.com",
    ]);
    expect(profile.status).toBe(0);
    const issued = cli(server, work, [
      "cert",
      "issue",
      "--profile",
      "servers",
      "--dns",
      "api.example.com",
    ]);
    expect(issued.status).toBe(0);
    expect(issued.stdout).toMatch(/status:\s+issued/);
    const verify = openssl([
      "verify",
      "-x509_strict",
      "-CAfile",
      join(work, "api.example.com.chain.pem"),
      join(work, "api.example.com.crt"),
    ]);
    expect(verify.stdout).toContain("api.example.com.crt: OK");
    expect(statSync(join(work, "api.example.com.key")).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(readFileSync(join(work, "api.example.com.crt")));
    expect(
      cert.checkPrivateKey(createPrivateKey(readFileSync(join(work, "api.example.com.key")))),
    ).toBe(true);
    expect(cert.subjectAltName).toBe("DNS:api.example.com");
    rootPem = readFileSync(join(work, "api.example.com.chain.pem"), "utf8");
  });

  it("issues from a CSR, renews, revokes; GetRequestStatus, listing, CRL and OCSP over HTTP agree", async () => {
    const { csrPem, keyPem } = opensslCsr("/", ["DNS:www.example.com"]);
    const fromCsr = await call(
      c.certificates,
      "issueCertificate",
      csrIssueRequest("servers", "probe49-csr-1", csrPem),
    );
    expect(fromCsr.status).toBe(ISSUED);
    const leaf = fromCsr.certificate!;
    expect(new X509Certificate(leaf.certificatePem).checkPrivateKey(createPrivateKey(keyPem))).toBe(
      true,
    );
    const status = await call(c.certificates, "getRequestStatus", {
      certificateRequestId: fromCsr.certificateRequestId,
    });
    expect(status.certificateRequest!.status).toBe(ISSUED);
    expect(status.certificate!.certificatePem).toBe(leaf.certificatePem);

    const renewal = await call(
      c.certificates,
      "renewCertificate",
      RenewCertificateRequest.fromPartial({
        certificateId: leaf.certificateId,
        requestId: "probe49-renew-1",
      }),
    );
    expect(renewal.status).toBe(ISSUED);
    const renewed = renewal.certificate!;
    const verify = openssl([
      "verify",
      "-x509_strict",
      "-CAfile",
      tmp.file("root.pem", rootPem),
      tmp.file("renewed.pem", renewed.certificatePem),
    ]);
    expect(verify.stdout).toMatch(/: OK/);

    expect(ocspStatus(leaf.certificatePem)).toMatch(/leaf-ocsp\.pem: good/);
    firstCrlNumber = (await crlOverHttp()).number;

    const revoked = await call(c.certificates, "revokeCertificate", {
      certificate: leaf.certificateId,
      // Not keyCompromise: that revokes the renewal too, which shares the key.
      reason: RevocationReason.REVOCATION_REASON_CESSATION_OF_OPERATION,
    });
    expect(revoked.certificate!.status).toBe(CertificateStatus.CERTIFICATE_STATUS_REVOKED);
    revokedSerial = leaf.serialNumber;
    const crl = await crlOverHttp();
    expect(crl.number).toBeGreaterThan(firstCrlNumber);
    expect(crl.text).toContain(`Serial Number: ${revokedSerial.toUpperCase()}`);
    expect(crl.text).not.toContain(renewed.serialNumber.toUpperCase());
    expect(ocspStatus(leaf.certificatePem)).toMatch(/leaf-ocsp\.pem: revoked/);
    expect(ocspStatus(renewed.certificatePem)).toMatch(/leaf-ocsp\.pem: good/);
    firstCrlNumber = crl.number;

    const listed = await call(
      c.certificates,
      "listCertificates",
      ListCertificatesRequest.fromPartial({ pageSize: 50 }),
    );
    // The CLI's api.example.com, the CSR's certificate and its renewal.
    expect(listed.certificates).toHaveLength(3);
    expect(listed.certificates.map((x) => x.id)).toEqual(
      expect.arrayContaining([leaf.certificateId, renewed.certificateId]),
    );
    const token = await call(
      c.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug: "probe49-issuer",
          role: Role.ROLE_ISSUER,
          certificateProfiles: ["servers"],
        },
        requestId: "probe49-token",
      }),
    );
    issuerToken = token.secret;
    expect(issuerToken).toMatch(/^certmint_/);
  });

  it("keeps the data directory and its secrets from other local users", () => {
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(dataDir)) {
      const st = statSync(join(dataDir, name));
      // Nothing in it is open to group or others: not a secret, not the database's directory.
      expect({ name, mode: (st.mode & 0o077).toString(8) }).toEqual({ name, mode: "0" });
    }
    expect(statSync(join(dataDir, "kek.key")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, "admin-token")).mode & 0o777).toBe(0o600);
  });

  it("listens on the gRPC address and the publication port only: no other TCP, UDP or unix socket", () => {
    const sockets = openSockets(server.child.pid!);
    expect(sockets.tcpListening.sort()).toEqual(
      [server.address, `127.0.0.1:${publicationPort(server)}`].sort(),
    );
    expect(sockets.udp).toEqual([]);
    // A unix socket another user could connect to (an internal database socket) would show here.
    expect(sockets.unix.filter((p) => !p.startsWith("@"))).toEqual([]);
  });

  it("refuses a second server on the same data directory with a clear message; the first is unharmed", async () => {
    const node = serverCommand();
    const second = spawnSync(node.command, [...MAKE_RUN_NODE_ARGS, ...node.args], {
      cwd: base,
      encoding: "utf8",
      timeout: START_LIMIT_MS,
      env: {
        ...process.env,
        ...EMBEDDED,
        CERTMINT_DATA_DIR: dataDir,
        CERTMINT_LISTEN: "127.0.0.1:0",
        CERTMINT_LOG_FORMAT: "pretty",
      },
    });
    expect(second.status).not.toBe(0);
    const said = second.stdout + second.stderr;
    expect(said).toContain(String(server.child.pid));
    expect(said).not.toMatch(/\n\s+at .+:\d+:\d+/);
    expect(isAlive(server.child.pid!)).toBe(true);
    expect(await checkHealth(server.address)).toBe("SERVING");
    const again = await call(
      c.certificates,
      "issueCertificate",
      generatedKeyRequest("servers", "probe49-after-second", "second.example.com"),
    );
    expect(again.status).toBe(ISSUED);
  });

  it("stops on SIGTERM with a watch stream open (ended UNAVAILABLE, never INTERNAL), exit 0; a restart keeps rows, tokens and CRL numbers growing", async () => {
    const watch = new WatchStream(c, {});
    await waitFor("the watch stream to open", () => watch.open);
    const exit = server.stop();
    await waitFor("the watch stream to end", () => watch.error !== undefined);
    expect(decodeError(watch.error).code).toBe(14);
    expect(await exit).toBe(0);
    closeClients(c);

    await start();
    expect(logLines(server).find((l) => l.msg === "database ready")).toMatchObject({
      embedded: true,
      applied: [],
    });
    expect(server.output()).not.toContain("created a new data directory");
    // The CLI's admin token and the issuer token made before the restart both still work.
    const listed = cli(server, work, ["cert", "list"]);
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain("api.example.com");
    const asIssuer = makeClients(server.address, issuerToken);
    try {
      const res = await call(
        asIssuer.certificates,
        "issueCertificate",
        generatedKeyRequest("servers", "probe49-after-restart", "restart.example.com"),
      );
      expect(res.status).toBe(ISSUED);
    } finally {
      closeClients(asIssuer);
    }
    // The request_id before the restart still names its certificate.
    const replay = await call(
      c.certificates,
      "issueCertificate",
      generatedKeyRequest("servers", "probe49-after-second", "second.example.com"),
    );
    expect(replay.status).toBe(ISSUED);
    const crl = await crlOverHttp();
    expect(crl.number).toBeGreaterThanOrEqual(firstCrlNumber);
    expect(crl.text).toContain(`Serial Number: ${revokedSerial.toUpperCase()}`);
    await call(c.certificates, "revokeCertificate", {
      certificate: replay.certificate!.certificateId,
      reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
    });
    expect((await crlOverHttp()).number).toBeGreaterThan(crl.number);
  });
});
