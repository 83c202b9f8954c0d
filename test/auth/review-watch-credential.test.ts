/**
 * Security review: a WatchCertificates stream is held to its credential for as long as it is
 * open, not only when it opens. Before, a stream opened with a token that was then revoked (or
 * that expired) kept receiving its profiles' events, and, for certificates the token owns,
 * each new private key (server-driven renewals), until the connection's maximum age.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateAccessTokenRequest,
  RevokeAccessTokenRequest,
} from "../../gen/ts/certmint/v1/access_token_service";
import { CertificateEventType } from "../../gen/ts/certmint/v1/certificate_service";
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
import { MovableClock } from "../renewal/helpers";
import { decodeError } from "../support/harness";
import { waitFor } from "../support/wait";
import { WatchStream } from "../support/watch-stream";

const ISSUED = CertificateEventType.CERTIFICATE_EVENT_TYPE_ISSUED;
const ec = KeyAlgorithm.KEY_ALGORITHM_EC_P256;

describe("WatchCertificates after its token is revoked or expires", () => {
  let h: TestCertmint;
  const clock = new MovableClock();
  let alphaId: string;
  const watches: WatchStream[] = [];
  const watch = (w: WatchStream) => {
    watches.push(w);
    return w;
  };

  beforeAll(async () => {
    h = await startTestCertmint(
      {
        CERTMINT_WATCH_KEEPALIVE_MS: "200",
        CERTMINT_WATCH_POLL_MS: "50",
        CERTMINT_WATCH_RETENTION_SECONDS: "3600",
      },
      { now: clock.now },
    );
    const root = await createRoot(h, "root");
    alphaId = (await createProfileRows(h, { slug: "alpha", caId: root.id })).profileId;
  });
  afterAll(async () => {
    for (const w of watches) w.cancel();
    await h?.stop();
  });

  it("a revoked token's open watch ends with UNAUTHENTICATED (TOKEN_REVOKED) and receives nothing issued after", async () => {
    const issuer = await createToken(h, "alpha-issuer", Role.ROLE_ISSUER, [alphaId]);
    const w = watch(new WatchStream(issuer.clients, {}));
    await waitFor("the watch open", () => w.open);
    const own = await call(
      issuer.clients.certificates,
      "issueCertificate",
      attrRequest("alpha", { cn: "a.example.com", dns: ["a.example.com"], keyAlgorithm: ec }),
    );
    const ownId = own.certificate!.certificateId;
    await waitFor("its own issuance", () => w.certificateIds(ISSUED).includes(ownId));
    expect(w.events.find((e) => e.certificate?.id === ownId)!.privateKeyPem).toBe(
      own.privateKeyPem,
    );

    await call(
      h.accessTokens,
      "revokeAccessToken",
      RevokeAccessTokenRequest.fromPartial({ accessToken: issuer.id }),
    );
    const after = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("alpha", { cn: "b.example.com", dns: ["b.example.com"], keyAlgorithm: ec }),
    );
    const afterId = after.certificate!.certificateId;
    await waitFor(
      "the watch to end, or to receive the certificate issued after the revocation",
      () => w.error !== undefined || w.certificateIds(ISSUED).includes(afterId),
    );
    expect(w.certificateIds(ISSUED)).not.toContain(afterId);
    expect(decodeError(w.error)).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "TOKEN_REVOKED",
    });
  });

  it("a token that expires while its watch is open: the watch ends with UNAUTHENTICATED (TOKEN_EXPIRED)", async () => {
    const res = await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug: "short-auditor", role: Role.ROLE_AUDITOR },
        ttl: { seconds: "120", nanos: 0 },
      }),
    );
    const w = watch(new WatchStream(h.clientsAs(res.secret), {}));
    await waitFor("the watch open", () => w.open);
    clock.advance(121);
    await waitFor("the watch to end", () => w.error !== undefined);
    expect(decodeError(w.error)).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "TOKEN_EXPIRED",
    });
  });
});
