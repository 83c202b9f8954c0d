/**
 * Probe 52 (AUTHZ): a profile-scoped token whose list of profiles is empty (made so, or emptied
 * by the deletion of its only profile: README "A deleted profile leaves the profile list of every
 * token that named it") is scoped to nothing, not to everything. "No profile" must never read as
 * "no filter": its request queue is empty, its global watch receives no other profile's events,
 * and other profiles' requests are NOT_FOUND to it. On the compiled server (dist/src/main.js).
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeleteCertificateProfileRequest } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import {
  ApproveCertificateRequestRequest,
  CertificateEventType,
  CertificateRequestStatus,
  GetRequestStatusRequest,
  IssueCertificateRequest,
  ListCertificateRequestsRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import {
  type LiveCertmint,
  Role,
  rootPolicyProfile,
  startLive,
  token,
} from "../../probe49/api/live";
import { type CertmintClients, call, expectRpcError } from "../../support/harness";
import { waitFor } from "../../support/wait";
import { WatchStream } from "../../support/watch-stream";

const KEEPALIVE = CertificateEventType.CERTIFICATE_EVENT_TYPE_KEEPALIVE;

describe("probe52 authz: a scoped token with no profiles left sees nothing", () => {
  let live: LiveCertmint;
  const scoped: Array<{ who: string; clients: CertmintClients }> = [];
  let pendingId = "";
  const watches: WatchStream[] = [];

  beforeAll(async () => {
    live = await startLive({ CERTMINT_WATCH_KEEPALIVE_MS: "250" });
    await rootPolicyProfile(live, "web", { requireApproval: true });
    await rootPolicyProfile(live, "gone");
    const approver = await token(live, "emptied-approver", Role.ROLE_APPROVER, ["gone"]);
    const issuer = await token(live, "emptied-issuer", Role.ROLE_ISSUER, ["gone"]);
    await call(
      live.admin.profiles,
      "deleteCertificateProfile",
      DeleteCertificateProfileRequest.fromPartial({ certificateProfile: "gone" }),
    );
    scoped.push({ who: "approver emptied by a deletion", clients: approver.clients });
    scoped.push({ who: "issuer emptied by a deletion", clients: issuer.clients });
    // Made with no profiles at all, if the server accepts that (refusing it would do too).
    for (const [role, who] of [
      [Role.ROLE_APPROVER, "approver made with no profile"],
      [Role.ROLE_ISSUER, "issuer made with no profile"],
    ] as const) {
      try {
        scoped.push({ who, clients: (await token(live, `none-${role}`, role, [])).clients });
      } catch (err) {
        expect((err as { code: number }).code, who).toBe(status.INVALID_ARGUMENT);
      }
    }
  }, 240_000);

  afterAll(async () => {
    for (const w of watches) w.cancel();
    await live?.stop();
  });

  it("their global watches receive none of another profile's events", async () => {
    for (const s of scoped) watches.push(new WatchStream(s.clients, {}));
    await waitFor("each watch's first KEEPALIVE", () =>
      watches.every((w) => w.error !== undefined || w.events.some((e) => e.type === KEEPALIVE)),
    );
    for (const w of watches) expect(w.error, w.error?.message).toBeUndefined();
    // An event of web: an admin's request, approved by the admin's other token.
    const asked = await call(
      live.admin.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: "web",
        source: {
          $case: "attributes",
          value: {
            subject: { commonName: "w.example.com" },
            subjectAlternativeNames: { dnsNames: ["w.example.com"] },
          },
        },
      }),
    );
    expect(asked.status).toBe(CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL);
    pendingId = asked.certificateRequestId;
    const second = await token(live, "second-admin", Role.ROLE_ADMIN);
    await call(
      second.clients.certificates,
      "approveCertificateRequest",
      ApproveCertificateRequestRequest.fromPartial({ certificateRequestId: pendingId }),
    );
    let position = 0;
    await waitFor("the issuance's event numbered", async () => {
      const [row] = await live.db.query<{ p: string | null }>(
        "select max(position)::text as p from certificate_event",
      );
      position = Number(row?.p ?? 0);
      return position > 0;
    });
    await waitFor("each watch's KEEPALIVE past the event", () =>
      watches.every((w) => w.error !== undefined || w.keepaliveAtOrPast(position) !== undefined),
    );
    for (const [i, w] of watches.entries()) {
      expect(w.error, scoped[i]!.who).toBeUndefined();
      expect(w.seen(), scoped[i]!.who).toEqual([]);
    }
  });

  it("their request queues are empty, and web's requests are NOT_FOUND to them", async () => {
    // A request that waits: web's queue is not empty.
    const waiting = await call(
      live.admin.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: "web",
        source: {
          $case: "attributes",
          value: {
            subject: { commonName: "q.example.com" },
            subjectAlternativeNames: { dnsNames: ["q.example.com"] },
          },
        },
      }),
    );
    for (const s of scoped) {
      const list = await call(
        s.clients.certificates,
        "listCertificateRequests",
        ListCertificateRequestsRequest.fromPartial({}),
      );
      expect(list.certificateRequests, s.who).toEqual([]);
      const e = await expectRpcError(
        call(
          s.clients.certificates,
          "getRequestStatus",
          GetRequestStatusRequest.fromPartial({
            certificateRequestId: waiting.certificateRequestId,
          }),
        ),
      );
      expect({ code: e.code, reason: e.reason }, s.who).toEqual({
        code: status.NOT_FOUND,
        reason: "CERTIFICATE_REQUEST_NOT_FOUND",
      });
    }
  });
});
