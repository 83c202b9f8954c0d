/**
 * Probe 51 (RENEWAL): a renewal that waits for approval while its certificate changes (revoked,
 * put on hold, renewed another way) or its profile moves to another CA. An approval decides it
 * on the state at that moment: never a successor of a revoked or already renewed certificate,
 * a precise refusal, and what is signed is signed by the CA the profile names now (openssl).
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateRequestStatus,
  RenewalKeySource,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { type LiveCertmint, Role, startLive, token } from "../../probe49/api/live";
import { call, decodeError, expectRpcError } from "../../support/harness";
import { START_LIMIT_MS } from "../../support/server-process";
import {
  createIntermediate,
  createPolicy,
  createProfile,
  createRoot,
  issue,
  opensslVerify,
  reasonOf,
  renew,
  updateProfile,
  validity,
} from "./kit";

const R = CertificateRequestStatus;

describe("probe51 RENEWAL: a renewal waiting for approval while its certificate or profile changes", {
  timeout: START_LIMIT_MS + 120_000,
}, () => {
  let live: LiveCertmint;
  let root: Awaited<ReturnType<typeof createRoot>>;

  /** A profile that requires approval, its owner (issuer) and its approver. */
  const setup = async (slug: string) => {
    await createPolicy(live, `${slug}-policy`);
    await createProfile(live, slug, `${slug}-policy`, root.id, { requireApproval: true });
    const owner = await token(live, `${slug}-owner`, Role.ROLE_ISSUER, [slug]);
    const approver = await token(live, `${slug}-approver`, Role.ROLE_APPROVER, [slug]);
    return { owner, approver };
  };
  /** A certificate issued through an approval, and a renewal of it now waiting. */
  const waitingRenewal = async (slug: string, name: string) => {
    const { owner, approver } = await setup(slug);
    const req = await issue(owner.clients, slug, name);
    const approved = await call(approver.clients.certificates, "approveCertificateRequest", {
      certificateRequestId: req.certificateRequestId,
      comment: "",
    });
    const certId = approved.certificateRequest!.certificateId;
    const pending = await renew(owner.clients, certId, {
      keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
    });
    expect(pending.status).toBe(R.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL);
    return { owner, approver, certId, requestId: pending.certificateRequestId };
  };
  const approve = (c: Awaited<ReturnType<typeof token>>, id: string) =>
    call(c.clients.certificates, "approveCertificateRequest", {
      certificateRequestId: id,
      comment: "",
    });
  /**
   * What an approval came to: the refusal's code and reason, as an error or as the request it
   * answered FAILED (README: "FAILED when it no longer satisfies the policy").
   */
  const approvalOutcome = async (c: Awaited<ReturnType<typeof token>>, id: string) => {
    try {
      const res = await approve(c, id);
      const req = res.certificateRequest!;
      return { status: req.status, code: req.error?.code, reason: reasonOf(req.error) };
    } catch (err) {
      const e = decodeError(err);
      return { status: undefined, code: e.code, reason: e.reason };
    }
  };
  const successors = (id: string) => live.count("certificate", "renewed_from_id = $1", [id]);
  const requestStatus = async (id: string) =>
    (
      await live.db.query<{ status: string }>(
        "select status from certificate_request where id = $1",
        [id],
      )
    )[0]!.status;

  beforeAll(async () => {
    live = await startLive({ CERTMINT_RENEWAL_ENABLED: "false" });
    root = await createRoot(live, "root");
  });
  afterAll(async () => {
    await live?.stop();
  });

  it("the certificate revoked while its renewal waits: the approval is refused CERTIFICATE_REVOKED, nothing signed, the request no longer waits", async () => {
    const { approver, certId, requestId } = await waitingRenewal("rev", "rev.example.com");
    await call(live.admin.certificates, "revokeCertificate", {
      certificate: certId,
      reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
    });
    const out = await approvalOutcome(approver, requestId);
    expect(out.status).not.toBe(R.CERTIFICATE_REQUEST_STATUS_ISSUED);
    expect(await successors(certId)).toBe(0);
    expect(await requestStatus(requestId)).not.toBe("PENDING_APPROVAL");
    // As RenewCertificate tells it (README: "CERTIFICATE_ALREADY_RENEWED naming the successor
    // or CERTIFICATE_REVOKED"): there is no successor to look for.
    expect([out.code, out.reason]).toEqual([status.FAILED_PRECONDITION, "CERTIFICATE_REVOKED"]);
  });

  it("the certificate put on hold while its renewal waits: the approval signs nothing; released, it can be renewed", async () => {
    const { owner, approver, certId, requestId } = await waitingRenewal("hold", "hold.example.com");
    await call(live.admin.certificates, "revokeCertificate", {
      certificate: certId,
      reason: RevocationReason.REVOCATION_REASON_CERTIFICATE_HOLD,
    });
    const out = await approvalOutcome(approver, requestId);
    expect(out.code).toBe(status.FAILED_PRECONDITION);
    expect(await successors(certId)).toBe(0);
    const held = await expectRpcError(renew(owner.clients, certId));
    expect(out.reason).toBe(held.reason);
    await call(live.admin.certificates, "releaseCertificateHold", { certificate: certId });
    const again = await renew(owner.clients, certId, {
      keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
    });
    expect(again.status).toBe(R.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL);
    const done = await approve(approver, again.certificateRequestId);
    expect(done.certificateRequest!.status).toBe(R.CERTIFICATE_REQUEST_STATUS_ISSUED);
    expect(await successors(certId)).toBe(1);
  });

  it("the certificate renewed another way while its renewal waits (approval switched off meanwhile): the approval is refused CERTIFICATE_ALREADY_RENEWED, one successor", async () => {
    const { owner, approver, certId, requestId } = await waitingRenewal(
      "twice",
      "twice.example.com",
    );
    await updateProfile(live, "twice", { requireApproval: false }, ["require_approval"]);
    const direct = await renew(owner.clients, certId, {
      keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
    }).catch((err: unknown) => err);
    if ("certificate" in (direct as object)) {
      const out = await approvalOutcome(approver, requestId);
      expect([out.code, out.reason]).toEqual([
        status.FAILED_PRECONDITION,
        "CERTIFICATE_ALREADY_RENEWED",
      ]);
    } else {
      // One renewal of a certificate waits at a time, and the waiting one is still decided by
      // an approver: the direct renewal must then be refused precisely, naming it.
      const e = await expectRpcError(Promise.reject(direct));
      expect([e.code, e.reason]).toEqual([status.FAILED_PRECONDITION, "RENEWAL_ALREADY_WAITING"]);
      await approve(approver, requestId);
    }
    expect(await successors(certId)).toBe(1);
  });

  it("the profile moved to an intermediate CA while the renewal waits: the approval signs it with the CA named now, and openssl verifies the chain to the root", async () => {
    const { owner, approver, requestId } = await waitingRenewal("mv", "mv.example.com");
    const inter = await createIntermediate(live, "mv-inter", root.id);
    await updateProfile(
      live,
      "mv",
      { issuer: { $case: "certificateAuthority", value: inter.id } },
      ["certificate_authority"],
    );
    const done = await approve(approver, requestId);
    expect(done.certificateRequest!.status).toBe(R.CERTIFICATE_REQUEST_STATUS_ISSUED);
    const succ = (
      await call(live.admin.certificates, "getCertificate", {
        certificate: done.certificateRequest!.certificateId,
      })
    ).certificate!;
    expect(succ.certificateAuthorityId).toBe(inter.id);
    expect(validity(succ.certificatePem).x.checkIssued(validity(inter.certificatePem).x)).toBe(
      true,
    );
    expect(
      opensslVerify(succ.certificatePem, succ.certificateChainPem, root.certificatePem).ok,
    ).toBe(true);
    expect(JSON.stringify(done)).not.toMatch(/PRIVATE KEY/);
    const asOwner = await call(owner.clients.certificates, "getRequestStatus", {
      certificateRequestId: requestId,
    });
    expect(asOwner.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    expect(
      validity(succ.certificatePem).x.checkPrivateKey(
        (await import("node:crypto")).createPrivateKey(asOwner.privateKeyPem),
      ),
    ).toBe(true);
  });
});
