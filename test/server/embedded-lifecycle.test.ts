/**
 * The embedded default as a tested mode (issue 11): a server process started exactly as
 * `make run` starts it (no DATABASE_URL: PGlite in a temporary data directory) goes through
 * the main lifecycle over gRPC: CAs, policy, profile, issuance with a CSR and with a generated
 * key, renewal, revocation, the CRL; then an idle gap longer than the pool's idle timeout
 * (the pool closes its connection and the next call opens a new one on the same PGlite
 * session: it used to fail every issuance with "prepared statement already exists"); a
 * restart; and a SIGKILL with a request left PENDING, which its replay finishes.
 *
 * The pool's idle timeout is set short (CERTMINT_DATABASE_IDLE_TIMEOUT_MS); the test waits
 * for the state it needs (the server's debug log says when the embedded session closed and
 * opened), never for a duration.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateAuthorityStatus,
  CreateIntermediateCertificateAuthorityRequest,
  CreateRootCertificateAuthorityRequest,
  ListCertificateAuthoritiesRequest,
  UpdateCertificateAuthorityRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import { CreateCertificateProfileRequest } from "../../gen/ts/certmint/v1/certificate_profile_service";
import {
  ApproveCertificateRequestRequest,
  CertificateRequestStatus,
  CertificateStatus,
  CertificateView,
  IssueCertificateRequest,
  type IssuedCertificate,
  ListCertificatesRequest,
  RenewCertificateRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm, RevocationReason } from "../../gen/ts/certmint/v1/common";
import { createTlsServerPolicy, opensslCsr } from "../support/fixtures";
import { type CertmintClients, call, decodeError, makeClients } from "../support/harness";
import { openssl, opensslOk, TempDir } from "../support/openssl";
import {
  checkHealth,
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../support/server-process";
import { waitFor } from "../tls/pki";

const ISSUED = CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED;
const PENDING = CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING;

/** The server's JSON log lines. */
const logLines = (server: ServerProcess) =>
  server
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { msg: string; session?: number });

/** The embedded session events the server logged (debug level), as "opened N" / "closed N". */
const sessionEvents = (server: ServerProcess) =>
  logLines(server)
    .filter((l) => l.msg.startsWith("embedded database session "))
    .map((l) => `${l.msg.slice("embedded database session ".length)} ${l.session}`);

