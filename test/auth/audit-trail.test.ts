/**
 * The audit trail over gRPC: one record per mutating call (actor, method, resource, status,
 * x-request-id), written in the transaction of the change; refusals recorded with their status
 * and nothing else; reads record nothing; ListAuditRecords filters and pages newest first.
 */
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import type { AuditRecord } from "../../gen/ts/certmint/v1/audit_service";
import { CreateRootCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { CertificatePolicy } from "../../gen/ts/certmint/v1/certificate_policy_service";
import { CertificateProfile } from "../../gen/ts/certmint/v1/certificate_profile_service";
import { KeyAlgorithm, RevocationReason } from "../../gen/ts/certmint/v1/common";
import { ErrorInfo } from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import {
  type CertmintClients,
  call,
  decodeError,
  expectRpcError,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { generatedKeyRequest } from "../support/issue-request";

const SVC = {
  ca: "/certmint.v1.CertificateAuthorityService/",
  policy: "/certmint.v1.CertificatePolicyService/",
  profile: "/certmint.v1.CertificateProfileService/",
  cert: "/certmint.v1.CertificateService/",
  token: "/certmint.v1.AccessTokenService/",
  audit: "/certmint.v1.AuditService/",
};

/** Like the harness's `call`, with an x-request-id in the metadata. */
function callWith<C extends object, M extends keyof C>(
  client: C,
  method: M,
  request: Parameters<typeof call<C, M>>[2],
  requestId: string,
): ReturnType<typeof call<C, M>> {
  const metadata = new Metadata();
  metadata.set("x-request-id", requestId);
  return new Promise((resolve, reject) => {
    const fn = client[method] as unknown as (
      req: unknown,
      md: Metadata,
      cb: (err: ServiceError | null, res: unknown) => void,
    ) => unknown;
    fn.call(client, request, metadata, (err, res) => (err ? reject(err) : resolve(res as never)));
  });
}

/** The ErrorInfo metadata of a failed call. */
function errorMetadata(err: unknown): Record<string, string> {
  const raw = (err as ServiceError).metadata?.get("grpc-status-details-bin")[0];
  if (!raw) return {};
  const info = Status.decode(raw as Buffer).details.find((d) => d.typeUrl.endsWith(".ErrorInfo"));
  return info ? ErrorInfo.decode(info.value).metadata : {};
}

type AuditRow = {
  id: string;
  actor_id: string;
  actor_slug: string;
  method: string;
  resource_type: string;
  resource_id: string;
  status_code: number;
  error_reason: string;
  request_id: string;
  peer: string;
};

let h: TestCertmint;
let adminId: string;
let adminSlug: string;
let auditor: { id: string; slug: string; clients: CertmintClients };
let issuer: { id: string; clients: CertmintClients };
let n = 0;
const rid = (what: string) => `audit-${what}-${++n}`;

const recordsOf = (requestId: string) =>
  h.db.query<AuditRow>("select * from audit_record where request_id = $1 order by created_at", [
    requestId,
  ]);
const auditCount = async () =>
  Number((await h.db.query<{ n: string }>("select count(*) as n from audit_record"))[0]!.n);
const count = async (table: string, where = "true", params: unknown[] = []) =>
  Number(
    (
      await h.db.query<{ n: string }>(`select count(*) as n from ${table} where ${where}`, params)
    )[0]!.n,
  );

const policyMessage = (slug: string) =>
  CertificatePolicy.fromPartial({
    slug,
    sanRules: { dns: { allowed: ["**.example.com"], denied: ["*.evil.example.com"] } },
    subjectRules: { commonName: { allowed: ["*.example.com"] } },
    maxTtl: { seconds: String(90 * 86_400), nanos: 0 },
  });
const createRootRequest = (slug: string) =>
  CreateRootCertificateAuthorityRequest.fromPartial({
    slug,
    subject: { commonName: `${slug} CA` },
    keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
  });

/** A database trigger that makes the success record of `method` fail to insert. */
async function failSuccessRecordsOf(method: string): Promise<() => Promise<void>> {
  await h.db.query(`
    create or replace function test_fail_audit() returns trigger language plpgsql as $$
    begin
      if new.method = tg_argv[0] and new.status_code = 0 then
        raise exception 'injected: audit record not writable';
      end if;
      return new;
    end $$`);
  await h.db.query(
    `create trigger test_fail_audit before insert on audit_record
       for each row execute function test_fail_audit('${method}')`,
  );
  return async () => {
    await h.db.query("drop trigger if exists test_fail_audit on audit_record");
  };
}

beforeAll(async () => {
  h = await startTestCertmint();
  const [admin] = await h.db.query<{ id: string; slug: string }>(
    "select id, slug from access_token where role = 'ADMIN'",
  );
  adminId = admin!.id;
  adminSlug = admin!.slug;
});
afterAll(async () => {
  await h?.stop();
});

describe("each successful mutating RPC writes exactly one audit record", () => {
  const done: Record<
    string,
    { requestId: string; method: string; resourceType: string; resourceId: string; before: number }
  > = {};

  /** Makes a call with a fresh x-request-id, noting the audit count before it. */
  async function track<T>(
    key: string,
    method: string,
    resourceType: string,
    fn: (requestId: string) => Promise<T>,
    resourceIdOf: (res: T) => string,
  ): Promise<T> {
    const requestId = rid(key);
    const before = await auditCount();
    const res = await fn(requestId);
    done[key] = { requestId, method, resourceType, resourceId: resourceIdOf(res), before };
    expect(await auditCount(), `${key}: records written`).toBe(before + 1);
    return res;
  }

  beforeAll(async () => {
    await track(
      "create-root",
      `${SVC.ca}CreateRootCertificateAuthority`,
      "certificate_authority",
      (r) =>
        callWith(h.authorities, "createRootCertificateAuthority", createRootRequest("root"), r),
      (res) => res.certificateAuthority!.id,
    );
    await track(
      "create-policy",
      `${SVC.policy}CreateCertificatePolicy`,
      "certificate_policy",
      (r) =>
        callWith(
          h.policies,
          "createCertificatePolicy",
          { certificatePolicy: policyMessage("web-policy"), preset: 0 },
          r,
        ),
      (res) => res.certificatePolicy!.id,
    );
    await track(
      "create-profile",
      `${SVC.profile}CreateCertificateProfile`,
      "certificate_profile",
      (r) =>
        callWith(
          h.profiles,
          "createCertificateProfile",
          {
            certificateProfile: CertificateProfile.fromPartial({
              slug: "web",
              certificatePolicy: "web-policy",
              issuer: { $case: "certificateAuthority", value: "root" },
            }),
          },
          r,
        ),
      (res) => res.certificateProfile!.id,
    );
    const issued = await track(
      "issue",
      `${SVC.cert}IssueCertificate`,
      "certificate_request",
      (r) =>
        callWith(
          h.certificates,
          "issueCertificate",
          generatedKeyRequest("web", "a.example.com"),
          r,
        ),
      (res) => res.certificateRequestId,
    );
    await track(
      "revoke",
      `${SVC.cert}RevokeCertificate`,
      "certificate",
      (r) =>
        callWith(
          h.certificates,
          "revokeCertificate",
          {
            certificate: issued.certificate!.certificateId,
            reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
          },
          r,
        ),
      (res) => res.certificate!.id,
    );
    await track(
      "create-token",
      `${SVC.token}CreateAccessToken`,
      "access_token",
      (r) =>
        callWith(
          h.accessTokens,
          "createAccessToken",
          CreateAccessTokenRequest.fromPartial({
            accessToken: { slug: "short-lived", role: Role.ROLE_AUDITOR },
          }),
          r,
        ),
      (res) => res.accessToken!.id,
    );
    await track(
      "revoke-token",
      `${SVC.token}RevokeAccessToken`,
      "access_token",
      (r) =>
        callWith(
          h.accessTokens,
          "revokeAccessToken",
          { revokeCreatedTokens: false, accessToken: "short-lived" },
          r,
        ),
      (res) => res.accessToken!.id,
    );
    await track(
      "update-profile",
      `${SVC.profile}UpdateCertificateProfile`,
      "certificate_profile",
      (r) =>
        callWith(
          h.profiles,
          "updateCertificateProfile",
          {
            certificateProfile: CertificateProfile.fromPartial({
              slug: "web",
              description: "updated",
            }),
            updateMask: ["description"],
          },
          r,
        ),
      (res) => res.certificateProfile!.id,
    );

    // Tokens the later tests use (their creation is recorded too).
    const a = await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug: "the-auditor", role: Role.ROLE_AUDITOR },
      }),
    );
    auditor = { id: a.accessToken!.id, slug: "the-auditor", clients: h.clientsAs(a.secret) };
    const i = await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug: "the-issuer", role: Role.ROLE_ISSUER, certificateProfiles: ["web"] },
      }),
    );
    issuer = { id: i.accessToken!.id, clients: h.clientsAs(i.secret) };
  });

  const calls = [
    "create-root",
    "create-policy",
    "create-profile",
    "issue",
    "revoke",
    "create-token",
    "revoke-token",
    "update-profile",
  ];

  it.each(calls)(
    "%s: one record with the admin as actor, the method, status 0 and the call's x-request-id",
    async (key) => {
      const c = done[key]!;
      const records = await recordsOf(c.requestId);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({
        actor_id: adminId,
        actor_slug: adminSlug,
        method: c.method,
        status_code: 0,
        error_reason: "",
        request_id: c.requestId,
      });
      expect(records[0]!.peer).toMatch(/127\.0\.0\.1/);
    },
  );

  const namesItsResource = (key: string) => async () => {
    const c = done[key]!;
    const [record] = await recordsOf(c.requestId);
    expect(c.resourceId).not.toBe("");
    expect({ type: record!.resource_type, id: record!.resource_id }).toEqual({
      type: c.resourceType,
      id: c.resourceId,
    });
  };
  for (const key of calls) {
    it(`${key}: the record names the resource (type and id)`, namesItsResource(key));
  }

  it("the records come back from ListAuditRecords as stored", async () => {
    const c = done["create-token"]!;
    const [row] = await recordsOf(c.requestId);
    const res = await call(h.audit, "listAuditRecords", {
      pageSize: 0,
      pageToken: "",
      actor: "",
      method: c.method,
      resourceType: "",
      resourceId: c.resourceId,
      startTime: undefined,
      endTime: undefined,
      failuresOnly: false,
    });
    expect(res.auditRecords).toHaveLength(1);
    expect(res.auditRecords[0]).toMatchObject({
      id: row!.id,
      actor: adminId,
      actorSlug: adminSlug,
      method: c.method,
      resourceType: "access_token",
      resourceId: c.resourceId,
      statusCode: 0,
      errorReason: "",
      requestId: c.requestId,
      peer: row!.peer,
    });
    expect(res.auditRecords[0]!.createTime).toBeInstanceOf(Date);
  });

  describe("refused calls", () => {
    it("PERMISSION_DENIED (an auditor creating a policy) writes one record with that status and nothing else", async () => {
      const requestId = rid("denied");
      const before = await auditCount();
      const policies = await count("certificate_policy");
      const err = await expectRpcError(
        callWith(
          auditor.clients.policies,
          "createCertificatePolicy",
          { certificatePolicy: policyMessage("sneaky"), preset: 0 },
          requestId,
        ),
      );
      expect(err).toMatchObject({ code: status.PERMISSION_DENIED, reason: "ROLE_NOT_ALLOWED" });
      expect(await auditCount()).toBe(before + 1);
      expect(await recordsOf(requestId)).toEqual([
        expect.objectContaining({
          actor_id: auditor.id,
          actor_slug: auditor.slug,
          method: `${SVC.policy}CreateCertificatePolicy`,
          // The object the call named (since the third stop of 2026-12-05: nothing before).
          resource_type: "certificate_policy",
          resource_id: "sneaky",
          status_code: status.PERMISSION_DENIED,
          error_reason: "ROLE_NOT_ALLOWED",
          request_id: requestId,
        }),
      ]);
      expect(await count("certificate_policy")).toBe(policies);
    });

    it("INVALID_ARGUMENT (a policy violation on IssueCertificate) writes one record with that status and no certificate", async () => {
      const requestId = rid("violation");
      const before = await auditCount();
      const certificates = await count("certificate");
      let thrown: unknown;
      try {
        await callWith(
          h.certificates,
          "issueCertificate",
          generatedKeyRequest("web", "x.evil.example.com"),
          requestId,
        );
      } catch (e) {
        thrown = e;
      }
      const err = decodeError(thrown);
      expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "POLICY_VIOLATION" });
      const requestRow = errorMetadata(thrown).certificate_request_id!;
      expect(await auditCount()).toBe(before + 1);
      expect(await recordsOf(requestId)).toEqual([
        expect.objectContaining({
          actor_id: adminId,
          method: `${SVC.cert}IssueCertificate`,
          resource_type: "certificate_request",
          resource_id: requestRow,
          status_code: status.INVALID_ARGUMENT,
          error_reason: "POLICY_VIOLATION",
        }),
      ]);
      expect(await count("certificate")).toBe(certificates);
      // The refused request is kept as FAILED (GetRequestStatus explains it), with no certificate.
      expect(
        await h.db.query("select status, certificate_id from certificate_request where id = $1", [
          requestRow,
        ]),
      ).toEqual([{ status: "FAILED", certificate_id: null }]);
    });

    it("the FAILED request of a policy refusal and its audit record are one statement: when the record cannot be written, neither is", async () => {
      await h.db.query(`
        create or replace function test_fail_refusal_audit() returns trigger language plpgsql as $$
        begin
          if new.error_reason = 'POLICY_VIOLATION' then
            raise exception 'injected: refusal record not writable';
          end if;
          return new;
        end $$`);
      await h.db.query(
        `create trigger test_fail_refusal_audit before insert on audit_record
           for each row execute function test_fail_refusal_audit()`,
      );
      try {
        const requestId = rid("violation-unrecorded");
        const failedBefore = await count("certificate_request", "status = 'FAILED'");
        let thrown: unknown;
        try {
          await callWith(
            h.certificates,
            "issueCertificate",
            generatedKeyRequest("web", "y.evil.example.com"),
            requestId,
          );
        } catch (e) {
          thrown = e;
        }
        // The statement failed as a whole: the caller sees an internal error, and no FAILED
        // row exists without its record; the API layer records the INTERNAL failure instead.
        expect(decodeError(thrown).code).toBe(status.INTERNAL);
        expect(await count("certificate_request", "status = 'FAILED'")).toBe(failedBefore);
        expect(await recordsOf(requestId)).toEqual([
          expect.objectContaining({ status_code: status.INTERNAL, resource_id: "" }),
        ]);
      } finally {
        await h.db.query("drop trigger if exists test_fail_refusal_audit on audit_record");
      }
    });

    it("UNAUTHENTICATED mutating calls write nothing (there is no actor)", async () => {
      const before = await auditCount();
      const stranger = h.clientsAs(`certmint_${"x".repeat(43)}`);
      const err = await expectRpcError(
        callWith(
          stranger.authorities,
          "createRootCertificateAuthority",
          createRootRequest("x"),
          rid("anon"),
        ),
      );
      expect(err.code).toBe(status.UNAUTHENTICATED);
      const none = h.clientsAs(undefined);
      const err2 = await expectRpcError(
        callWith(
          none.certificates,
          "issueCertificate",
          generatedKeyRequest("web", "b.example.com"),
          rid("anon"),
        ),
      );
      expect(err2.code).toBe(status.UNAUTHENTICATED);
      expect(await auditCount()).toBe(before);
    });
  });

  describe("read-only calls", () => {
    it("write no audit record", async () => {
      const before = await auditCount();
      const issued = done.issue!;
      const [cert] = await h.db.query<{ id: string }>(
        "select id from certificate where certificate_request_id = $1",
        [issued.resourceId],
      );
      for (const c of [h, auditor.clients]) {
        await call(c.authorities, "getCertificateAuthority", { certificateAuthority: "root" });
        await call(c.authorities, "listCertificateAuthorities", {
          pageSize: 0,
          pageToken: "",
          status: 0,
        });
        await call(c.authorities, "getCertificateRevocationList", {
          certificateAuthority: "root",
          encoding: 0,
          knownCrlNumber: "",
        });
        await call(c.policies, "getCertificatePolicy", { certificatePolicy: "web-policy" });
        await call(c.policies, "listCertificatePolicies", { pageSize: 0, pageToken: "" });
        await call(c.profiles, "getCertificateProfile", { certificateProfile: "web" });
        await call(c.profiles, "listCertificateProfiles", { pageSize: 0, pageToken: "" });
        await call(c.certificates, "getCertificate", { certificate: cert!.id });
        await call(c.certificates, "listCertificates", {
          pageSize: 0,
          pageToken: "",
          certificateProfile: "",
          certificateAuthority: "",
          status: 0,
          expiresBefore: undefined,
          nameContains: "",
          view: 0,
        });
        await call(c.certificates, "getRequestStatus", { certificateRequestId: issued.resourceId });
        await call(c.accessTokens, "getAccessToken", { accessToken: "the-auditor" });
        await call(c.accessTokens, "listAccessTokens", { pageSize: 0, pageToken: "" });
        await call(c.audit, "listAuditRecords", {
          pageSize: 0,
          pageToken: "",
          actor: "",
          method: "",
          resourceType: "",
          resourceId: "",
          startTime: undefined,
          endTime: undefined,
          failuresOnly: false,
        });
      }
      // A refused read writes nothing either.
      await expectRpcError(
        call(issuer.clients.accessTokens, "listAccessTokens", { pageSize: 0, pageToken: "" }),
      );
      expect(await auditCount()).toBe(before);
    });
  });
});

