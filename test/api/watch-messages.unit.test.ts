/**
 * A watch event's message is built and encoded once for every stream that sends the same
 * event object (src/api/watch-certificates.ts, watchMessageOf), and never shared when it is one
 * stream's own: a KEEPALIVE, a CURRENT. An event with a private key is an object of its owner's
 * token alone (watch.ts sharedHandOut), shared by that token's streams.
 */
import { describe, expect, it } from "vitest";
import {
  CertificateServiceService,
  CertificateStatus,
  WatchCertificatesResponse,
} from "../../gen/ts/certmint/v1/certificate_service";
import { encodingReusableOnce } from "../../src/api/reusable-response";
import { watchMessageOf } from "../../src/api/watch-certificates";
import type { WatchEvent } from "../../src/issuance/events/watch";
import type { CertificateView } from "../../src/issuance/repositories";

const NOT_AFTER = new Date("2026-12-10T00:00:00Z");
const BEFORE = new Date("2026-12-05T00:00:00Z");
const AFTER = new Date("2026-12-11T00:00:00Z");

const certificate: CertificateView = {
  id: "00000000-0000-4000-8000-000000000001",
  serialNumber: "01",
  caId: null,
  profileId: "00000000-0000-4000-8000-00000000000a",
  certificateRequestId: "00000000-0000-4000-8000-000000000002",
  owner: "00000000-0000-4000-8000-000000000003",
  subject: { attributes: [] },
  commonName: "a.example.com",
  sans: { dns: ["a.example.com"], ip: [], email: [], uri: [] },
  searchNames: "a.example.com",
  keyAlgorithm: "EC_P256",
  signatureAlgorithm: "ECDSA_WITH_SHA256",
  keyUsages: [],
  extendedKeyUsages: [],
  isCa: false,
  notBefore: new Date("2026-12-01T00:00:00Z"),
  notAfter: NOT_AFTER,
  fingerprintSha256: "ab",
  spkiSha256: null,
  certificatePem: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
  chainPem: [],
  revokedAt: null,
  revocationReason: null,
  renewedFromId: null,
  renewedById: null,
  createdAt: new Date("2026-12-01T00:00:00Z"),
};

const issued = (): WatchEvent => ({
  cursor: "7",
  type: "ISSUED",
  time: new Date("2026-12-01T00:00:00Z"),
  certificate,
});

/** The method's serializer as the server registers it (services.ts), counting encodings. */
function counting() {
  let encoded = 0;
  const serialize = encodingReusableOnce((m: WatchCertificatesResponse) => {
    encoded++;
    return CertificateServiceService.watchCertificates.responseSerialize(m);
  });
  return { serialize, encoded: () => encoded };
}

describe("watch messages", () => {
  it("an event object many streams send is built and encoded once", () => {
    const { serialize, encoded } = counting();
    const event = issued();
    const first = watchMessageOf(event, BEFORE);
    const bytes = [0, 1, 2].map(() => serialize(watchMessageOf(event, BEFORE)));
    expect(watchMessageOf(event, BEFORE)).toBe(first);
    expect(encoded()).toBe(1);
    expect(new Set(bytes).size).toBe(1);
    const decoded = WatchCertificatesResponse.decode(bytes[0]!);
    expect(decoded).toMatchObject({ cursor: "7", privateKeyPem: "" });
    expect(decoded.certificate?.id).toBe(certificate.id);
  });

  it("a message with a private key is built once for its event object, the owner token's alone", () => {
    const { serialize, encoded } = counting();
    const shared = issued();
    const sharedBytes = serialize(watchMessageOf(shared, BEFORE));
    // The watch adds the owner's key to a copy of the shared event, one per event and token
    // (watch.ts sharedHandOut), which the token's streams send; no other token's stream gets it.
    const owners = { ...shared, privateKeyPem: "-----BEGIN PRIVATE KEY-----\nk\n" };
    const own = watchMessageOf(owners, BEFORE);
    expect(own).not.toBe(watchMessageOf(shared, BEFORE));
    // Until stop 44 of 2026-12-06 built and encoded again for each of the token's streams.
    expect(watchMessageOf(owners, BEFORE)).toBe(own);
    expect(WatchCertificatesResponse.decode(serialize(own)).privateKeyPem).toBe(
      owners.privateKeyPem,
    );
    serialize(watchMessageOf(owners, BEFORE));
    expect(encoded()).toBe(2);
    // The shared message and its bytes never carry it.
    expect(watchMessageOf(shared, BEFORE).privateKeyPem).toBe("");
    expect(serialize(watchMessageOf(shared, BEFORE))).toBe(sharedBytes);
    expect(WatchCertificatesResponse.decode(sharedBytes).privateKeyPem).toBe("");
    // Another copy with the key (another token's, or a CURRENT's) has a message of its own.
    expect(watchMessageOf({ ...owners }, BEFORE)).not.toBe(own);
  });

  it("KEEPALIVE and CURRENT are built per stream", () => {
    for (const type of ["KEEPALIVE", "CURRENT"] as const) {
      const event: WatchEvent = { ...issued(), type };
      expect(watchMessageOf(event, BEFORE)).not.toBe(watchMessageOf(event, BEFORE));
    }
  });

  it("a stream sending the event after its certificate expired gets the status of its time", () => {
    const event = issued();
    const early = watchMessageOf(event, BEFORE);
    expect(early.certificate?.status).toBe(CertificateStatus.CERTIFICATE_STATUS_ACTIVE);
    const late = watchMessageOf(event, AFTER);
    expect(late).not.toBe(early);
    expect(late.certificate?.status).toBe(CertificateStatus.CERTIFICATE_STATUS_EXPIRED);
  });
});
