/**
 * Stop 49, helper API: what one caller's burst of expensive calls does to everyone else, lightly
 * (no load test). One issuer asks for six RSA-4096 keys at once with
 * CERTMINT_KEY_GENERATION_QUEUE_PER_TOKEN=1: the calls past its queue are RESOURCE_EXHAUSTED
 * KEY_GENERATION_QUEUE_FULL with a RetryInfo and nothing recorded, and another token's EC
 * issuance (microseconds of key generation) is served meanwhile.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { attrRequest } from "../../certificates/helpers";
import { call, decodeError } from "../../support/harness";
import { type LiveCertmint, Role, rootPolicyProfile, startLive, token } from "./live";

describe("probe49 API: one token's burst of RSA-4096 keys", () => {
  let live: LiveCertmint;

  beforeAll(async () => {
    live = await startLive({
      CERTMINT_KEY_GENERATION_QUEUE_PER_TOKEN: "1",
      CERTMINT_KEY_GENERATION_WORKERS: "1",
    });
    await rootPolicyProfile(live, "web");
  });
  afterAll(async () => {
    await live?.stop();
  });

  it("is refused past its queue with a RetryInfo, records nothing refused, and does not hold up another token", async () => {
    const burst = await token(live, "burst", Role.ROLE_ISSUER, ["web"]);
    const other = await token(live, "other", Role.ROLE_ISSUER, ["web"]);
    const asks = Array.from({ length: 6 }, (_, i) =>
      call(
        burst.clients.certificates,
        "issueCertificate",
        attrRequest("web", {
          dns: [`rsa${i}.example.com`],
          requestId: `rsa-${i}`,
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_RSA_4096,
        }),
      ),
    );
    const settled = Promise.allSettled(asks);
    // Another token's EC key never waits behind the burst.
    const ec = await call(
      other.clients.certificates,
      "issueCertificate",
      attrRequest("web", { dns: ["ec.example.com"] }),
    );
    expect(ec.certificate!.certificatePem).toContain("BEGIN CERTIFICATE");
    const outcomes = await settled;
    const refused = outcomes.flatMap((o) =>
      o.status === "rejected" ? [decodeError(o.reason)] : [],
    );
    const served = outcomes.filter((o) => o.status === "fulfilled").length;
    expect(served).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const e of refused) {
      expect(e).toMatchObject({
        code: status.RESOURCE_EXHAUSTED,
        reason: "KEY_GENERATION_QUEUE_FULL",
      });
      expect(e.retryDelaySeconds).toBeGreaterThan(0);
    }
    // Only the served calls left requests behind: each refused request_id may be retried.
    expect(
      await live.count("certificate_request", "request_id like 'rsa-%' and status = 'ISSUED'"),
    ).toBe(served);
    expect(await live.count("certificate_request", "request_id like 'rsa-%'")).toBe(served);
  });
});
