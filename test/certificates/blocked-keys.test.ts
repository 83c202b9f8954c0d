/**
 * A key revoked for key compromise (RFC 5280 5.3.1 keyCompromise) is the key's, not one
 * certificate's: RevokeCertificate revokes every certificate of that key (any profile, any CA,
 * inside a lineage or not) and blocks the key, so no certificate of it is stored again, by any
 * route, even one that raced the revocation. Found left open by an outside probe (2026-12-05):
 * the same CSR sent twice gave two certificates, and revoking one for key compromise left the
 * other valid.
 *
 * Checked against what is independent of certmint: the rows in PostgreSQL, the key's hash as
 * Node's OpenSSL encodes the certificate's SubjectPublicKeyInfo, and each CA's CRL read and
 * verified by openssl.
 */
import { createHash, generateKeyPairSync, X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertificateAuthority } from "../../gen/ts/certmint/v1/certificate_authority_service";
import type { CertmintClients } from "../support/harness";
import { rsaKeyOfPrimes } from "../support/weak-rsa";
import {
  attrRequest,
  CertificateStatus,
  Code,
  call,
  countRows,
  createProfileRows,
  createRoot,
  createToken,
  csrRequest,
  FAILED,
  issue,
  makeCsr,
  opensslOk,
  PENDING_APPROVAL,
  RenewalKeySource,
  RevocationReason,
  Role,
  renewRequest,
  rpcError,
  startTestCertmint,
  TempDir,
  type TestCertmint,
} from "./helpers";

