/**
 * Security review, object-level access: an issuer or approver that names a request or a
 * certificate (by id or serial) on a profile its token does not list gets exactly what it gets
 * for an id that does not exist: NOT_FOUND with the same reason, ErrorInfo domain and metadata,
 * the same details, and the same message once the id is substituted. Until 2026-12-04 it got
 * PERMISSION_DENIED (PROFILE_NOT_GRANTED), which told it the id exists on another profile.
 * The audit trail writes the same number of records for both (one for a refused change, none
 * for a refused read), and the record of a refused change tells admins what the caller was not
 * told: reason PROFILE_NOT_GRANTED and the object it named.
 */
import { randomInt, randomUUID } from "node:crypto";
import type { ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Status } from "../../gen/ts/google/rpc/status";
import type { CertmintClients } from "../support/harness";
import { waitFor } from "../support/wait";
import { WatchStream } from "../support/watch-stream";
import {
  attrRequest,
  Code,
  call,
  countRows,
  createProfileRows,
  createRoot,
  createToken,
  decodeFull,
  type FullError,
  issue,
  PENDING_APPROVAL,
  Role,
  renewRequest,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

const CERT = "/certmint.v1.CertificateService/";

/** What a client can observe of a refusal, with the id or serial it named replaced by "<ref>". */
interface Observed {
  code: number;
  reason?: string;
  domain?: string;
  metadataKeys: string[];
  metadata: string;
  detailTypes: string[];
  violations: unknown[];
  preconditions: unknown[];
  message: string;
}

function observed(err: ServiceError, ref: string): Observed {
  const full: FullError = decodeFull(err);
  const raw = err.metadata?.get("grpc-status-details-bin")[0];
  const detailTypes = raw ? Status.decode(raw as Buffer).details.map((d) => d.typeUrl) : [];
  const blank = (s: string) => s.replaceAll(ref.trim(), "<ref>");
  return {
    code: full.code,
    reason: full.reason,
    domain: full.domain,
    metadataKeys: Object.keys(full.metadata).sort(),
    metadata: blank(JSON.stringify(full.metadata)),
    detailTypes,
    violations: full.violations,
    preconditions: full.preconditions,
    message: blank(full.message),
  };
}

/** The raw error of a unary call expected to fail. */
async function refusalOf(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** The error a watch of one certificate ends with, before it ever opened. */
async function watchRefusal(c: CertmintClients, ref: string): Promise<ServiceError> {
  const w = new WatchStream(c, { scope: { $case: "certificateId", value: ref } });
  await waitFor("the watch to be refused", () => w.error !== undefined);
  expect(w.open).toBe(false);
  expect(w.events).toEqual([]);
  return w.error!;
}

/** A serial in the same form as `serial` that no certificate has (random hex digits). */
const otherSerial = (serial: string) =>
  serial.replace(/[0-9a-f]/gi, () => "0123456789abcdef"[randomInt(16)]!);

describe("another profile's objects answer as missing ones", () => {
  let h: TestCertmint;
  let issuer: Awaited<ReturnType<typeof createToken>>;
  let approver: Awaited<ReturnType<typeof createToken>>;
  /** On profiles the tokens do not list. */
  const theirs = { certificateId: "", serial: "", requestId: "", pendingId: "" };
  /** Strings no refusal may carry: the other profiles' slugs and ids, the admin token's slug. */
  const secrets: string[] = [];

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    const ours = await createProfileRows(h, { slug: "ours", caId: root.id });
    const other = await createProfileRows(h, { slug: "theirs-prod", caId: root.id });
    const gated = await createProfileRows(h, {
      slug: "theirs-gated",
      caId: root.id,
      requireApproval: true,
    });
    issuer = await createToken(h, "ours-issuer", Role.ROLE_ISSUER, [ours.profileId]);
    approver = await createToken(h, "ours-approver", Role.ROLE_APPROVER, [ours.profileId]);
    const issued = await issue(
      h,
      attrRequest("theirs-prod", { cn: "t.example.com", dns: ["t.example.com"] }),
    );
    const pending = await issue(
      h,
      attrRequest("theirs-gated", { cn: "g.example.com", dns: ["g.example.com"] }),
    );
    expect(pending.status).toBe(PENDING_APPROVAL);
    Object.assign(theirs, {
      certificateId: issued.certificate!.certificateId,
      serial: issued.certificate!.serialNumber,
      requestId: issued.certificateRequestId,
      pendingId: pending.certificateRequestId,
    });
    const [admin] = await h.db.query<{ slug: string }>(
      "select slug from access_token where role = 'ADMIN'",
    );
    secrets.push(
      "theirs-prod",
      "theirs-gated",
      other.profileId,
      gated.profileId,
      other.policyId,
      admin!.slug,
    );
  });
  afterAll(async () => {
    await h?.stop();
  });

  type Who = () => CertmintClients;
  interface Case {
    name: string;
    method: string;
    who: Who;
    /** The existing object's reference, and one of the same kind that names nothing. */
    ref: () => string;
    missing: () => string;
    /** The object's id, as its audit record names it. */
    resource: () => { type: string; id: string };
    send: (c: CertmintClients, ref: string) => Promise<ServiceError>;
    /** A change: its refusal is audited (a read's is not). */
    mutating: boolean;
  }

  const asIssuer: Who = () => issuer.clients;
  const asApprover: Who = () => approver.clients;
  const certById = {
    ref: () => theirs.certificateId,
    missing: () => randomUUID(),
    resource: () => ({ type: "certificate", id: theirs.certificateId }),
  };
  const certBySerial = {
    ref: () => theirs.serial,
    missing: () => otherSerial(theirs.serial),
    resource: () => ({ type: "certificate", id: theirs.certificateId }),
  };
  const issuedRequest = {
    ref: () => theirs.requestId,
    missing: () => randomUUID(),
    resource: () => ({ type: "certificate_request", id: theirs.requestId }),
  };
  const pendingRequest = {
    ref: () => theirs.pendingId,
    missing: () => randomUUID(),
    resource: () => ({ type: "certificate_request", id: theirs.pendingId }),
  };
  const getRequestStatus = (c: CertmintClients, ref: string) =>
    refusalOf(call(c.certificates, "getRequestStatus", { certificateRequestId: ref }));
  const getCurrent = (c: CertmintClients, ref: string) =>
    refusalOf(call(c.certificates, "getCurrentCertificate", { certificate: ref }));

  const CASES: Case[] = [
    {
      name: "GetRequestStatus (issuer)",
      method: "GetRequestStatus",
      who: asIssuer,
      ...issuedRequest,
      send: getRequestStatus,
      mutating: false,
    },
    {
      name: "GetRequestStatus (approver, a waiting request)",
      method: "GetRequestStatus",
      who: asApprover,
      ...pendingRequest,
      send: getRequestStatus,
      mutating: false,
    },
    ...[certById, certBySerial].flatMap((by, i): Case[] => {
      const how = i === 0 ? "by id" : "by serial";
      return [
        {
          name: `RenewCertificate ${how}`,
          method: "RenewCertificate",
          who: asIssuer,
          ...by,
          send: (c, ref) =>
            refusalOf(
              call(c.certificates, "renewCertificate", renewRequest({ certificateId: ref })),
            ),
          mutating: true,
        },
        {
          name: `GetCurrentCertificate ${how} (issuer)`,
          method: "GetCurrentCertificate",
          who: asIssuer,
          ...by,
          send: getCurrent,
          mutating: false,
        },
        {
          name: `GetCurrentCertificate ${how} (approver)`,
          method: "GetCurrentCertificate",
          who: asApprover,
          ...by,
          send: getCurrent,
          mutating: false,
        },
        {
          name: `WatchCertificates ${how} (issuer)`,
          method: "WatchCertificates",
          who: asIssuer,
          ...by,
          send: watchRefusal,
          mutating: false,
        },
        {
          name: `WatchCertificates ${how} (approver)`,
          method: "WatchCertificates",
          who: asApprover,
          ...by,
          send: watchRefusal,
          mutating: false,
        },
      ];
    }),
    {
      name: "ApproveCertificateRequest",
      method: "ApproveCertificateRequest",
      who: asApprover,
      ...pendingRequest,
      send: (c, ref) =>
        refusalOf(
          call(c.certificates, "approveCertificateRequest", {
            certificateRequestId: ref,
            comment: "",
          }),
        ),
      mutating: true,
    },
    {
      name: "RejectCertificateRequest",
      method: "RejectCertificateRequest",
      who: asApprover,
      ...pendingRequest,
      send: (c, ref) =>
        refusalOf(
          call(c.certificates, "rejectCertificateRequest", {
            certificateRequestId: ref,
            reason: "",
          }),
        ),
      mutating: true,
    },
  ];

  type AuditRow = {
    id: string;
    actor_id: string;
    method: string;
    status_code: number;
    error_reason: string;
    resource_type: string;
    resource_id: string;
  };
  const auditIds = async () =>
    (await h.db.query<{ id: string }>("select id from audit_record")).map((r) => r.id);
  const auditAfter = async (before: string[]) =>
    (
      await h.db.query<AuditRow>(
        "select id, actor_id, method, status_code, error_reason, resource_type, resource_id from audit_record where not (id = any($1::uuid[])) order by created_at",
        [before],
      )
    ).map(({ id: _id, ...rest }) => rest);
  /** What a refused call may not have changed. */
  const state = async () => ({
    certificates: await countRows(h, "certificate"),
    requests: await countRows(h, "certificate_request"),
    renewed: await countRows(h, "certificate", "renewed_by_id is not null"),
    pending: await countRows(h, "certificate_request", "status = 'PENDING_APPROVAL'"),
  });

  it.each(CASES.map((c) => [c.name, c] as const))(
    "%s: the same answer and the same audit as a missing id",
    async (_name, c) => {
      const client = c.who();
      const tokenId = client === issuer.clients ? issuer.id : approver.id;
      const ref = c.ref();
      const missing = c.missing();
      const before = await state();

      let audit = await auditIds();
      const hiddenErr = await c.send(client, ref);
      const hiddenAudit = await auditAfter(audit);
      audit = await auditIds();
      const missingErr = await c.send(client, missing);
      const missingAudit = await auditAfter(audit);

      // Field by field, the client sees nothing that tells the two apart.
      const seen = observed(hiddenErr, ref);
      expect(seen).toEqual(observed(missingErr, missing));
      expect(seen.code).toBe(Code.NOT_FOUND);
      expect(seen.domain).toBe("certmint.dev");
      expect(hiddenErr.details).toContain(ref.trim());
      expect(seen.reason).toBe(
        c.resource().type === "certificate"
          ? "CERTIFICATE_NOT_FOUND"
          : "CERTIFICATE_REQUEST_NOT_FOUND",
      );
      for (const secret of secrets) {
        expect(hiddenErr.details).not.toContain(secret);
        expect(JSON.stringify(decodeFull(hiddenErr).metadata)).not.toContain(secret);
      }

      // The same number of audit records; a refused change's record tells admins why.
      const method = `${CERT}${c.method}`;
      if (c.mutating) {
        expect(missingAudit).toEqual([
          {
            actor_id: tokenId,
            method,
            status_code: Code.NOT_FOUND,
            error_reason: seen.reason,
            // The reference the caller sent (refusal-resource.ts; until stop 46 of
            // 2026-12-06 a request id sent was recorded as none).
            ...(c.resource().type === "certificate_request"
              ? { resource_type: "certificate_request", resource_id: missing.trim() }
              : { resource_type: "", resource_id: "" }),
          },
        ]);
        const { type, id } = c.resource();
        expect(hiddenAudit).toEqual([
          {
            actor_id: tokenId,
            method,
            status_code: Code.NOT_FOUND,
            error_reason: "PROFILE_NOT_GRANTED",
            resource_type: type,
            resource_id: id,
          },
        ]);
      } else {
        expect(hiddenAudit).toEqual([]);
        expect(missingAudit).toEqual([]);
      }
      expect(await state()).toEqual(before);
    },
  );

  it("admins find the refusals of another profile's objects in the audit trail", async () => {
    const records = (
      await call(h.audit, "listAuditRecords", {
        pageSize: 100,
        pageToken: "",
        actor: approver.id,
        method: "",
        resourceType: "certificate_request",
        resourceId: theirs.pendingId,
        failuresOnly: true,
      })
    ).auditRecords;
    expect(records.map((r) => [r.method.split("/").at(-1), r.statusCode, r.errorReason])).toEqual([
      ["RejectCertificateRequest", Code.NOT_FOUND, "PROFILE_NOT_GRANTED"],
      ["ApproveCertificateRequest", Code.NOT_FOUND, "PROFILE_NOT_GRANTED"],
    ]);
    // The admin can still act on the waiting request: the refusals wrote nothing.
    const rejected = await call(h.certificates, "rejectCertificateRequest", {
      certificateRequestId: theirs.pendingId,
      reason: "done",
    });
    expect(rejected.certificateRequest!.id).toBe(theirs.pendingId);
  });

  it("naming the profile itself is still PERMISSION_DENIED, and names only what the caller gave", async () => {
    const [byId] = await h.db.query<{ id: string }>(
      "select id from certificate_profile where slug = 'theirs-prod'",
    );
    for (const named of ["theirs-prod", byId!.id]) {
      const issued = await rpcError(
        call(
          issuer.clients.certificates,
          "issueCertificate",
          attrRequest(named, { cn: "x.example.com", dns: ["x.example.com"] }),
        ),
      );
      const w = new WatchStream(approver.clients, {
        scope: { $case: "certificateProfile", value: named },
      });
      await waitFor("the watch to be refused", () => w.error !== undefined);
      const watched = decodeFull(w.error);
      for (const [err, token] of [
        [issued, "ours-issuer"],
        [watched, "ours-approver"],
      ] as const) {
        expect({ code: err.code, reason: err.reason }).toEqual({
          code: 7,
          reason: "PROFILE_NOT_GRANTED",
        });
        // What the caller named, never more: named by id, the refusal does not give the slug.
        expect(err.metadata).toEqual({ certificate_profile: named, access_token: token });
        expect(err.message).toContain(`"${named}"`);
        const others = secrets.filter((x) => x !== named);
        for (const secret of others) {
          expect(err.message).not.toContain(secret);
          expect(JSON.stringify(err.metadata)).not.toContain(secret);
        }
      }
    }
  });

  it("a profile that does not exist is refused exactly as one the token does not list (no slug oracle)", async () => {
    const refusals = async (named: string) => {
      const issued = await rpcError(
        call(
          issuer.clients.certificates,
          "issueCertificate",
          attrRequest(named, { cn: "x.example.com", dns: ["x.example.com"] }),
        ),
      );
      const w = new WatchStream(approver.clients, {
        scope: { $case: "certificateProfile", value: named },
      });
      await waitFor("the watch to be refused", () => w.error !== undefined);
      return [issued, decodeFull(w.error)].map((err) => ({
        code: err.code,
        reason: err.reason,
        metadata: err.metadata,
        message: err.message.replaceAll(named, "<profile>"),
      }));
    };
    // Until 2026-12-04 a missing profile was NOT_FOUND and an ungranted one PERMISSION_DENIED,
    // so an issuer could find which profile slugs exist.
    const existing = await refusals("theirs-prod");
    expect(existing[0]!.code).toBe(7);
    for (const missing of ["no-such-profile", "00000000-0000-4000-8000-00000000abcd"]) {
      const got = await refusals(missing);
      expect(
        got.map((r) => ({ ...r, metadata: { ...r.metadata, certificate_profile: "" } })),
      ).toEqual(
        existing.map((r) => ({ ...r, metadata: { ...r.metadata, certificate_profile: "" } })),
      );
      expect(got.map((r) => r.metadata.certificate_profile)).toEqual([missing, missing]);
    }
    // An admin (it may read every profile) still gets NOT_FOUND for one that does not exist.
    const admin = await rpcError(
      issue(h, attrRequest("no-such-profile", { cn: "x.example.com", dns: ["x.example.com"] })),
    );
    expect({ code: admin.code, reason: admin.reason }).toEqual({
      code: 5,
      reason: "CERTIFICATE_PROFILE_NOT_FOUND",
    });
  });
});
