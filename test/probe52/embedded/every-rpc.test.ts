/**
 * Stop-52 outside probe: every RPC of the contract, once, on the embedded default (`make run`:
 * no DATABASE_URL, PGlite, one database connection), against the compiled server.
 *
 * First README's "A first certificate with grpcurl", both blocks, exactly as written (its
 * address and token file those of this server), then each RPC the walk did not reach. On one
 * connection a handler that reads outside its transaction waits for itself (approvals did,
 * until stop 47): every call here has its own deadline (30 s) and must end OK, or with the
 * precise refusal asked for; never INTERNAL, UNKNOWN, UNIMPLEMENTED, or a deadline.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tokens from "../../../gen/ts/certmint/v1/access_token_service";
import * as audits from "../../../gen/ts/certmint/v1/audit_service";
import * as cas from "../../../gen/ts/certmint/v1/certificate_authority_service";
import * as policies from "../../../gen/ts/certmint/v1/certificate_policy_service";
import * as profiles from "../../../gen/ts/certmint/v1/certificate_profile_service";
import * as certificates from "../../../gen/ts/certmint/v1/certificate_service";
import {
  CertificateRequestStatus,
  CertificateStatus,
  type IssueCertificateResponse,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm, RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { closeClients, generatedKeyRequest, startEmbedded } from "../../probe49/emb/support";
import { type CertmintClients, makeClients } from "../../support/harness";
import {
  checkHealth,
  ROOT,
  type ServerProcess,
  START_LIMIT_MS,
} from "../../support/server-process";
import { waitFor } from "../../support/wait";
import { WatchStream } from "../../support/watch-stream";
import { callWithin, codeName, type Ended, Role, tokenOf } from "./support";

/** The generated request type of `method` (its fromPartial fills what a test leaves out). */
function requestOf(method: string, request: unknown): unknown {
  const name = `${method[0]!.toUpperCase()}${method.slice(1)}Request`;
  for (const module of [tokens, audits, cas, policies, profiles, certificates]) {
    const type = (module as unknown as Record<string, { fromPartial?: (o: unknown) => unknown }>)[
      name
    ];
    if (type?.fromPartial) return type.fromPartial(request);
  }
  throw new Error(`no request type ${name}`);
}

const README = readFileSync(join(ROOT, "README.md"), "utf8");
const GRPCURL = ".tools/bin/grpcurl";

/** README's `index`-th sh block of "## A first certificate with grpcurl", pointed at `server`. */
function grpcurlBlock(server: ServerProcess, index: number): string {
  const section = README.split("\n## A first certificate with grpcurl\n")[1]!.split(/\n## /)[0]!;
  const block = [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)][index]![1]!;
  return block
    .replaceAll("127.0.0.1:50051", server.address)
    .replaceAll("data/admin-token", join(server.dataDir, "admin-token"))
    .replaceAll(GRPCURL, join(ROOT, GRPCURL));
}

/** Codes no call of a working service ends with. */
const BROKEN = [
  status.INTERNAL,
  status.UNKNOWN,
  status.UNIMPLEMENTED,
  status.DEADLINE_EXCEEDED,
  status.UNAVAILABLE,
];