describe("keys revoked for key compromise", () => {
  let h: TestCertmint;
  let root: CertificateAuthority;
  let other: CertificateAuthority;
  let approver: CertmintClients;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
    root = await createRoot(h, "root");
    other = await createRoot(h, "other-root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
    await createProfileRows(h, { caId: other.id, slug: "api" });
    await createProfileRows(h, { caId: root.id, slug: "gated", requireApproval: true });
    approver = (await createToken(h, "second-admin", Role.ROLE_ADMIN)).clients;
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const revokeForKeyCompromise = (certificate: string) =>
    call(h.certificates, "revokeCertificate", {
      certificate,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    }).then((r) => r.certificate!);
  /** SHA-256 of the SubjectPublicKeyInfo as OpenSSL (through Node) encodes the certificate's key. */
  const opensslSpkiSha256 = (pem: string) =>
    createHash("sha256")
      .update(new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" }))
      .digest("hex");
  const reasons = async (ids: string[]) =>
    Object.fromEntries(
      (
        await h.db.query<{ id: string; revocation_reason: string | null }>(
          "select id, revocation_reason from certificate where id = any($1)",
          [ids],
        )
      ).map((r) => [r.id, r.revocation_reason]),
    );
  const unrevokedOfKey = (hash: string) =>
    countRows(h, "certificate", `spki_sha256 = '${hash}' and revoked_at is null`);
  const crlText = (ca: CertificateAuthority) =>
    call(h.authorities, "getCertificateRevocationList", {
      certificateAuthority: ca.id,
      encoding: 0,
      knownCrlNumber: "",
    }).then((crl) => {
      const file = tmp.file(`crl-${ca.id}.pem`, crl.crlPem);
      const caFile = tmp.file(`ca-${ca.id}.pem`, ca.certificatePem);
      opensslOk(["crl", "-in", file, "-CAfile", caFile, "-verify", "-noout"]);
      return opensslOk(["crl", "-in", file, "-noout", "-text"]);
    });

  it("revokes every certificate of the key, in every profile and CA, and blocks the key", async () => {
    const { csrPem } = makeCsr(tmp, "/CN=shared.example.com", ["DNS:shared.example.com"]);
    // The same CSR three times, on two CAs: no lineage links them, only the key.
    const a = (await issue(h, csrRequest("web", csrPem))).certificate!;
    const b = (await issue(h, csrRequest("web", csrPem))).certificate!;
    const c = (await issue(h, csrRequest("api", csrPem))).certificate!;
    const bystander = (
      await issue(h, attrRequest("web", { cn: "by.example.com", dns: ["by.example.com"] }))
    ).certificate!;
    const hash = opensslSpkiSha256(a.certificatePem);
    const [stored] = await h.db.query<{ spki_sha256: string }>(
      "select spki_sha256 from certificate where id = $1",
      [a.certificateId],
    );
    expect(stored!.spki_sha256).toBe(hash);
    expect(await unrevokedOfKey(hash)).toBe(3);

    const res = await revokeForKeyCompromise(b.certificateId);
    expect(res.status).toBe(CertificateStatus.CERTIFICATE_STATUS_REVOKED);
    expect(await reasons([a, b, c, bystander].map((x) => x.certificateId))).toEqual({
      [a.certificateId]: "KEY_COMPROMISE",
      [b.certificateId]: "KEY_COMPROMISE",
      [c.certificateId]: "KEY_COMPROMISE",
      [bystander.certificateId]: null,
    });
    const blocked = await h.db.query<{ spki_sha256: string; certificate_id: string }>(
      "select spki_sha256, certificate_id from blocked_key where spki_sha256 = $1",
      [hash],
    );
    expect(blocked).toEqual([{ spki_sha256: hash, certificate_id: b.certificateId }]);
    // Each revoked certificate has its own audit record.
    for (const x of [a, b, c]) {
      expect(
        await countRows(
          h,
          "audit_record",
          `resource_id = '${x.certificateId}' and method like '%RevokeCertificate'`,
        ),
      ).toBe(1);
    }
    // Each CA's next CRL lists its own certificates of the key, and not the bystander.
    const rootCrl = await crlText(root);
    for (const x of [a, b])
      expect(rootCrl).toContain(`Serial Number: ${x.serialNumber.toUpperCase()}`);
    expect(rootCrl).not.toContain(`Serial Number: ${bystander.serialNumber.toUpperCase()}`);
    expect(await crlText(other)).toContain(`Serial Number: ${c.serialNumber.toUpperCase()}`);
  });

  it("refuses every later certificate of a blocked key with KEY_BLOCKED, storing none", async () => {
    const { csrPem } = makeCsr(tmp, "/CN=later.example.com", ["DNS:later.example.com"]);
    const first = (await issue(h, csrRequest("web", csrPem))).certificate!;
    const hash = opensslSpkiSha256(first.certificatePem);
    await revokeForKeyCompromise(first.certificateId);
    const certificates = await countRows(h, "certificate");

    // A CSR of the key, on another profile and CA.
    const refused = await rpcError(issue(h, csrRequest("api", csrPem, { requestId: "later-1" })));
    expect(refused.code).toBe(Code.INVALID_ARGUMENT);
    expect(refused.reason).toBe("KEY_BLOCKED");
    expect(refused.message).toContain("revoked for key compromise");
    expect(refused.violations).toEqual([
      expect.objectContaining({ field: "csr_pem", reason: "KEY_BLOCKED" }),
    ]);
    // The refusal is recorded as a FAILED request, like a policy's; a replay answers the same.
    const [request] = await h.db.query<{ status: string; error: { reason?: string } }>(
      "select status, error from certificate_request where request_id = 'later-1'",
    );
    expect(request?.status).toBe("FAILED");
    expect(request?.error.reason).toBe("KEY_BLOCKED");
    const replayed = await rpcError(issue(h, csrRequest("api", csrPem, { requestId: "later-1" })));
    expect(replayed.reason).toBe("KEY_BLOCKED");

    // A renewal with a CSR of the key, of a certificate of the same names and another key.
    const unrelated = (
      await issue(h, attrRequest("web", { cn: "later.example.com", dns: ["later.example.com"] }))
    ).certificate!;
    const renewal = await rpcError(
      call(
        h.certificates,
        "renewCertificate",
        renewRequest({
          certificateId: unrelated.certificateId,
          keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_CSR,
          csrPem,
        }),
      ),
    );
    expect(renewal.code).toBe(Code.INVALID_ARGUMENT);
    expect(renewal.reason).toBe("KEY_BLOCKED");
    expect(await countRows(h, "certificate")).toBe(certificates + 1); // the unrelated one only
    expect(await unrevokedOfKey(hash)).toBe(0);
    expect(await reasons([unrelated.certificateId])).toEqual({ [unrelated.certificateId]: null });
  });

  it("approving a request whose key was blocked meanwhile fails the request with KEY_BLOCKED", async () => {
    const { csrPem } = makeCsr(tmp, "/CN=gated.example.com", ["DNS:gated.example.com"]);
    const waiting = await issue(h, csrRequest("gated", csrPem));
    expect(waiting.status).toBe(PENDING_APPROVAL);
    const elsewhere = (await issue(h, csrRequest("web", csrPem))).certificate!;
    await revokeForKeyCompromise(elsewhere.certificateId);
    const certificates = await countRows(h, "certificate");

    // The approval happened; the request failed on its merits (approval.ts): FAILED, and why.
    const approved = await call(approver.certificates, "approveCertificateRequest", {
      certificateRequestId: waiting.certificateRequestId,
      comment: "ok",
    });
    expect(approved.certificateRequest!.status).toBe(FAILED);
    const [row] = await h.db.query<{ status: string; error: { reason?: string } }>(
      "select status, error from certificate_request where id = $1",
      [waiting.certificateRequestId],
    );
    expect(row).toEqual(
      expect.objectContaining({
        status: "FAILED",
        error: expect.objectContaining({ reason: "KEY_BLOCKED" }),
      }),
    );
    const status = await call(h.certificates, "getRequestStatus", {
      certificateRequestId: waiting.certificateRequestId,
    });
    expect(status.certificateRequest!.status).toBe(FAILED);
    expect(status.certificate).toBeUndefined();
    expect(await countRows(h, "certificate")).toBe(certificates);
  });

  // Found by an outside probe (2026-12-05): the holder of a compromised RSA key knows its primes,
  // and the same modulus with another exponent was certified as a new key.
  it("blocks an RSA key by its modulus: the same modulus with another exponent is refused", async () => {
    const jwk = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
      format: "jwk",
    });
    const prime = (b64: string | undefined) =>
      BigInt(`0x${Buffer.from(b64 as string, "base64url").toString("hex")}`);
    const [p, q] = [prime(jwk.p), prime(jwk.q)];
    const csrOf = (e: bigint, name: string) => {
      const key = rsaKeyOfPrimes(p, q, e);
      const file = tmp.file(`${name}.key`, key.export({ type: "pkcs8", format: "pem" }) as string);
      return opensslOk([
        "req",
        "-new",
        "-key",
        file,
        "-subj",
        `/CN=${name}.example.com`,
        "-addext",
        `subjectAltName=DNS:${name}.example.com`,
      ]);
    };
    const first = (await issue(h, csrRequest("web", csrOf(65537n, "rsa-a")))).certificate!;
    await revokeForKeyCompromise(first.certificateId);
    const other = await rpcError(issue(h, csrRequest("api", csrOf(65539n, "rsa-b"))));
    expect([other.code, other.reason]).toEqual([Code.INVALID_ARGUMENT, "KEY_BLOCKED"]);
  });

  // Found by an outside probe (2026-12-05): these answered as if the key were fine.
  it("refuses a blocked key in a dry run and before it joins the approval queue", async () => {
    const { csrPem } = makeCsr(tmp, "/CN=dry.example.com", ["DNS:dry.example.com"]);
    const first = (await issue(h, csrRequest("web", csrPem))).certificate!;
    await revokeForKeyCompromise(first.certificateId);
    const requests = await countRows(h, "certificate_request");
    const dry = await rpcError(issue(h, csrRequest("web", csrPem, { validateOnly: true })));
    expect([dry.code, dry.reason]).toEqual([Code.INVALID_ARGUMENT, "KEY_BLOCKED"]);
    expect(await countRows(h, "certificate_request")).toBe(requests); // a dry run records nothing
    const waiting = () => countRows(h, "certificate_request", "status = 'PENDING_APPROVAL'");
    const waitingBefore = await waiting();
    const gated = await rpcError(issue(h, csrRequest("gated", csrPem)));
    expect([gated.code, gated.reason]).toEqual([Code.INVALID_ARGUMENT, "KEY_BLOCKED"]);
    expect(await waiting()).toBe(waitingBefore);
    const [failed] = await h.db.query<{ status: string }>(
      "select status from certificate_request where id = $1",
      [gated.metadata.certificate_request_id],
    );
    expect(failed?.status).toBe("FAILED");
  });

  // The store's trigger and the revocation take the key's lock (shared / exclusive): whichever
  // way each issuance falls, it is refused or its certificate is revoked with the others.
  it("issuances racing the revocation leave no certificate of the key unrevoked", async () => {
    for (let round = 0; round < 3; round++) {
      const { csrPem } = makeCsr(tmp, "/CN=race.example.com", ["DNS:race.example.com"]);
      const first = (await issue(h, csrRequest("web", csrPem))).certificate!;
      const hash = opensslSpkiSha256(first.certificatePem);
      const issuances = Array.from({ length: 12 }, (_, i) =>
        issue(h, csrRequest(i % 2 ? "api" : "web", csrPem)),
      );
      const revoked = revokeForKeyCompromise(first.certificateId);
      const outcomes = await Promise.allSettled([...issuances, revoked]);
      expect(outcomes.at(-1)!.status).toBe("fulfilled");
      const issued: string[] = [];
      for (const o of outcomes.slice(0, -1)) {
        if (o.status === "fulfilled") {
          issued.push((o.value as Awaited<(typeof issuances)[number]>).certificate!.certificateId);
        } else {
          expect((await rpcError(Promise.reject(o.reason))).reason).toBe("KEY_BLOCKED");
        }
      }
      expect(await unrevokedOfKey(hash)).toBe(0);
      const all = await reasons(issued);
      for (const id of issued) expect(all[id]).toBe("KEY_COMPROMISE");
      expect(await countRows(h, "certificate", `spki_sha256 = '${hash}'`)).toBe(issued.length + 1);
    }
  });
});
