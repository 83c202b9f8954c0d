/**
 * Probe 52 (AUTHZ): what an issuer learns of other profiles' objects through the paths the
 * in-place checks may take before the profile check: a dry run (validate_only) and a reused
 * request_id. README ("An issuer or approver learns nothing of other profiles"): naming another
 * profile's certificate is answered exactly as a missing id, and a refused call writes nothing.
 * And request_id idempotency keys are per token ("`request_id` idempotency keys are per token"),
 * also when several tokens send the same one at once (their calls may be stored together, one
 * commit for many): each gets a certificate and key of its own, and its replay returns them.
 * On the compiled server (dist/src/main.js); black-box.
 */
import { randomUUID } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ApproveCertificateRequestRequest,
  GetCurrentCertificateRequest,
  IssueCertificateRequest,
  ListCertificateRequestsRequest,
  RejectCertificateRequestRequest,
  RenewalKeySource,
  RenewCertificateRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import {
  type LiveCertmint,
  Role,
  rootPolicyProfile,
  startLive,
  token,
} from "../../probe49/api/live";
import { outcomeOf } from "../../probe51/identity/svc-pki";
import { type CertmintClients, call, expectRpcError } from "../../support/harness";
import { waitFor } from "../../support/wait";
import { WatchStream } from "../../support/watch-stream";
import { allTablesButAudit, eventsNumbered, snapshotTables } from "./rows";

const issue = (as: CertmintClients, profile: string, host: string, requestId = "") =>
  call(
    as.certificates,
    "issueCertificate",
    IssueCertificateRequest.fromPartial({
      certificateProfile: profile,
      requestId,
      source: {
        $case: "attributes",
        value: { subject: { commonName: host }, subjectAlternativeNames: { dnsNames: [host] } },
      },
    }),
  );

const renew = (
  as: CertmintClients,
  certificateId: string,
  extra: Partial<RenewCertificateRequest> = {},
) =>
  call(
    as.certificates,
    "renewCertificate",
    RenewCertificateRequest.fromPartial({ certificateId, ...extra }),
  );

/** The refusal as a caller compares two of them: code, reason, and the message with the id sent replaced. */
async function refusal(p: Promise<unknown>, idSent: string) {
  const e = await expectRpcError(p);
  return { code: e.code, reason: e.reason, message: e.message.replaceAll(idSent, "<id>") };
}

