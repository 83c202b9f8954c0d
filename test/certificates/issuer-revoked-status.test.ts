/**
 * A certificate under a revoked CA (RevokeCertificateAuthority of its issuing CA, or of a CA
 * above it) is CERTIFICATE_STATUS_ISSUER_REVOKED wherever a status is shown: GetCertificate,
 * ListCertificates (each row, and its `status` filter: ACTIVE and EXPIRED leave them out,
 * ISSUER_REVOKED returns exactly them, REVOKED keeps meaning revoked itself), a
 * WatchCertificates event and `certmint cert get/list`; with the revocation time and reason
 * OCSP answers for it (the CA's time; cACompromise for a CA revoked for keyCompromise). Until
 * stop 45 of 2026-12-06 they showed ACTIVE, and a list filtered on ACTIVE returned them, while
 * OCSP and the CRLs said revoked.
 *
 * A root cannot be revoked (CA_IS_ROOT: no CRL lists a trust anchor), so "two levels down" is
 * root -> upper (revoked) -> lower -> leaf.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CertificateAuthority,
  CreateIntermediateCertificateAuthorityRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  type Certificate,
  CertificateStatus,
  ListCertificatesRequest,
  WatchCertificatesRequest,
  type WatchCertificatesResponse,
} from "../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { type CliSession, cliSession, ok } from "../cli/cli";
import { type RunResult, TempDir } from "../support/openssl";
import { unusedPort } from "../support/ports";
import { waitFor } from "../support/wait";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  issue,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

const S = CertificateStatus;
const ACTIVE = S.CERTIFICATE_STATUS_ACTIVE;
const REVOKED = S.CERTIFICATE_STATUS_REVOKED;
const EXPIRED = S.CERTIFICATE_STATUS_EXPIRED;
const ISSUER_REVOKED = S.CERTIFICATE_STATUS_ISSUER_REVOKED;

function run(command: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

describe("status of certificates under a revoked CA", () => {
  let h: TestCertmint;
  let cli: CliSession;
  const tmp = new TempDir();
  let ocspUrl = "";
  let root: CertificateAuthority;
  let mid: CertificateAuthority;
  let good: CertificateAuthority;
  let upper: CertificateAuthority;
  let lower: CertificateAuthority;
  /** Leaves by name: PEM and id. */
  const leaves: Record<string, { id: string; pem: string; issuer: CertificateAuthority }> = {};
  let midRevokedAt: Date;
  let upperRevokedAt: Date;

  const intermediate = async (slug: string, parent: string) =>
    (
      await call(
        h.authorities,
        "createIntermediateCertificateAuthority",
        CreateIntermediateCertificateAuthorityRequest.fromPartial({
          slug,
          parentCertificateAuthority: parent,
          subject: { commonName: `${slug} CA` },
        }),
      )
    ).certificateAuthority!;
  const newLeaf = async (name: string, profile: string, issuer: CertificateAuthority) => {
    const dns = `${name}.irs.example.com`;
    const issued = (await issue(h, attrRequest(profile, { cn: dns, dns: [dns] }))).certificate!;
    leaves[name] = { id: issued.certificateId, pem: issued.certificatePem, issuer };
  };
  const get = async (name: string) =>
    (await call(h.certificates, "getCertificate", { certificate: leaves[name]!.id })).certificate!;
  /** Every page of ListCertificates with these filters (pageSize 1: pages cross CAs). */
  const listAll = async (
    filters: { status?: CertificateStatus; certificateAuthority?: string },
    pageSize = 1,
  ) => {
    const rows: Certificate[] = [];
    let pageToken = "";
    do {
      const page = await call(
        h.certificates,
        "listCertificates",
        ListCertificatesRequest.fromPartial({ ...filters, pageSize, pageToken }),
      );
      rows.push(...page.certificates);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return rows;
  };
  const nameOf = (id: string) => Object.keys(leaves).find((n) => leaves[n]!.id === id) ?? id;
  const names = (rows: Certificate[]) => rows.map((r) => nameOf(r.id)).sort();
  const caRevokedAt = async (id: string) =>
    (
      await h.db.query<{ revoked_at: Date }>(
        "select revoked_at from certificate_authority where id = $1",
        [id],
      )
    )[0]!.revoked_at;

  /** openssl ocsp about a leaf, its response's signature checked against the root. */
  const ocsp = async (name: string, chain: CertificateAuthority[]) => {
    const leaf = leaves[name]!;
    const args = [
      "ocsp",
      "-issuer",
      tmp.file(`issuer-${leaf.issuer.slug}.pem`, leaf.issuer.certificatePem),
      "-cert",
      tmp.file("leaf.pem", leaf.pem),
      "-url",
      ocspUrl,
      "-CAfile",
      tmp.file("root.pem", root.certificatePem),
      "-verify_other",
      tmp.file(`chain-${leaf.issuer.slug}.pem`, chain.map((c) => c.certificatePem).join("")),
      "-no_nonce",
      "-resp_text",
    ];
    // A CA created within the responder's issuer reload interval (a second) is not known yet.
    let r: RunResult = { code: 1, stdout: "", stderr: "" };
    await waitFor(`the OCSP responder to know ${leaf.issuer.slug}`, async () => {
      r = await run("openssl", args);
      return !/unauthorized/.test(r.stdout + r.stderr);
    });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).toContain("Response verify OK");
    const status = /leaf\.pem: (good|revoked|unknown)/.exec(r.stdout)?.[1];
    const reason = /Reason: (\w+)/.exec(r.stdout)?.[1];
    const time = /Revocation Time: (.+)/.exec(r.stdout)?.[1];
    return { status, reason, revokedAt: time ? new Date(time.trim()) : undefined };
  };
  const wholeSeconds = (d: Date) => Math.floor(d.getTime() / 1000) * 1000;
  /** OCSP's name of a RevocationReason, as openssl prints it. */
  const OCSP_REASON: Partial<Record<RevocationReason, string>> = {
    [RevocationReason.REVOCATION_REASON_KEY_COMPROMISE]: "keyCompromise",
    [RevocationReason.REVOCATION_REASON_CA_COMPROMISE]: "cACompromise",
    [RevocationReason.REVOCATION_REASON_CESSATION_OF_OPERATION]: "cessationOfOperation",
  };

  beforeAll(async () => {
    const publicationPort = await unusedPort();
    ocspUrl = `http://127.0.0.1:${publicationPort}/ocsp`;
    h = await startTestCertmint({
      CERTMINT_PUBLIC_BASE_URL: `http://127.0.0.1:${publicationPort}`,
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${publicationPort}`,
      CERTMINT_OCSP_URL: ocspUrl,
    });
    cli = cliSession(h.address, h.dataDir);
    root = await createRoot(h, "irs-root");
    mid = await intermediate("irs-mid", root.id);
    good = await intermediate("irs-good", root.id);
    upper = await intermediate("irs-upper", root.id);
    lower = await intermediate("irs-lower", upper.id);
    for (const ca of [mid, good, lower]) {
      await createProfileRows(h, { caId: ca.id, slug: ca.slug });
    }
    // Oldest first: the lists below are newest first.
    await newLeaf("mid-a", "irs-mid", mid);
    await newLeaf("mid-own", "irs-mid", mid);
    await newLeaf("mid-expired", "irs-mid", mid);
    await newLeaf("good-a", "irs-good", good);
    await newLeaf("good-expired", "irs-good", good);
    await newLeaf("lower-a", "irs-lower", lower);
    await newLeaf("mid-b", "irs-mid", mid);
    // Revoked on its own before its CA: REVOKED, with its own time and reason.
    await call(h.certificates, "revokeCertificate", {
      certificate: leaves["mid-own"]!.id,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    // Expired: the row's notAfter moved to the past (a status is computed from the row).
    await h.db.query(
      "update certificate set not_after = now() - interval '1 day' where id in ($1, $2)",
      [leaves["mid-expired"]!.id, leaves["good-expired"]!.id],
    );
    // Before the CAs' revocations every leaf OCSP knows is good, and shows ACTIVE.
    expect((await get("mid-a")).status).toBe(ACTIVE);
    expect((await ocsp("mid-a", [mid])).status).toBe("good");

    await call(h.authorities, "revokeCertificateAuthority", {
      certificateAuthority: mid.id,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    await call(h.authorities, "revokeCertificateAuthority", {
      certificateAuthority: upper.id,
      reason: RevocationReason.REVOCATION_REASON_CESSATION_OF_OPERATION,
    });
    midRevokedAt = await caRevokedAt(mid.id);
    upperRevokedAt = await caRevokedAt(upper.id);
  });
  afterAll(async () => {
    cli?.remove();
    await h?.stop();
    tmp.remove();
  });

  it("GetCertificate: ISSUER_REVOKED with the CA's revocation, as OCSP answers for the same leaf", async () => {
    const expected: Array<{
      name: string;
      chain: CertificateAuthority[];
      status: CertificateStatus;
      revokedAt?: Date;
      reason?: RevocationReason;
    }> = [
      // The issuing CA revoked for keyCompromise: cACompromise (RFC 5280 5.3.1), at its time.
      {
        name: "mid-a",
        chain: [mid],
        status: ISSUER_REVOKED,
        revokedAt: midRevokedAt,
        reason: RevocationReason.REVOCATION_REASON_CA_COMPROMISE,
      },
      {
        name: "mid-b",
        chain: [mid],
        status: ISSUER_REVOKED,
        revokedAt: midRevokedAt,
        reason: RevocationReason.REVOCATION_REASON_CA_COMPROMISE,
      },
      // Expired under a revoked CA: ISSUER_REVOKED first (OCSP says revoked too).
      {
        name: "mid-expired",
        chain: [mid],
        status: ISSUER_REVOKED,
        revokedAt: midRevokedAt,
        reason: RevocationReason.REVOCATION_REASON_CA_COMPROMISE,
      },
      // A CA two levels up revoked (cessationOfOperation): its reason and time.
      {
        name: "lower-a",
        chain: [lower, upper],
        status: ISSUER_REVOKED,
        revokedAt: upperRevokedAt,
        reason: RevocationReason.REVOCATION_REASON_CESSATION_OF_OPERATION,
      },
      // Revoked itself before the CA: REVOKED, its own time and reason (OCSP keeps them too).
      { name: "mid-own", chain: [mid], status: REVOKED },
      // A CA in good standing.
      { name: "good-a", chain: [good], status: ACTIVE },
      { name: "good-expired", chain: [good], status: EXPIRED },
    ];
    for (const e of expected) {
      const cert = await get(e.name);
      expect(cert.status, e.name).toBe(e.status);
      const answer = await ocsp(e.name, e.chain);
      if (e.status === ACTIVE || e.status === EXPIRED) {
        expect(answer.status, e.name).toBe("good");
        expect(cert.revokeTime, e.name).toBeUndefined();
        continue;
      }
      // Every status that says revoked agrees with OCSP, time and reason included.
      expect(answer.status, e.name).toBe("revoked");
      expect(cert.revokeTime, e.name).toBeDefined();
      expect(answer.revokedAt!.getTime(), e.name).toBe(wholeSeconds(cert.revokeTime!));
      expect(answer.reason, e.name).toBe(OCSP_REASON[cert.revocationReason]);
      if (e.revokedAt) {
        expect(cert.revokeTime!.getTime(), e.name).toBe(e.revokedAt.getTime());
        expect(cert.revocationReason, e.name).toBe(e.reason);
      }
    }
    // The rows themselves are untouched: not revoked on their own.
    const rows = await h.db.query<{ revoked_at: Date | null }>(
      "select revoked_at from certificate where id in ($1, $2, $3)",
      [leaves["mid-a"]!.id, leaves["mid-expired"]!.id, leaves["lower-a"]!.id],
    );
    expect(rows.map((r) => r.revoked_at)).toEqual([null, null, null]);
  });

  it("ListCertificates: each row's status, and every status filter agrees with it", async () => {
    const all = await listAll({}, 50);
    const byName = Object.fromEntries(all.map((r) => [nameOf(r.id), r.status]));
    expect(byName).toEqual({
      "mid-a": ISSUER_REVOKED,
      "mid-b": ISSUER_REVOKED,
      "mid-expired": ISSUER_REVOKED,
      "lower-a": ISSUER_REVOKED,
      "mid-own": REVOKED,
      "good-a": ACTIVE,
      "good-expired": EXPIRED,
    });
    // Each list row shows what GetCertificate shows, revocation time and reason included.
    for (const row of all) {
      const one = (await call(h.certificates, "getCertificate", { certificate: row.id }))
        .certificate!;
      expect(
        { status: row.status, at: row.revokeTime, reason: row.revocationReason },
        nameOf(row.id),
      ).toEqual({ status: one.status, at: one.revokeTime, reason: one.revocationReason });
    }
    const expectations: Array<[CertificateStatus, string[]]> = [
      [ACTIVE, ["good-a"]],
      [EXPIRED, ["good-expired"]],
      [REVOKED, ["mid-own"]],
      [ISSUER_REVOKED, ["lower-a", "mid-a", "mid-b", "mid-expired"]],
    ];
    for (const [status, expected] of expectations) {
      // Page size 1: the keyset pages cross the revoked CAs' branches (ISSUER_REVOKED).
      const rows = await listAll({ status });
      expect(names(rows), CertificateStatus[status]).toEqual(expected);
      expect(new Set(rows.map((r) => r.status)), CertificateStatus[status]).toEqual(
        new Set([status]),
      );
      // Newest first, as without a filter.
      const order = all.filter((r) => expected.includes(nameOf(r.id))).map((r) => r.id);
      expect(
        rows.map((r) => r.id),
        CertificateStatus[status],
      ).toEqual(order);
    }
    // With a CA filter: a revoked CA has nothing ACTIVE or EXPIRED.
    expect(await listAll({ certificateAuthority: mid.id, status: ACTIVE })).toEqual([]);
    expect(await listAll({ certificateAuthority: mid.id, status: EXPIRED })).toEqual([]);
    expect(
      names(await listAll({ certificateAuthority: "irs-mid", status: ISSUER_REVOKED })),
    ).toEqual(["mid-a", "mid-b", "mid-expired"]);
    expect(names(await listAll({ certificateAuthority: mid.id, status: REVOKED }))).toEqual([
      "mid-own",
    ]);
    expect(
      names(await listAll({ certificateAuthority: lower.id, status: ISSUER_REVOKED })),
    ).toEqual(["lower-a"]);
    expect(await listAll({ certificateAuthority: good.id, status: ISSUER_REVOKED })).toEqual([]);
    expect(names(await listAll({ certificateAuthority: good.id, status: ACTIVE }))).toEqual([
      "good-a",
    ]);
  });

  it("WatchCertificates: a lineage's CURRENT event shows ISSUER_REVOKED", async () => {
    const stream = h.certificates.watchCertificates(
      WatchCertificatesRequest.fromPartial({
        scope: { $case: "certificateId", value: leaves["mid-a"]!.id },
      }),
    );
    const first = await new Promise<WatchCertificatesResponse>((resolve, reject) => {
      stream.once("data", resolve);
      stream.once("error", reject);
    });
    stream.cancel();
    stream.on("error", () => undefined);
    expect(first.certificate!.id).toBe(leaves["mid-a"]!.id);
    expect(first.certificate!.status).toBe(ISSUER_REVOKED);
    expect(first.certificate!.revokeTime!.getTime()).toBe(midRevokedAt.getTime());
  });

  it("certmint cert get/list: issuer-revoked, and --status issuer-revoked lists exactly them", async () => {
    const shown = ok(await cli.run(["cert", "get", leaves["lower-a"]!.id])).stdout;
    expect(shown).toMatch(/^status: +issuer-revoked$/m);
    expect(shown).toContain(
      `revoked:             ${upperRevokedAt.toISOString().replace(/\.\d+Z$/, "Z")} (cessation-of-operation, of a CA on its path)`,
    );
    const listed = await cli.json<{ certificates: Array<{ id: string; status: string }> }>([
      "cert",
      "list",
      "--status",
      "issuer-revoked",
    ]);
    expect(listed.certificates.map((c) => nameOf(c.id)).sort()).toEqual([
      "lower-a",
      "mid-a",
      "mid-b",
      "mid-expired",
    ]);
    expect(new Set(listed.certificates.map((c) => c.status))).toEqual(
      new Set(["CERTIFICATE_STATUS_ISSUER_REVOKED"]),
    );
    const active = await cli.json<{ certificates: Array<{ id: string }> }>([
      "cert",
      "list",
      "--status",
      "active",
    ]);
    expect(active.certificates.map((c) => nameOf(c.id))).toEqual(["good-a"]);
  });
});
