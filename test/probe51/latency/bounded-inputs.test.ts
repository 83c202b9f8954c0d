/**
 * Probe 51 (LATENCY): inputs built to be expensive that the live server bounds (regression
 * tests; each passed when written). A CSR is at most 65,536 characters, so thousands of
 * requested extensions or attributes fit in one; ASN.1 nesting inside an extension's value is
 * bounded; headers past Node's HTTP/2 limit are refused before any handler. After each, another
 * client's issuance still completes.
 */
import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { csrRequest } from "../../certificates/helpers";
import { oid } from "../../support/der-csr";
import { call, expectRpcError } from "../../support/harness";
import { name, OID, octets, p256Spki, rawCsr, seq, set, tlv, utf8 } from "../../support/raw-der";
import {
  expectServedWell,
  grpcFrame,
  liveWithGoodClient,
  rawGrpcCall,
  rawSession,
  wellBehavedIssuer,
} from "./attack";

/** A private arc no certificate carries: its DER content bytes (1.3.6.1.4.1.99999). */
const PRIVATE_ARC = oid("1.3.6.1.4.1.99999").subarray(2);

describe("probe51 latency: expensive inputs the server bounds", () => {
  const state = liveWithGoodClient("inputs-good");
  let attacker: Awaited<ReturnType<typeof wellBehavedIssuer>>;
  const key = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const subject = name([OID.commonName, utf8("x.example.com")]);
  const san = seq(OID.subjectAltName, octets(seq(tlv(0x82, Buffer.from("x.example.com")))));
  const csr = (attributes: Buffer[]) =>
    rawCsr({
      privateKey: key.privateKey,
      subject,
      spki: p256Spki.named(key.publicKey),
      attributes,
    });
  const extensionRequest = (...extensions: Buffer[]) =>
    seq(OID.extensionRequest, set(seq(...extensions)));
  const issueCsr = (pem: string) =>
    call(
      attacker.issuer.clients.certificates,
      "issueCertificate",
      csrRequest(attacker.profile, pem),
    );

  beforeAll(async () => {
    attacker = await wellBehavedIssuer(state.live, "inputs-attacker");
  }, 240_000);

  it("2,600 unknown requested extensions or 2,400 unknown attributes in one CSR: issued without them", async () => {
    const { live, good } = state;
    const unknown = (i: number) => oid(`1.3.6.1.4.1.99999.${i}`);
    const manyExtensions = csr([
      extensionRequest(
        san,
        ...Array.from({ length: 2600 }, (_, i) => seq(unknown(i), octets(Buffer.from([5, 0])))),
      ),
    ]);
    const manyAttributes = csr([
      extensionRequest(san),
      ...Array.from({ length: 2400 }, (_, i) => seq(unknown(i), set(utf8("a")))),
    ]);
    for (const pem of [manyExtensions, manyAttributes]) {
      expect(pem.length).toBeGreaterThan(60_000);
      expect(pem.length).toBeLessThanOrEqual(65_536);
      const issued = await issueCsr(pem);
      const cert = new X509Certificate(issued.certificate!.certificatePem);
      expect(cert.subjectAltName).toBe("DNS:x.example.com");
      // The profile decides what a certificate carries: nothing of the private arc.
      expect(cert.raw.includes(PRIVATE_ARC)).toBe(false);
    }
    await expectServedWell(live, good, "after-extensions.example.com");
  }, 120_000);

  it("an extension value nested 10,000 deep, and 1,500 subjectAltName extensions: CSR_MALFORMED", async () => {
    const { live, good } = state;
    let nested: Buffer = Buffer.from([0x05, 0x00]);
    for (let i = 0; i < 10_000; i++) nested = seq(nested);
    const deep = csr([extensionRequest(san, seq(oid("1.3.6.1.4.1.99999.1"), octets(nested)))]);
    const repeated = csr([extensionRequest(...Array.from({ length: 1500 }, () => san))]);
    const before = await live.count("certificate");
    for (const pem of [deep, repeated]) {
      const err = await expectRpcError(issueCsr(pem));
      expect([err.code, err.reason]).toEqual([3, "CSR_MALFORMED"]);
    }
    expect(await live.count("certificate")).toBe(before);
    await expectServedWell(live, good, "after-nesting.example.com");
  }, 120_000);

  it("a 60 KB header is served; 256 KB and 1 MB headers are refused before any handler (the stream refused or the connection closed, README: Node's HTTP/2 layer), and the server carries on", async () => {
    const { live, good } = state;
    const check = (session: ReturnType<typeof rawSession>, headers: Record<string, string>) =>
      rawGrpcCall(session, "/grpc.health.v1.Health/Check", grpcFrame(Buffer.alloc(0)), headers);
    const first = rawSession(live.address);
    expect((await check(first, { "x-pad": "a".repeat(60_000) })).grpcStatus).toBe(0);
    first.destroy();
    for (const size of [256_000, 1_000_000]) {
      const session = rawSession(live.address);
      const refused = await check(session, { "x-pad": "a".repeat(size) });
      session.destroy();
      // No gRPC status: the stream was reset (REFUSED_STREAM, 7) or its connection closed.
      expect(refused.grpcStatus).toBeUndefined();
      expect([7, 0, 2, 11]).toContain(refused.rstCode);
      const next = rawSession(live.address);
      expect((await check(next, {})).grpcStatus).toBe(0);
      next.destroy();
    }
    await expectServedWell(live, good, "after-headers.example.com");
  }, 120_000);
});
