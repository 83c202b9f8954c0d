/**
 * An admin's ACME accounts: ListAcmeAccounts and RevokeAcmeAccount (src/acme/admin/accounts.ts).
 * A revoked account (RFC 8555 7.1.2, the server's own deactivation) has every later request
 * refused `unauthorized`, its requests waiting for approval rejected, each change audited under
 * the admin's token; an account that is not valid is left as it is.
 */
import { createServer, type Server } from "node:http";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/certmint/v1/access_token_service";
import {
  AcmeAccountStatus,
  CertificateProfile,
  EnrollmentMethod,
  ListAcmeAccountsRequest,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import { createToken } from "../certificates/helpers";
import { createProfileRows, opensslCsr } from "../support/fixtures";
import { type CertmintClients, call, expectRpcError } from "../support/harness";
import { waitFor } from "../support/wait";
import { errorInfoOf, pemToDer } from "./admin-helpers";
import { type AcmeServer, createAcmeProfile, startAcmeServer } from "./helpers";
import { AcmeTestClient, b64u, publicJwk, thumbprint } from "./jws-client";

const ACME = "urn:ietf:params:acme:error:";
const REVOKE_ACCOUNT = "/certmint.v1.CertificateProfileService/RevokeAcmeAccount";

describe("an admin's ACME accounts", () => {
  let s: AcmeServer;
  let admin: { id: string; clients: CertmintClients };
  let auditor: CertmintClients;
  let challengeServer: Server;
  /** The http-01 key authorization the test's challenge server answers. */
  let keyAuthorization = "";

  beforeAll(async () => {
    s = await startAcmeServer({ CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR: "0" });
    challengeServer = createServer((_req, res) => res.end(keyAuthorization));
    await new Promise<void>((r) => challengeServer.listen(s.httpPort, "127.0.0.1", r));
    admin = await createToken(s.h, "acct-admin", Role.ROLE_ADMIN);
    auditor = (await createToken(s.h, "acct-auditor", Role.ROLE_AUDITOR)).clients;
  });
  afterAll(async () => {
    challengeServer?.close();
    await s?.h.stop();
  });

  const client = (profile = "web-acme") => new AcmeTestClient(s.directory(profile), s.tlsCaFile);
  const idOf = (c: AcmeTestClient) => c.kid!.split("/").at(-1)!;
  const list = (by: CertmintClients, req: Partial<ListAcmeAccountsRequest>) =>
    call(by.profiles, "listAcmeAccounts", ListAcmeAccountsRequest.fromPartial(req));
  const revoke = (acmeAccount: string, by = admin.clients) =>
    call(by.profiles, "revokeAcmeAccount", { acmeAccount });
  const accountRow = async (id: string) =>
    (
      await s.h.db.query<{ status: string; updated_at: Date }>(
        "select status, updated_at from acme_account where id = $1",
        [id],
      )
    )[0]!;
  const accountRecords = async (id: string) =>
    s.h.db.query<{ actor_id: string; method: string; changes: unknown }>(
      `select actor_id, method, changes from audit_record
        where resource_type = 'acme_account' and resource_id = $1 and method = $2`,
      [id, REVOKE_ACCOUNT],
    );

  /** An order of `c` for `name`, finalized: waiting for approval on a profile that needs it. */
  async function waitingRequest(c: AcmeTestClient, name: string): Promise<string> {
    const order = await c.newOrder([name]);
    expect(order.status, order.text).toBe(201);
    const authzUrl = (order.json.authorizations as string[])[0]!;
    const http01 = (
      (await c.post(authzUrl, "")).json.challenges as Array<{
        type: string;
        url: string;
        token: string;
      }>
    ).find((ch) => ch.type === "http-01")!;
    keyAuthorization = `${http01.token}.${thumbprint(publicJwk(c.key.publicKey))}`;
    await c.post(http01.url, {});
    await waitFor(
      `${name} validated`,
      async () => (await c.post(authzUrl, "")).json.status === "valid",
    );
    const csr = opensslCsr(`/CN=${name}`, [`DNS:${name}`]);
    const done = await c.post(order.json.finalize as string, { csr: b64u(pemToDer(csr.csrPem)) });
    expect(done.json.status, done.text).toBe("processing");
    const [row] = await s.h.db.query<{ certificate_request_id: string }>(
      "select certificate_request_id from acme_order where id = $1",
      [(order.headers.location as string).split("/").at(-1)],
    );
    return row!.certificate_request_id;
  }

  it("lists a profile's accounts in every status, oldest first, a page at a time", async () => {
    await createAcmeProfile(s.h, "listed-accounts");
    const valid = client("listed-accounts");
    await valid.register({ contact: ["mailto:ops@example.com"] });
    const deactivated = client("listed-accounts");
    await deactivated.register();
    expect((await deactivated.post(deactivated.kid!, { status: "deactivated" })).status).toBe(200);
    const revoked = client("listed-accounts");
    await revoked.register();
    await revoke(idOf(revoked));
    await client().register(); // another profile's: not listed

    const first = await list(auditor, { certificateProfile: "listed-accounts", pageSize: 2 });
    expect(first.acmeAccounts.map((a) => [a.id, a.status])).toEqual([
      [idOf(valid), AcmeAccountStatus.ACME_ACCOUNT_STATUS_VALID],
      [idOf(deactivated), AcmeAccountStatus.ACME_ACCOUNT_STATUS_DEACTIVATED],
    ]);
    const second = await list(auditor, {
      certificateProfile: "listed-accounts",
      pageSize: 2,
      pageToken: first.nextPageToken,
    });
    expect(second.acmeAccounts.map((a) => [a.id, a.status])).toEqual([
      [idOf(revoked), AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED],
    ]);
    expect(second.nextPageToken).toBe("");
    const [row] = await s.h.db.query<{ profile_id: string; created_at: Date; updated_at: Date }>(
      "select profile_id, created_at, updated_at from acme_account where id = $1",
      [idOf(valid)],
    );
    expect(first.acmeAccounts[0]).toEqual({
      id: idOf(valid),
      certificateProfileId: row!.profile_id,
      status: AcmeAccountStatus.ACME_ACCOUNT_STATUS_VALID,
      contact: ["mailto:ops@example.com"],
      keyThumbprint: thumbprint(publicJwk(valid.key.publicKey)),
      externalAccountKeyId: "",
      createTime: row!.created_at,
      updateTime: row!.updated_at,
    });
    // A page token of this list is refused with other filters (another profile).
    const other = await expectRpcError(
      list(auditor, { certificateProfile: "web-acme", pageToken: first.nextPageToken }),
    );
    expect({ code: other.code, reason: other.reason }).toEqual({
      code: status.INVALID_ARGUMENT,
      reason: "PAGE_TOKEN_INVALID",
    });
  });

  it("revokes a valid account: its requests are refused, its waiting request rejected, all audited", async () => {
    await createAcmeProfile(s.h, "gated-acme", { requireApproval: true });
    const c = client("gated-acme");
    await c.register();
    const id = idOf(c);
    const requestId = await waitingRequest(c, "waiting.acme.localhost");

    const res = await revoke(id);
    expect(res.acmeAccount).toMatchObject({
      id,
      status: AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED,
    });
    const row = await accountRow(id);
    expect(row.status).toBe("revoked");
    expect(res.acmeAccount!.updateTime).toEqual(row.updated_at);

    const order = await c.newOrder(["after.acme.localhost"]);
    expect(order.status, order.text).toBe(401);
    expect(order.json).toMatchObject({
      type: `${ACME}unauthorized`,
      detail: "the account is revoked",
    });
    // The same key cannot open the account again (RFC 8555 7.3.1: its existing account).
    const again = await c.register();
    expect(again.status, again.text).toBe(401);

    const [request] = await s.h.db.query<{ status: string; error: { message: string } }>(
      "select status, error from certificate_request where id = $1",
      [requestId],
    );
    expect(request!.status).toBe("REJECTED");
    expect(request!.error.message).toContain("ACME account that made it was revoked by an admin");
    const approval = await expectRpcError(
      call(s.h.certificates, "approveCertificateRequest", {
        certificateRequestId: requestId,
        comment: "too late",
      }),
    );
    expect(approval.code).toBe(status.FAILED_PRECONDITION);

    expect(await accountRecords(id)).toEqual([
      {
        actor_id: admin.id,
        method: REVOKE_ACCOUNT,
        changes: [{ field: "status", before: "valid", after: "revoked" }],
      },
    ]);
    const requestRecords = await s.h.db.query<{ actor_id: string }>(
      `select actor_id from audit_record
        where resource_type = 'certificate_request' and resource_id = $1 and method = $2`,
      [requestId, REVOKE_ACCOUNT],
    );
    expect(requestRecords).toEqual([{ actor_id: admin.id }]);

    // Again: returned as it is, nothing rewritten, no record of a change.
    const repeated = await revoke(id);
    expect(repeated.acmeAccount!.status).toBe(AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED);
    expect(await accountRow(id)).toEqual(row);
    expect(await accountRecords(id)).toHaveLength(1);
  });

  it("leaves an account that is not valid as it is", async () => {
    const c = client();
    await c.register();
    await c.post(c.kid!, { status: "deactivated" });
    const before = await accountRow(idOf(c));
    const res = await revoke(idOf(c));
    expect(res.acmeAccount!.status).toBe(AcmeAccountStatus.ACME_ACCOUNT_STATUS_DEACTIVATED);
    expect(await accountRow(idOf(c))).toEqual(before);
    expect(await accountRecords(idOf(c))).toEqual([]);
  });

  it("a profile switched from ACME to API keeps its accounts: listed, and revoked, all the same", async () => {
    await createAcmeProfile(s.h, "was-acme");
    const c = client("was-acme");
    await c.register();
    await call(admin.clients.profiles, "updateCertificateProfile", {
      certificateProfile: CertificateProfile.fromPartial({
        slug: "was-acme",
        enrollmentMethod: EnrollmentMethod.ENROLLMENT_METHOD_API,
      }),
      updateMask: ["enrollment_method"],
    });
    const listed = await list(auditor, { certificateProfile: "was-acme" });
    expect(listed.acmeAccounts.map((a) => [a.id, a.status])).toEqual([
      [idOf(c), AcmeAccountStatus.ACME_ACCOUNT_STATUS_VALID],
    ]);
    const revoked = await revoke(idOf(c));
    expect(revoked.acmeAccount?.status).toBe(AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED);
    expect((await accountRow(idOf(c))).status).toBe("revoked");
    // Back on ACME, the account stays ended.
    await call(admin.clients.profiles, "updateCertificateProfile", {
      certificateProfile: CertificateProfile.fromPartial({
        slug: "was-acme",
        enrollmentMethod: EnrollmentMethod.ENROLLMENT_METHOD_ACME,
      }),
      updateMask: ["enrollment_method"],
    });
    const order = await c.newOrder(["back.acme.localhost"]);
    expect(order.status).toBe(401);
    expect(order.json.type).toBe(`${ACME}unauthorized`);
  });

  it("an auditor lists accounts but may not revoke one; nothing is written", async () => {
    const c = client();
    await c.register();
    const listed = await list(auditor, { certificateProfile: "web-acme", pageSize: 1000 });
    expect(listed.acmeAccounts.map((a) => a.id)).toContain(idOf(c));
    const denied = await expectRpcError(revoke(idOf(c), auditor));
    expect(denied.code).toBe(status.PERMISSION_DENIED);
    expect((await accountRow(idOf(c))).status).toBe("valid");
    expect((await c.newOrder(["still.acme.localhost"])).status).toBe(201);
  });

  it("refuses unknown accounts and profiles (NOT_FOUND) and ids that are not UUIDs", async () => {
    await createProfileRows(s.h, { slug: "api-only-accounts" });
    const statuses = await s.h.db.query(
      "select id, status, updated_at from acme_account order by id",
    );
    const unknownId = "00000000-0000-4000-8000-000000000000";
    expect(await errorInfoOf(revoke(unknownId))).toEqual({
      code: status.NOT_FOUND,
      reason: "ACME_ACCOUNT_NOT_FOUND",
      metadata: { acme_account: unknownId },
    });
    const notUuid = await expectRpcError(revoke("not-an-id"));
    expect(notUuid.code).toBe(status.INVALID_ARGUMENT);
    expect(notUuid.violations.map((v) => [v.field, v.reason])).toEqual([
      ["acme_account", "ACME_ACCOUNT_ID_INVALID"],
    ]);
    const missing = await expectRpcError(list(admin.clients, { certificateProfile: "nope" }));
    expect({ code: missing.code, reason: missing.reason }).toEqual({
      code: status.NOT_FOUND,
      reason: "CERTIFICATE_PROFILE_NOT_FOUND",
    });
    // A profile that never enrolled by ACME has no accounts: an empty page, not an error.
    const notAcme = await list(admin.clients, { certificateProfile: "api-only-accounts" });
    expect(notAcme).toEqual({ acmeAccounts: [], nextPageToken: "" });
    expect(
      await s.h.db.query("select id, status, updated_at from acme_account order by id"),
    ).toEqual(statuses);
    // Refusals are audited as every refused change is, against the account named, with no
    // change recorded.
    const refusals = await s.h.db.query<{
      error_reason: string;
      resource: string;
      changes: unknown;
    }>(
      `select error_reason, resource_type || ':' || resource_id as resource, changes
         from audit_record where method = $1 and status_code <> 0 order by created_at`,
      [REVOKE_ACCOUNT],
    );
    expect(refusals.map((r) => [r.error_reason, r.resource, r.changes])).toEqual(
      expect.arrayContaining([
        ["ACME_ACCOUNT_NOT_FOUND", `acme_account:${unknownId}`, null],
        ["ACME_ACCOUNT_ID_INVALID", "acme_account:not-an-id", null],
      ]),
    );
  });
});