describe("ListAuditRecords", () => {
  type Filter = {
    actor?: string;
    method?: string;
    resourceType?: string;
    resourceId?: string;
    startTime?: Date;
    endTime?: Date;
    failuresOnly?: boolean;
  };
  async function listAll(
    f: Filter,
    pageSize = 1000,
    clients: CertmintClients = h,
  ): Promise<AuditRecord[]> {
    const out: AuditRecord[] = [];
    let pageToken = "";
    do {
      const page = await call(clients.audit, "listAuditRecords", {
        pageSize,
        pageToken,
        actor: f.actor ?? "",
        method: f.method ?? "",
        resourceType: f.resourceType ?? "",
        resourceId: f.resourceId ?? "",
        startTime: f.startTime,
        endTime: f.endTime,
        failuresOnly: f.failuresOnly ?? false,
      });
      expect(page.auditRecords.length).toBeLessThanOrEqual(pageSize);
      out.push(...page.auditRecords);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return out;
  }
  it("refuses a filter that could never match, naming every field: unknown resource type, a bare method name, an empty time range", async () => {
    const err = await expectRpcError(
      call(h.audit, "listAuditRecords", {
        pageSize: 0,
        pageToken: "",
        actor: "",
        method: "IssueCertificate",
        resourceType: "certificates",
        resourceId: "",
        startTime: new Date("2026-01-02T00:00:00Z"),
        endTime: new Date("2026-01-01T00:00:00Z"),
        failuresOnly: false,
      }),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.reason).toBe("AUDIT_FILTER_INVALID");
    expect(err.violations.map((v) => [v.field, v.reason])).toEqual([
      ["resource_type", "RESOURCE_TYPE_UNKNOWN"],
      ["method", "METHOD_INVALID"],
      ["end_time", "TIME_RANGE_EMPTY"],
    ]);
  });

  /** Ids of the rows matching `where`, newest first, as the database has them. */
  const expected = async (where: string, params: unknown[] = []) =>
    (
      await h.db.query<{ id: string }>(
        `select id from audit_record where ${where} order by created_at desc, id desc`,
        params,
      )
    ).map((r) => r.id);
  const ids = (rs: AuditRecord[]) => rs.map((r) => r.id);

  beforeAll(async () => {
    // Some more traffic by several actors, with failures.
    for (const name of ["b1", "b2", "b3"]) {
      await call(
        issuer.clients.certificates,
        "issueCertificate",
        generatedKeyRequest("web", `${name}.example.com`),
      );
    }
    await expectRpcError(
      call(
        issuer.clients.certificates,
        "issueCertificate",
        generatedKeyRequest("web", "y.evil.example.com"),
      ),
    );
    await expectRpcError(
      call(
        auditor.clients.authorities,
        "createRootCertificateAuthority",
        createRootRequest("nope"),
      ),
    );
    expect(await auditCount()).toBeGreaterThan(15);
  });

  it("lists every record newest first, and pages with page_token to the same list", async () => {
    const all = await listAll({});
    expect(ids(all)).toEqual(await expected("true"));
    for (let i = 1; i < all.length; i++) {
      expect(all[i - 1]!.createTime!.getTime()).toBeGreaterThanOrEqual(
        all[i]!.createTime!.getTime(),
      );
    }
    for (const size of [1, 3, 7]) expect(ids(await listAll({}, size))).toEqual(ids(all));
    const first = await call(h.audit, "listAuditRecords", {
      pageSize: 3,
      pageToken: "",
      actor: "",
      method: "",
      resourceType: "",
      resourceId: "",
      startTime: undefined,
      endTime: undefined,
      failuresOnly: false,
    });
    expect(first.auditRecords).toHaveLength(3);
    expect(first.nextPageToken).not.toBe("");
  });

  it("filters by actor, by id or by slug", async () => {
    const byId = await listAll({ actor: issuer.id });
    const bySlug = await listAll({ actor: "the-issuer" });
    expect(byId.length).toBe(4);
    expect(ids(byId)).toEqual(await expected("actor_id = $1", [issuer.id]));
    expect(ids(bySlug)).toEqual(ids(byId));
    expect(ids(await listAll({ actor: auditor.slug }))).toEqual(
      await expected("actor_id = $1", [auditor.id]),
    );
    expect(ids(await listAll({ actor: adminSlug }))).toEqual(
      await expected("actor_id = $1", [adminId]),
    );
    expect(await listAll({ actor: "nobody-by-that-name" })).toEqual([]);
  });

  it("filters by method, resource type and resource id", async () => {
    const issue = `${SVC.cert}IssueCertificate`;
    const byMethod = await listAll({ method: issue });
    expect(ids(byMethod)).toEqual(await expected("method = $1", [issue]));
    expect(byMethod.every((r) => r.method === issue)).toBe(true);

    const byType = await listAll({ resourceType: "access_token" });
    expect(byType.length).toBeGreaterThanOrEqual(4);
    expect(ids(byType)).toEqual(await expected("resource_type = 'access_token'"));

    const token = await h.db.query<{ id: string }>(
      "select id from access_token where slug = 'short-lived'",
    );
    const byResource = await listAll({ resourceId: token[0]!.id });
    expect(byResource.map((r) => r.method)).toEqual([
      `${SVC.token}RevokeAccessToken`,
      `${SVC.token}CreateAccessToken`,
    ]);

    const combined = await listAll({ method: issue, actor: issuer.id, failuresOnly: true });
    expect(combined).toHaveLength(1);
    expect(combined[0]).toMatchObject({
      statusCode: status.INVALID_ARGUMENT,
      errorReason: "POLICY_VIOLATION",
    });
  });

  it("filters by time range: start_time inclusive, end_time exclusive", async () => {
    const all = await listAll({});
    const times = [...new Set(all.map((r) => r.createTime!.getTime()))].sort((a, b) => a - b);
    expect(times.length).toBeGreaterThan(4);
    const start = new Date(times[1]!);
    const end = new Date(times[times.length - 2]!);
    const inRange = await listAll({ startTime: start, endTime: end });
    expect(ids(inRange)).toEqual(
      await expected("created_at >= $1 and created_at < $2", [start, end]),
    );
    expect(inRange.length).toBeGreaterThan(0);
    expect(inRange.every((r) => r.createTime! >= start && r.createTime! < end)).toBe(true);
    expect(ids(await listAll({ startTime: start }))).toEqual(
      await expected("created_at >= $1", [start]),
    );
    expect(ids(await listAll({ endTime: end }))).toEqual(await expected("created_at < $1", [end]));
    expect(await listAll({ startTime: new Date(Date.now() + 3_600_000) })).toEqual([]);
  });

  it("failures_only returns the failed calls only", async () => {
    const failures = await listAll({ failuresOnly: true });
    expect(failures.length).toBeGreaterThanOrEqual(4);
    expect(failures.every((r) => r.statusCode !== 0 && r.errorReason !== "")).toBe(true);
    expect(ids(failures)).toEqual(await expected("status_code <> 0"));
    expect(ids(await listAll({ failuresOnly: true }, 2))).toEqual(ids(failures));
  });

  it("an AUDITOR may list; an ISSUER is PERMISSION_DENIED", async () => {
    expect(ids(await listAll({}, 1000, auditor.clients))).toEqual(ids(await listAll({})));
    const err = await expectRpcError(
      call(issuer.clients.audit, "listAuditRecords", {
        pageSize: 0,
        pageToken: "",
        actor: "",
        method: "",
        resourceType: "",
        resourceId: "",
        startTime: undefined,
        endTime: undefined,
        failuresOnly: false,
      }),
    );
    expect(err).toMatchObject({ code: status.PERMISSION_DENIED, reason: "ROLE_NOT_ALLOWED" });
  });
});

describe("the success record and the change commit together", () => {
  it("every certificate has the success record of its IssueCertificate request, and every token its CreateAccessToken", async () => {
    expect(await count("certificate")).toBeGreaterThan(3);
    const orphans = await h.db.query(
      `select c.id from certificate c where not exists (
         select 1 from audit_record a
          where a.method = $1 and a.status_code = 0
            and a.resource_type = 'certificate_request' and a.resource_id = c.certificate_request_id::text)`,
      [`${SVC.cert}IssueCertificate`],
    );
    expect(orphans).toEqual([]);
    // And the other way round: every successful issuance record names an issued request.
    const ghosts = await h.db.query(
      `select a.id from audit_record a
        where a.method = $1 and a.status_code = 0 and a.resource_id <> '' and not exists (
          select 1 from certificate c where c.certificate_request_id::text = a.resource_id)`,
      [`${SVC.cert}IssueCertificate`],
    );
    expect(ghosts).toEqual([]);
    const tokens = await h.db.query(
      `select t.id from access_token t where t.creator_id is not null and not exists (
         select 1 from audit_record a
          where a.method = $1 and a.status_code = 0 and a.resource_id = t.id::text)`,
      [`${SVC.token}CreateAccessToken`],
    );
    expect(tokens).toEqual([]);
  });

  it("an issuance whose record cannot be written stores no certificate and no success record", async () => {
    const undo = await failSuccessRecordsOf(`${SVC.cert}IssueCertificate`);
    const certificates = await count("certificate");
    const requestId = rid("rollback-issue");
    try {
      const err = await expectRpcError(
        callWith(
          h.certificates,
          "issueCertificate",
          generatedKeyRequest("web", "rb.example.com"),
          requestId,
        ),
      );
      expect(err.code).toBe(status.INTERNAL);
    } finally {
      await undo();
    }
    expect(await count("certificate")).toBe(certificates);
    expect(await count("certificate", "common_name = 'rb.example.com'")).toBe(0);
    const records = await recordsOf(requestId);
    expect(records.filter((r) => r.status_code === 0)).toEqual([]);
    // The failure is recorded instead.
    expect(records).toEqual([expect.objectContaining({ status_code: status.INTERNAL })]);
  });

  it("a token whose record cannot be written is not created", async () => {
    const undo = await failSuccessRecordsOf(`${SVC.token}CreateAccessToken`);
    const requestId = rid("rollback-token");
    try {
      const err = await expectRpcError(
        callWith(
          h.accessTokens,
          "createAccessToken",
          CreateAccessTokenRequest.fromPartial({
            accessToken: { slug: "never-stored", role: Role.ROLE_AUDITOR },
          }),
          requestId,
        ),
      );
      expect(err.code).toBe(status.INTERNAL);
    } finally {
      await undo();
    }
    expect(await count("access_token", "slug = 'never-stored'")).toBe(0);
    expect((await recordsOf(requestId)).map((r) => r.status_code)).toEqual([status.INTERNAL]);
  });

  it("a token revocation whose record cannot be written does not revoke", async () => {
    await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug: "stays-active", role: Role.ROLE_AUDITOR },
      }),
    );
    const undo = await failSuccessRecordsOf(`${SVC.token}RevokeAccessToken`);
    try {
      const err = await expectRpcError(
        call(h.accessTokens, "revokeAccessToken", {
          revokeCreatedTokens: false,
          accessToken: "stays-active",
        }),
      );
      expect(err.code).toBe(status.INTERNAL);
    } finally {
      await undo();
    }
    expect(await count("access_token", "slug = 'stays-active' and revoked_at is null")).toBe(1);
  });

  it("a root CA whose record cannot be written is not created", async () => {
    const undo = await failSuccessRecordsOf(`${SVC.ca}CreateRootCertificateAuthority`);
    try {
      const err = await expectRpcError(
        call(h.authorities, "createRootCertificateAuthority", createRootRequest("rolled-back")),
      );
      expect(err.code).toBe(status.INTERNAL);
    } finally {
      await undo();
    }
    expect(await count("certificate_authority", "slug = 'rolled-back'")).toBe(0);
  });

  it("a policy whose record cannot be written is not created", async () => {
    const undo = await failSuccessRecordsOf(`${SVC.policy}CreateCertificatePolicy`);
    try {
      const err = await expectRpcError(
        call(h.policies, "createCertificatePolicy", {
          certificatePolicy: policyMessage("rolled-back-policy"),
          preset: 0,
        }),
      );
      expect(err.code).toBe(status.INTERNAL);
    } finally {
      await undo();
    }
    expect(await count("certificate_policy", "slug = 'rolled-back-policy'")).toBe(0);
  });

  it("a profile update whose record cannot be written changes nothing", async () => {
    const [before] = await h.db.query(
      "select description, version, updated_at from certificate_profile where slug = 'web'",
    );
    const undo = await failSuccessRecordsOf(`${SVC.profile}UpdateCertificateProfile`);
    try {
      const err = await expectRpcError(
        call(h.profiles, "updateCertificateProfile", {
          certificateProfile: CertificateProfile.fromPartial({
            slug: "web",
            description: "rolled back",
          }),
          updateMask: ["description"],
        }),
      );
      expect(err.code).toBe(status.INTERNAL);
    } finally {
      await undo();
    }
    const [after] = await h.db.query(
      "select description, version, updated_at from certificate_profile where slug = 'web'",
    );
    expect(after).toEqual(before);
  });
});