describe("probe52 authz: dry runs and reused request_ids tell an issuer nothing of other profiles", () => {
  let live: LiveCertmint;
  let tables: string[];
  let stranger: CertmintClients;
  let coIssuer: CertmintClients;
  /** A certificate of web's owner (and its ISSUED request), and a missing id of the same form. */
  let webCert: string;
  let webRequest: string;
  let mailApprover: CertmintClients;
  const missing = randomUUID();

  beforeAll(async () => {
    live = await startLive();
    await rootPolicyProfile(live, "web");
    await rootPolicyProfile(live, "mail");
    const owner = await token(live, "web-owner", Role.ROLE_ISSUER, ["web"]);
    coIssuer = (await token(live, "web-co", Role.ROLE_ISSUER, ["web"])).clients;
    stranger = (await token(live, "mail-team", Role.ROLE_ISSUER, ["mail"])).clients;
    const web = await issue(owner.clients, "web", "a.example.com");
    webCert = web.certificate!.certificateId;
    webRequest = web.certificateRequestId;
    mailApprover = (await token(live, "mail-approver", Role.ROLE_APPROVER, ["mail"])).clients;
    // The stranger's own certificate, renewed under a request_id it then reuses.
    const mine = (await issue(stranger, "mail", "m.example.com")).certificate!.certificateId;
    await renew(stranger, mine, { requestId: "reused-id" });
    tables = await allTablesButAudit(live.db);
  }, 240_000);

  afterAll(async () => {
    await live?.stop();
  });

  const unchangedBy = async (act: () => Promise<void>) => {
    await eventsNumbered(live.db);
    const before = await snapshotTables(live.db, tables);
    await act();
    expect(await snapshotTables(live.db, tables)).toEqual(before);
  };

  it("a dry-run renewal of another profile's certificate is answered as one of a missing id", async () => {
    await unchangedBy(async () => {
      const theirs = await refusal(renew(stranger, webCert, { validateOnly: true }), webCert);
      const none = await refusal(renew(stranger, missing, { validateOnly: true }), missing);
      expect(theirs).toEqual(none);
      expect(theirs.code).toBe(status.NOT_FOUND);
    });
  });

  it("a dry-run renewal by a co-issuer that does not own the certificate is CERTIFICATE_NOT_OWNED", async () => {
    await unchangedBy(async () => {
      const e = await expectRpcError(
        renew(coIssuer, webCert, {
          validateOnly: true,
          keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
        }),
      );
      expect({ code: e.code, reason: e.reason }).toEqual({
        code: status.PERMISSION_DENIED,
        reason: "CERTIFICATE_NOT_OWNED",
      });
    });
  });

  it("a reused request_id naming another profile's certificate is answered as one naming a missing id", async () => {
    await unchangedBy(async () => {
      const theirs = await refusal(renew(stranger, webCert, { requestId: "reused-id" }), webCert);
      const none = await refusal(renew(stranger, missing, { requestId: "reused-id" }), missing);
      expect(theirs).toEqual(none);
    });
  });

  it("issuing on a profile not granted, a missing one, and either with a reused request_id: one answer", async () => {
    await unchangedBy(async () => {
      const outcomes = [
        await outcomeOf(issue(stranger, "web", "x.example.com")),
        await outcomeOf(issue(stranger, "no-such-profile", "x.example.com")),
        await outcomeOf(issue(stranger, "web", "x.example.com", "reused-id")),
        await outcomeOf(issue(stranger, "no-such-profile", "x.example.com", "reused-id")),
      ];
      expect(outcomes[0]).toEqual({
        code: status.PERMISSION_DENIED,
        reason: "PROFILE_NOT_GRANTED",
      });
      expect(outcomes[1]).toEqual(outcomes[0]);
      expect(outcomes[3]).toEqual(outcomes[2]);
    });
  });

  it("listing the requests of a profile not granted and of a missing one: one answer", async () => {
    const list = (profile: string) =>
      outcomeOf(
        call(
          stranger.certificates,
          "listCertificateRequests",
          ListCertificateRequestsRequest.fromPartial({ certificateProfile: profile }),
        ),
      );
    expect(await list("web")).toEqual({
      code: status.PERMISSION_DENIED,
      reason: "PROFILE_NOT_GRANTED",
    });
    expect(await list("no-such-profile")).toEqual(await list("web"));
  });

  it("tokens sending one request_id at once each get their own certificate and key, and replays return their own", async () => {
    const teams = await Promise.all(
      [1, 2, 3, 4].map(
        async (n) => (await token(live, `same-id-${n}`, Role.ROLE_ISSUER, ["web"])).clients,
      ),
    );
    const requestId = "shared-key-of-four";
    const first = await Promise.all(
      teams.map((t, n) => issue(t, "web", `t${n}.example.com`, requestId)),
    );
    const ids = first.map((r) => r.certificate!.certificateId);
    expect(new Set(ids).size).toBe(4);
    expect(new Set(first.map((r) => r.privateKeyPem)).size).toBe(4);
    const replays = await Promise.all(
      teams.map((t, n) => issue(t, "web", `t${n}.example.com`, requestId)),
    );
    expect(replays.map((r) => r.certificate!.certificateId)).toEqual(ids);
    expect(replays.map((r) => r.privateKeyPem)).toEqual(first.map((r) => r.privateKeyPem));
    for (const [n, r] of first.entries())
      expect(r.certificate!.certificatePem).toBe(replays[n]!.certificate!.certificatePem);
  });

  it("deciding on another profile's issued request, or a co-issuer's, is answered as on a missing id", async () => {
    const approve = (as: CertmintClients, id: string) =>
      call(
        as.certificates,
        "approveCertificateRequest",
        ApproveCertificateRequestRequest.fromPartial({ certificateRequestId: id }),
      );
    const reject = (as: CertmintClients, id: string) =>
      call(
        as.certificates,
        "rejectCertificateRequest",
        RejectCertificateRequestRequest.fromPartial({ certificateRequestId: id, reason: "probe" }),
      );
    await unchangedBy(async () => {
      for (const [who, as, decide] of [
        ["mail's approver approving", mailApprover, approve],
        ["mail's approver rejecting", mailApprover, reject],
        ["a co-issuer withdrawing", coIssuer, reject],
        ["mail's issuer withdrawing", stranger, reject],
      ] as const) {
        const theirs = await refusal(decide(as, webRequest), webRequest);
        const none = await refusal(decide(as, missing), missing);
        expect(theirs, who).toEqual(none);
        expect(theirs.code, who).toBe(status.NOT_FOUND);
      }
    });
  });

  it("another profile's certificate named by its serial number is answered as a missing serial", async () => {
    const [row] = await live.db.query<{ serial_number: string }>(
      "select serial_number from certificate where id = $1",
      [webCert],
    );
    const serial = row!.serial_number;
    // A serial of the same form that no certificate has.
    const missingSerial = serial.slice(0, -4) + (serial.endsWith("0000") ? "1111" : "0000");
    await unchangedBy(async () => {
      const current = (ref: string) =>
        call(
          stranger.certificates,
          "getCurrentCertificate",
          GetCurrentCertificateRequest.fromPartial({ certificate: ref }),
        );
      expect(await refusal(current(serial), serial)).toEqual(
        await refusal(current(missingSerial), missingSerial),
      );
      expect(await refusal(renew(stranger, serial), serial)).toEqual(
        await refusal(renew(stranger, missingSerial), missingSerial),
      );
      const ended = async (ref: string) => {
        const w = new WatchStream(stranger, { scope: { $case: "certificateId", value: ref } });
        await waitFor("the watch to end", () => w.error !== undefined || w.events.length > 0);
        w.cancel();
        expect(w.events, "no event of another profile's certificate").toEqual([]);
        return { code: w.error!.code, message: w.error!.details.replaceAll(ref, "<id>") };
      };
      const theirs = await ended(serial);
      expect(theirs.code).toBe(status.NOT_FOUND);
      expect(theirs).toEqual(await ended(missingSerial));
    });
  });
});