// Each test may (re)start the server: a first start creates the PGlite database.
describe("the embedded default (make run without DATABASE_URL), end to end", {
  timeout: 2 * START_LIMIT_MS,
}, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "certmint-embedded-"));
  const tmp = new TempDir();
  const env = {
    DATABASE_URL: "",
    CERTMINT_DATA_DIR: dataDir,
    CERTMINT_LOG_LEVEL: "debug",
    CERTMINT_DATABASE_IDLE_TIMEOUT_MS: "300",
    // The server's own background work (certificate events numbered every 250 ms on the
    // embedded database, the renewer's tick) would keep the pooled connection busy, so the idle
    // close this test is about would never come: slowed down and off here.
    CERTMINT_WATCH_POLL_MS: "60000",
    CERTMINT_RENEWAL_ENABLED: "false",
  };
  let server: ServerProcess;
  let c: CertmintClients;
  const start = async () => {
    server = await startServerProcess(env);
    c = makeClients(server.address, server.adminToken());
  };
  const closeClients = () => {
    for (const client of Object.values(c ?? {})) (client as Client).close();
  };
  let root: { id: string; certificatePem: string };
  let issuing: { id: string; certificatePem: string };
  let fromCsr: IssuedCertificate;
  let generated: IssuedCertificate;
  let renewed: IssuedCertificate;

  const issueWithCsr = async (name: string, requestId = "") => {
    const { csrPem } = opensslCsr(`/CN=${name}`, [`DNS:${name}`]);
    const res = await call(
      c.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: "web",
        requestId,
        source: { $case: "csrPem", value: csrPem },
      }),
    );
    expect(res.status).toBe(ISSUED);
    return res.certificate!;
  };
  const issueGenerated = (profile: string, name: string, requestId: string) =>
    call(
      c.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: profile,
        requestId,
        source: {
          $case: "attributes",
          value: { subject: { commonName: name }, subjectAlternativeNames: { dnsNames: [name] } },
        },
      }),
    );
  /** RenewCertificate with the original's key (a CSR certificate's default). */
  const renew = (certificateId: string, requestId: string) =>
    call(
      c.certificates,
      "renewCertificate",
      RenewCertificateRequest.fromPartial({ certificateId, requestId }),
    );
  /** The certificate verifies up to the root with openssl (-x509_strict). */
  const verifyChain = (cert: IssuedCertificate) => {
    const out = openssl([
      "verify",
      "-x509_strict",
      "-CAfile",
      tmp.file("root.pem", root.certificatePem),
      "-untrusted",
      tmp.file("issuing.pem", issuing.certificatePem),
      tmp.file("leaf.pem", cert.certificatePem),
    ]);
    expect(out.stdout + out.stderr).toMatch(/: OK/);
  };

  beforeAll(start, START_LIMIT_MS + 60_000);
  afterAll(async () => {
    closeClients();
    await server?.stop();
    tmp.remove();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("runs on PGlite in the data directory", () => {
    const ready = logLines(server).find((l) => l.msg === "database ready");
    expect(ready).toMatchObject({ embedded: true, dataDir });
  });

  it("creates CAs, a policy and profiles, issues with a CSR and with a generated key, renews, revokes and lists the revocation in the CRL", async () => {
    root = (
      await call(
        c.authorities,
        "createRootCertificateAuthority",
        CreateRootCertificateAuthorityRequest.fromPartial({
          slug: "root",
          subject: { commonName: "Embedded Root", organization: ["Example"] },
          maxPathLength: 1,
        }),
      )
    ).certificateAuthority!;
    issuing = (
      await call(
        c.authorities,
        "createIntermediateCertificateAuthority",
        CreateIntermediateCertificateAuthorityRequest.fromPartial({
          slug: "issuing",
          parentCertificateAuthority: "root",
          subject: { commonName: "Embedded Issuing CA" },
        }),
      )
    ).certificateAuthority!;
    await createTlsServerPolicy(c, "web-tls", 2_592_000);
    for (const [slug, requireApproval, keyAlgorithm] of [
      ["web", false, KeyAlgorithm.KEY_ALGORITHM_EC_P256],
      // RSA-4096 keys take long to generate: the SIGKILL below finds a request PENDING.
      ["gated", true, KeyAlgorithm.KEY_ALGORITHM_RSA_4096],
      ["gated-ec", true, KeyAlgorithm.KEY_ALGORITHM_EC_P256],
    ] as const) {
      await call(
        c.profiles,
        "createCertificateProfile",
        CreateCertificateProfileRequest.fromPartial({
          certificateProfile: {
            slug,
            certificatePolicy: "web-tls",
            issuer: { $case: "certificateAuthority", value: "issuing" },
            defaults: { ttl: { seconds: "604800", nanos: 0 }, keyAlgorithm },
            requireApproval,
            // The one admin token both requests and approves here.
            allowSelfApproval: requireApproval,
          },
        }),
      );
    }

    fromCsr = await issueWithCsr("api.example.com", "csr-1");
    verifyChain(fromCsr);
    const gen = await issueGenerated("web", "gen.example.com", "gen-1");
    expect(gen.status).toBe(ISSUED);
    generated = gen.certificate!;
    verifyChain(generated);
    expect(
      new X509Certificate(generated.certificatePem).checkPrivateKey(
        createPrivateKey(gen.privateKeyPem),
      ),
    ).toBe(true);

    const renewal = await renew(fromCsr.certificateId, "renew-1");
    expect(renewal.status).toBe(ISSUED);
    renewed = renewal.certificate!;
    verifyChain(renewed);
    expect(
      new X509Certificate(renewed.certificatePem).publicKey.export({ type: "spki", format: "pem" }),
    ).toBe(
      new X509Certificate(fromCsr.certificatePem).publicKey.export({ type: "spki", format: "pem" }),
    );

    const revoked = await call(c.certificates, "revokeCertificate", {
      certificate: generated.certificateId,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    expect(revoked.certificate!.status).toBe(CertificateStatus.CERTIFICATE_STATUS_REVOKED);
    expectCrlLists(await crlText(), [generated.serialNumber], [renewed.serialNumber]);

    // Name search runs on PGlite's trigram GiST index as on PostgreSQL's.
    const found = await call(
      c.certificates,
      "listCertificates",
      ListCertificatesRequest.fromPartial({ nameContains: "gen.example", pageSize: 10 }),
    );
    expect(found.certificates.map((x) => x.id)).toEqual([generated.certificateId]);
    expect(found.certificates[0]!.certificatePem).toBe(generated.certificatePem);
    // The BASIC view: the same certificate without its PEMs.
    const basic = await call(
      c.certificates,
      "listCertificates",
      ListCertificatesRequest.fromPartial({
        nameContains: "gen.example",
        pageSize: 10,
        view: CertificateView.CERTIFICATE_VIEW_BASIC,
      }),
    );
    expect(basic.certificates).toEqual([
      { ...found.certificates[0]!, certificatePem: "", certificateChainPem: [] },
    ]);
  });

  const crlText = async () => {
    const crl = await call(c.authorities, "getCertificateRevocationList", {
      certificateAuthority: "issuing",
      encoding: 0,
      knownCrlNumber: "",
    });
    const file = tmp.file("crl.pem", crl.crlPem);
    const verified = openssl([
      "crl",
      "-in",
      file,
      "-CAfile",
      tmp.file("issuing.pem", issuing.certificatePem),
      "-verify",
      "-noout",
    ]);
    expect(verified.stdout + verified.stderr).toMatch(/verify OK/);
    return opensslOk(["crl", "-in", file, "-noout", "-text"]);
  };
  const expectCrlLists = (text: string, listed: string[], absent: string[]) => {
    for (const serial of listed) expect(text).toContain(`Serial Number: ${serial.toUpperCase()}`);
    for (const serial of absent) expect(text).not.toContain(serial.toUpperCase());
  };

  it("issues concurrent CSR requests, each its own certificate, and replays one of them", async () => {
    // On PGlite (one session, run in the server's own thread) calls that arrive together take
    // turns; a call with nothing else reading or storing runs on held rows (the issuance
    // repository), whose store re-checks them: what make run does under load.
    const names = Array.from({ length: 12 }, (_, i) => `together-${i}.example.com`);
    const csrs = names.map((n) => opensslCsr(`/CN=${n}`, [`DNS:${n}`]).csrPem);
    const issueCsr = async (csrPem: string, requestId: string) => {
      const res = await call(
        c.certificates,
        "issueCertificate",
        IssueCertificateRequest.fromPartial({
          certificateProfile: "web",
          requestId,
          source: { $case: "csrPem", value: csrPem },
        }),
      );
      expect(res.status).toBe(ISSUED);
      return res.certificate!;
    };
    const issued = await Promise.all(csrs.map((csr, i) => issueCsr(csr, `together-${i}`)));
    expect(new Set(issued.map((x) => x.certificateId)).size).toBe(names.length);
    for (const [i, cert] of issued.entries()) {
      expect(new X509Certificate(cert.certificatePem).subjectAltName).toBe(`DNS:${names[i]}`);
      verifyChain(cert);
    }
    // One at a time after them (held rows), and a replay of one of the batch.
    verifyChain(await issueWithCsr("after-together.example.com", "after-together"));
    const again = await issueCsr(csrs[3]!, "together-3");
    expect(again.certificateId).toBe(issued[3]!.certificateId);
    expect(again.certificatePem).toBe(issued[3]!.certificatePem);
  });

  it("keeps issuing and renewing after the pool closed its idle connection (a new connection on the same session)", async () => {
    // The pool's idle timeout (300 ms) ends the connection the last call used: wait until
    // the server says the session it opened last is closed, so no connection is open.
    let last = 0;
    await waitFor(
      "the pool to close its idle embedded connection",
      () => {
        const events = sessionEvents(server);
        const opened = events.filter((e) => e.startsWith("opened ")).map((e) => Number(e.slice(7)));
        last = Math.max(0, ...opened);
        return last > 0 && events.includes(`closed ${last}`);
      },
      60_000,
    );

    const again = await issueWithCsr("after-idle.example.com", "csr-after-idle");
    verifyChain(again);
    const renewal = await renew(again.certificateId, "renew-after-idle");
    expect(renewal.status).toBe(ISSUED);
    // Served on a new connection, which started on a reset session.
    expect(sessionEvents(server)).toContain(`opened ${last + 1}`);
  });

  it("keeps every row over a restart", async () => {
    closeClients();
    expect(await server.stop()).toBe(0);
    await start();
    expect(logLines(server).find((l) => l.msg === "database ready")).toMatchObject({ applied: [] });
    const got = await call(c.certificates, "getCertificate", {
      certificate: renewed.certificateId,
    });
    expect(got.certificate!.serialNumber).toBe(renewed.serialNumber);
    const cas = await call(
      c.authorities,
      "listCertificateAuthorities",
      ListCertificateAuthoritiesRequest.fromPartial({}),
    );
    expect(cas.certificateAuthorities.map((ca) => ca.slug).sort()).toEqual(["issuing", "root"]);
    expectCrlLists(await crlText(), [generated.serialNumber], [renewed.serialNumber]);
  });

  it("approves on the embedded database: every check under the request's lock reads on the lock's connection", async () => {
    // The embedded pool has one connection, the one that holds a request's lock while the
    // approval's checks run: a read on another waited for it until the pool gave up (60 s, then
    // UNAVAILABLE). Until stop 47 of 2026-12-06 those checks read the profile (self-approval)
    // and the CA that way: every approval here hung, and a replay that took a claim over too.
    const approve = (id: string) =>
      call(
        c.certificates,
        "approveCertificateRequest",
        ApproveCertificateRequestRequest.fromPartial({ certificateRequestId: id }),
      );
    const waiting = await issueGenerated("gated-ec", "approved.example.com", "approve-1");
    expect(waiting.status).toBe(
      CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL,
    );
    const approved = await approve(waiting.certificateRequestId);
    expect(approved.certificateRequest!.status).toBe(ISSUED);
    const status = await call(c.certificates, "getRequestStatus", {
      certificateRequestId: waiting.certificateRequestId,
    });
    verifyChain(status.certificate!);

    // The CA disabled meanwhile: refused CA_DISABLED, the request waits again; enabled, approved.
    const second = await issueGenerated("gated-ec", "later.example.com", "approve-2");
    const setIssuing = (s: CertificateAuthorityStatus) =>
      call(
        c.authorities,
        "updateCertificateAuthority",
        UpdateCertificateAuthorityRequest.fromPartial({
          certificateAuthority: { id: issuing.id, status: s },
          updateMask: ["status"],
        }),
      );
    await setIssuing(CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_DISABLED);
    const refused = await approve(second.certificateRequestId).then(
      () => undefined,
      (err: unknown) => decodeError(err),
    );
    expect(refused).toMatchObject({ code: 9, reason: "CA_DISABLED" });
    expect(
      (
        await call(c.certificates, "getRequestStatus", {
          certificateRequestId: second.certificateRequestId,
        })
      ).certificateRequest!.status,
    ).toBe(CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL);
    await setIssuing(CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_ACTIVE);
    expect((await approve(second.certificateRequestId)).certificateRequest!.status).toBe(ISSUED);
  });

  it("survives SIGKILL: restarts on the same data, serves, and finishes a request left PENDING on its replay", async () => {
    // An approved request whose RSA-4096 key is being generated is PENDING, committed before
    // the key generation starts; kill the server in that state. A key generated faster than
    // the poll could see it leaves nothing PENDING: try again with a new request.
    let orphan: { id: string; requestId: string } | undefined;
    for (let attempt = 1; !orphan; attempt++) {
      expect(attempt, "a request seen PENDING at the kill").toBeLessThanOrEqual(5);
      const requestId = `orphan-${attempt}`;
      const submitted = await issueGenerated("gated", `orphan${attempt}.example.com`, requestId);
      const id = submitted.certificateRequestId;
      const approval = call(
        c.certificates,
        "approveCertificateRequest",
        ApproveCertificateRequestRequest.fromPartial({ certificateRequestId: id }),
      ).catch(() => undefined); // the kill ends it
      let status = submitted.status;
      await waitFor(
        "the approved request to be PENDING or ISSUED",
        async () => {
          status = (await call(c.certificates, "getRequestStatus", { certificateRequestId: id }))
            .certificateRequest!.status;
          return status === PENDING || status === ISSUED;
        },
        60_000,
      );
      if (status === PENDING) {
        closeClients();
        await server.stop("SIGKILL");
        orphan = { id, requestId };
      }
      await approval;
    }

    await start();
    expect(await checkHealth(server.address)).toBe("SERVING");
    // The data from before the kill is there.
    const kept = await call(c.certificates, "getCertificate", {
      certificate: renewed.certificateId,
    });
    expect(kept.certificate!.serialNumber).toBe(renewed.serialNumber);
    const before = await call(c.certificates, "getRequestStatus", {
      certificateRequestId: orphan.id,
    });
    expect(before.certificateRequest!.status).toBe(PENDING);

    // The requester's replay takes the orphan over and signs it under its reserved serial.
    const n = orphan.requestId.split("-")[1];
    const replay = await issueGenerated("gated", `orphan${n}.example.com`, orphan.requestId);
    expect(replay.status).toBe(ISSUED);
    expect(replay.certificateRequestId).toBe(orphan.id);
    verifyChain(replay.certificate!);
    const after = await call(c.certificates, "getRequestStatus", {
      certificateRequestId: orphan.id,
    });
    expect(after.certificateRequest!.status).toBe(ISSUED);
    expect(after.certificate!.certificateId).toBe(replay.certificate!.certificateId);
    // And the server keeps issuing.
    verifyChain(await issueWithCsr("after-kill.example.com"));
  });
});
