import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateEventType,
  type WatchCertificatesRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  createToken,
  KeyAlgorithm,
  Role,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { type CertmintClients, decodeError } from "../support/harness";
import { waitFor } from "../support/wait";
import { WatchStream as Watch } from "../support/watch-stream";

const T = CertificateEventType;

/**
 * One token's open watches are capped (CERTMINT_WATCH_STREAMS_PER_TOKEN): each costs a read of
 * every round of events and the CPU of every event it is sent, and 2,000 of one token held
 * another token's issuance at 0 per second (bench/fairness/watch-flood.ts).
 */
describe("WatchCertificates: open streams per access token", () => {
  let h: TestCertmint;
  let issuer: { id: string; clients: CertmintClients };
  let other: { clients: CertmintClients };
  const watches: Watch[] = [];
  const watch = (c: CertmintClients, req: Partial<WatchCertificatesRequest> = {}) => {
    const w = new Watch(c, req);
    watches.push(w);
    return w;
  };

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_WATCH_STREAMS_PER_TOKEN: "2",
      CERTMINT_WATCH_KEEPALIVE_MS: "200",
      CERTMINT_WATCH_POLL_MS: "50",
    });
    const root = await createRoot(h, "root");
    const alpha = await createProfileRows(h, { slug: "alpha", caId: root.id });
    issuer = await createToken(h, "alpha-issuer", Role.ROLE_ISSUER, [alpha.profileId]);
    other = await createToken(h, "alpha-auditor", Role.ROLE_AUDITOR);
  });
  afterAll(async () => {
    for (const w of watches) w.cancel();
    await h?.stop();
  });

  it("refuses a token's watch past the cap with RESOURCE_EXHAUSTED; its open ones and other tokens' go on", async () => {
    const first = watch(issuer.clients);
    const second = watch(issuer.clients);
    await waitFor("two watches open", () => first.open && second.open);

    const third = watch(issuer.clients);
    await waitFor("the third refused", () => third.error !== undefined);
    const refused = decodeError(third.error);
    expect(refused).toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
      reason: "WATCH_STREAMS_EXHAUSTED",
    });
    expect(refused.message).toContain("CERTMINT_WATCH_STREAMS_PER_TOKEN");
    expect(third.open).toBe(false);
    expect(third.events).toEqual([]);

    // Another token has its own places.
    const auditors = watch(other.clients);
    await waitFor("another token's watch open", () => auditors.open);

    // The open watches still get their events.
    const issued = await call(
      issuer.clients.certificates,
      "issueCertificate",
      attrRequest("alpha", {
        cn: "a.example.com",
        dns: ["a.example.com"],
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      }),
    );
    const id = issued.certificate!.certificateId;
    for (const w of [first, second, auditors]) {
      await waitFor("the issuance on each open watch", () =>
        w.certificateIds(T.CERTIFICATE_EVENT_TYPE_ISSUED).includes(id),
      );
      expect(w.error).toBeUndefined();
    }
  });

  it("gives a closed watch's place back", async () => {
    // Whatever the first test left open, this token has its two places taken now.
    const held = [watch(issuer.clients), watch(issuer.clients)];
    await waitFor("each open or refused", () => held.every((w) => w.open || w.error));
    for (const w of watches.filter((w) => w.open)) w.cancel();

    // The server notices each cancel on its own schedule: try until a watch opens, each try
    // either refused (the place not given back yet) or open.
    let reopened: Watch | undefined;
    await waitFor("a new watch of the token to open", async () => {
      const w = watch(issuer.clients);
      await waitFor("this try open or refused", () => w.open || w.error !== undefined);
      if (w.error) {
        expect(decodeError(w.error).reason).toBe("WATCH_STREAMS_EXHAUSTED");
        return false;
      }
      reopened = w;
      return true;
    });
    expect(reopened?.open).toBe(true);
  });
});
