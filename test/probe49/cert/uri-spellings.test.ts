/**
 * Probe 49 (CERT): URI SANs spelled to slip past a denied pattern. RFC 3986 6.2.2: a
 * percent-encoded unreserved character is the character ("%61dmin" is "admin"), scheme and host
 * are case-insensitive; an empty path segment and a non-ASCII character have no place in a
 * SPIFFE ID or an IA5String. Each must be refused (or matched by the denial), never signed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { expectRpcError } from "../../support/harness";
import {
  attributesRequest,
  certificateCount,
  createPolicy,
  createProfile,
  createRootCa,
  issueCertificate,
  type LiveCertmint,
  startLive,
} from "./live";

const REFUSED: Array<[string, string]> = [
  ["the denied path itself", "spiffe://prod.example/ns/admin/sa"],
  ["a percent-encoded letter in the denied segment", "spiffe://prod.example/ns/%61dmin/sa"],
  ["a lower-case percent-encoding in the denied segment", "spiffe://prod.example/ns/%61%64min/sa"],
  ["a percent-encoded letter in a denied host", "https://%61dmin.example.com/x"],
  ["an upper-case scheme and host", "HTTPS://ADMIN.EXAMPLE.COM/x"],
  ["an empty segment before the denied one", "spiffe://prod.example/ns//admin/sa"],
  ["a non-ASCII path", "spiffe://prod.example/ns/\u00e4dmin/sa"],
  ["a percent-encoded slash", "spiffe://prod.example/ns/admin%2Fsa"],
  ["a fullwidth letter in the host", "https://\uff41dmin.example.com/x"],
];

describe("probe49 cert: URI spellings against denied patterns", () => {
  let live: LiveCertmint;

  beforeAll(async () => {
    live = await startLive();
    await createRootCa(live, "root", KeyAlgorithm.KEY_ALGORITHM_EC_P256);
    await createPolicy(live, "uris", {
      sanRules: {
        uri: {
          allowed: ["spiffe://prod.example/ns/*", "https://**.example.com/*"],
          denied: ["spiffe://prod.example/ns/admin/*", "https://admin.example.com/*"],
        },
      },
      subjectRules: { commonName: { allowed: ["*"] } },
    });
    await createProfile(live, "uris", "uris", { ca: "root" });
  });

  afterAll(async () => {
    await live?.stop();
  });

  it("an allowed URI is signed", async () => {
    const res = await issueCertificate(
      live,
      attributesRequest("uris", { sans: { uris: ["spiffe://prod.example/ns/payments/sa"] } }),
    );
    expect(res.certificate!.certificatePem).toBeTruthy();
  });

  it.each(REFUSED)("refuses %s", async (_what, uri) => {
    const before = await certificateCount(live.db);
    const e = await expectRpcError(
      issueCertificate(live, attributesRequest("uris", { sans: { uris: [uri] } })),
    );
    expect(e.code, e.message).toBe(3);
    expect(e.violations.length).toBeGreaterThan(0);
    expect(await certificateCount(live.db)).toBe(before);
  });
});