describe("probe52 EMBEDDED: every RPC once on the embedded default", {
  timeout: 2 * START_LIMIT_MS,
}, () => {
  const base = mkdtempSync(join(tmpdir(), "certmint-probe52-every-"));
  let server: ServerProcess;
  let c: CertmintClients;
  let approver: CertmintClients;
  /** Every call made, by RPC name, with how it ended. */
  const ended = new Map<string, Ended<unknown>>();

  /** One RPC with its deadline; recorded under its name. */
  async function rpc<Res>(
    client: object,
    method: string,
    request: unknown,
    name = method,
  ): Promise<Ended<Res>> {
    const e = await callWithin<Res>(client, method, requestOf(method, request));
    ended.set(name, e);
    return e;
  }
  const ok = async <Res>(client: object, method: string, request: unknown, name = method) => {
    const e = await rpc<Res>(client, method, request, name);
    expect(e.code, `${name}: ${codeName(e.code)} ${e.reason ?? ""} ${e.message ?? ""}`).toBe(
      status.OK,
    );
    return e.res!;
  };

  beforeAll(async () => {
    server = await startEmbedded(join(base, "data"));
    c = makeClients(server.address, server.adminToken());
    approver = (await tokenOf(server, c, "approver", Role.ROLE_ADMIN)).c;
  }, START_LIMIT_MS);
  afterAll(async () => {
    closeClients(c);
    closeClients(approver);
    await server?.stop("SIGKILL");
    rmSync(base, { recursive: true, force: true });
  });

  it("README's grpcurl quick start, both blocks as written: 7 answers, the certificate chains to the root", () => {
    const cwd = join(base, "grpcurl");
    execFileSync("mkdir", ["-p", cwd]);
    const out = execFileSync(
      "bash",
      ["-c", `set -euo pipefail\n${grpcurlBlock(server, 0)}\n${grpcurlBlock(server, 1)}`],
      { cwd, encoding: "utf8", timeout: 60_000 },
    );
    const docs = out
      .split(/\n(?=\{)/)
      .map((t) => t.trim())
      .filter(Boolean)
      .map((t) => JSON.parse(t) as Record<string, never>);
    expect(docs).toHaveLength(7);
    const issued = docs[4] as unknown as {
      status: string;
      certificate: { certificatePem: string; certificateChainPem: string[] };
    };
    expect(issued.status).toBe("CERTIFICATE_REQUEST_STATUS_ISSUED");
    const leaf = new X509Certificate(issued.certificate.certificatePem);
    const issuing = new X509Certificate(issued.certificate.certificateChainPem[0]!);
    const root = new X509Certificate(issued.certificate.certificateChainPem[1]!);
    expect(leaf.verify(issuing.publicKey) && issuing.verify(root.publicKey)).toBe(true);
    expect((docs[5] as unknown as { crlPem: string }).crlPem).toContain("BEGIN X509 CRL");
    expect((docs[6] as unknown as { status: string }).status).toBe(
      "CERTIFICATE_REQUEST_STATUS_ISSUED",
    );
  });

  it("grpcurl list and health Check, List and Watch answer on the embedded default", async () => {
    const g = (args: string[]) =>
      execFileSync(join(ROOT, GRPCURL), ["-plaintext", ...args], {
        encoding: "utf8",
        timeout: 30_000,
      });
    expect(g([server.address, "list"])).toContain("certmint.v1.CertificateService");
    expect(g([server.address, "grpc.health.v1.Health/Check"])).toContain("SERVING");
    expect(g([server.address, "grpc.health.v1.Health/List"])).toContain("SERVING");
    // A watch never ends by itself: grpcurl's -max-time ends it (exit code non-zero) after the
    // first answer has been printed.
    const watched = spawnSync(
      join(ROOT, GRPCURL),
      ["-plaintext", "-max-time", "3", server.address, "grpc.health.v1.Health/Watch"],
      { encoding: "utf8", timeout: 30_000 },
    );
    expect(watched.stdout).toContain("SERVING");
    expect(await checkHealth(server.address)).toBe("SERVING");
  });

  it("the certificate RPCs: issue, status, get, list, renew, hold and release, revoke, approve, reject, the queue, watch, current", async () => {
    const issued = await ok<IssueCertificateResponse>(
      c.certificates,
      "issueCertificate",
      generatedKeyRequest("web", "every-1", "every-1.example.com"),
    );
    const id = issued.certificate!.certificateId;
    await ok(c.certificates, "getRequestStatus", {
      certificateRequestId: issued.certificateRequestId,
    });
    await ok(c.certificates, "getCertificate", { certificate: id });
    await ok(c.certificates, "listCertificates", { nameContains: "every" });

    const watch = new WatchStream(c, { scope: { $case: "certificateId", value: id } });
    await waitFor("the certificate watch's first event", () => watch.events.length > 0);
    expect(watch.error).toBeUndefined();

    const renewed = await ok<IssueCertificateResponse>(c.certificates, "renewCertificate", {
      certificateId: id,
      requestId: "every-renew",
      keySource: 0,
    });
    const successor = renewed.certificate!.certificateId;
    await waitFor("the watch's RENEWED event", () =>
      watch.events.some((e) => e.certificate?.id === successor),
    );
    watch.cancel();
    const current = await ok<{ certificate: { id: string } }>(
      c.certificates,
      "getCurrentCertificate",
      { certificate: id },
    );
    expect(current.certificate.id).toBe(successor);

    const held = await ok<{ certificate: { status: CertificateStatus } }>(
      c.certificates,
      "revokeCertificate",
      { certificate: successor, reason: RevocationReason.REVOCATION_REASON_CERTIFICATE_HOLD },
      "RevokeCertificate (hold)",
    );
    expect(held.certificate.status).toBe(CertificateStatus.CERTIFICATE_STATUS_REVOKED);
    await ok(c.certificates, "releaseCertificateHold", { certificate: successor });
    await ok(c.certificates, "revokeCertificate", {
      certificate: id,
      reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
    });

    await ok(c.profiles, "createCertificateProfile", {
      certificateProfile: {
        slug: "web-approved",
        certificatePolicy: "web-tls",
        issuer: { $case: "certificateAuthority", value: "issuing" },
        requireApproval: true,
      },
    });
    const asks = [];
    for (const n of ["approve", "reject"]) {
      const e = await ok<IssueCertificateResponse>(
        c.certificates,
        "issueCertificate",
        generatedKeyRequest("web-approved", `every-${n}`, `${n}.example.com`),
        `IssueCertificate (${n})`,
      );
      expect(e.status).toBe(CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL);
      asks.push(e.certificateRequestId);
    }
    const queue = await ok<{ certificateRequests: Array<{ id: string }> }>(
      c.certificates,
      "listCertificateRequests",
      {},
    );
    expect(queue.certificateRequests.map((r) => r.id).sort()).toEqual([...asks].sort());
    const approved = await ok<{ certificateRequest: { status: CertificateRequestStatus } }>(
      approver.certificates,
      "approveCertificateRequest",
      { certificateRequestId: asks[0], comment: "probe52" },
    );
    expect(approved.certificateRequest.status).toBe(
      CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED,
    );
    await ok(approver.certificates, "rejectCertificateRequest", {
      certificateRequestId: asks[1],
      comment: "probe52",
    });
  });

  it("the CA RPCs: external intermediate and its import, get, list, update, CRL, revoke, delete", async () => {
    const external = await ok<{ certificateAuthority: { id: string } }>(
      c.authorities,
      "createExternalIntermediateCertificateAuthority",
      {
        slug: "outside",
        subject: { commonName: "Outside Signed" },
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      },
    );
    // Not the certificate of its CSR's key: refused on its field, never INTERNAL.
    const root = await ok<{ certificateAuthority: { certificatePem: string } }>(
      c.authorities,
      "getCertificateAuthority",
      { certificateAuthority: "root" },
    );
    const imported = await rpc(c.authorities, "importCertificateAuthorityCertificate", {
      certificateAuthority: external.certificateAuthority.id,
      certificatePem: root.certificateAuthority.certificatePem,
      certificateChainPem: [],
    });
    expect([status.INVALID_ARGUMENT, status.FAILED_PRECONDITION]).toContain(imported.code);
    await ok(c.authorities, "listCertificateAuthorities", {});
    await ok(c.authorities, "updateCertificateAuthority", {
      certificateAuthority: { slug: "issuing", description: "probe52" },
      updateMask: ["description"],
    });
    await ok(c.authorities, "getCertificateRevocationList", { certificateAuthority: "issuing" });
    await ok(c.authorities, "createIntermediateCertificateAuthority", {
      slug: "spare",
      parentCertificateAuthority: "root",
      subject: { commonName: "Spare" },
    });
    await ok(c.authorities, "revokeCertificateAuthority", {
      certificateAuthority: "spare",
      reason: RevocationReason.REVOCATION_REASON_CESSATION_OF_OPERATION,
    });
    await ok(c.authorities, "createRootCertificateAuthority", {
      slug: "empty-root",
      subject: { commonName: "Empty Root" },
    });
    await ok(c.authorities, "deleteCertificateAuthority", { certificateAuthority: "empty-root" });
  });

  it("the policy, profile, ACME key and account, token and audit RPCs", async () => {
    await ok(c.policies, "getCertificatePolicy", { certificatePolicy: "web-tls" });
    await ok(c.policies, "listCertificatePolicies", {});
    await ok(c.policies, "updateCertificatePolicy", {
      certificatePolicy: { slug: "web-tls", description: "probe52" },
      updateMask: ["description"],
    });
    await ok(c.policies, "createCertificatePolicy", {
      preset: 1,
      certificatePolicy: {
        slug: "spare-policy",
        sanRules: { dns: { allowed: ["x.example.com"] } },
      },
    });
    await ok(c.policies, "deleteCertificatePolicy", { certificatePolicy: "spare-policy" });

    await ok(c.profiles, "getCertificateProfile", { certificateProfile: "web" });
    await ok(c.profiles, "listCertificateProfiles", {});
    await ok(c.profiles, "updateCertificateProfile", {
      certificateProfile: { slug: "web", description: "probe52" },
      updateMask: ["description"],
    });
    await ok(
      c.profiles,
      "createCertificateProfile",
      {
        certificateProfile: {
          slug: "spare-profile",
          certificatePolicy: "web-tls",
          issuer: { $case: "certificateAuthority", value: "issuing" },
        },
      },
      "CreateCertificateProfile (spare)",
    );
    await ok(c.profiles, "deleteCertificateProfile", { certificateProfile: "spare-profile" });
    // No ACME listener here (CERTMINT_ACME_LISTEN unset) and "web" enrols by API: each is
    // refused with a reason, or answers an empty list; none is INTERNAL.
    for (const [method, request] of [
      ["createAcmeExternalAccountKey", { certificateProfile: "web" }],
      ["listAcmeExternalAccountKeys", { certificateProfile: "web" }],
      ["revokeAcmeExternalAccountKey", { keyId: "no-such-key" }],
      ["listAcmeAccounts", { certificateProfile: "web" }],
      ["revokeAcmeAccount", { acmeAccount: "00000000-0000-7000-8000-000000000000" }],
    ] as const) {
      const e = await rpc(c.profiles, method, request);
      expect(BROKEN, `${method}: ${codeName(e.code)} ${e.message}`).not.toContain(e.code);
      if (e.code !== status.OK) expect(e.reason, `${method}: ${e.message}`).toBeTruthy();
    }

    const made = await ok<{ accessToken: { id: string } }>(c.accessTokens, "createAccessToken", {
      accessToken: { slug: "every-token", role: Role.ROLE_AUDITOR },
    });
    await ok(c.accessTokens, "getAccessToken", { accessToken: made.accessToken.id });
    await ok(c.accessTokens, "listAccessTokens", {});
    await ok(c.accessTokens, "revokeAccessToken", { accessToken: made.accessToken.id });
    const audit = await ok<{ auditRecords: unknown[] }>(c.audit, "listAuditRecords", {});
    expect(audit.auditRecords.length).toBeGreaterThan(10);
  });

  it("every RPC of the contract was called, and none ended INTERNAL, UNKNOWN, UNIMPLEMENTED or past its deadline", () => {
    const rpcs = [
      ...README.matchAll(/^ {2}rpc (\w+)\(/gm),
      ...[
        "access_token_service",
        "audit_service",
        "certificate_authority_service",
        "certificate_policy_service",
        "certificate_profile_service",
        "certificate_service",
      ].flatMap((f) => [
        ...readFileSync(join(ROOT, "proto", "certmint", "v1", `${f}.proto`), "utf8").matchAll(
          /^ {2}rpc (\w+)\(/gm,
        ),
      ]),
    ].map((m) => m[1]!);
    const called = new Set(
      [...ended.keys()].map((k) => k.split(" ")[0]!.replace(/^\w/, (x) => x.toUpperCase())),
    );
    // WatchCertificates is a stream (WatchStream above); the README walk issued and read CRLs.
    called.add("WatchCertificates");
    expect(rpcs.filter((r) => !called.has(r))).toEqual([]);
    expect(
      [...ended]
        .filter(([, e]) => BROKEN.includes(e.code))
        .map(([k, e]) => `${k}: ${codeName(e.code)}`),
    ).toEqual([]);
  });
});
