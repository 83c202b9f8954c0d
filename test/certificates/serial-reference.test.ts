/**
 * A certificate named by its serial as programs print it: Go's SerialNumber.Text(16), Python's
 * format(n, "x") and hex(n), Java's toString(16) drop the leading zero nibble of certmint's
 * serials (01...), and OpenSSL writes colons. Until stop 40 of 2026-12-05 only whole octets were
 * accepted: GetCertificate, RevokeCertificate, GetCurrentCertificate and watch by serial refused
 * the serial those languages print as "not a hex serial" (an outside probe).
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { normalizeSerial } from "../../src/issuance/certificates/find";
import {
  attrRequest,
  Code,
  call,
  createProfileRows,
  createRoot,
  KeyAlgorithm,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

describe("normalizeSerial", () => {
  it.each([
    ["016b1482593f68a129d01e15ff7d7bd945", "016b1482593f68a129d01e15ff7d7bd945"],
    ["16b1482593f68a129d01e15ff7d7bd945", "016b1482593f68a129d01e15ff7d7bd945"],
    ["0x16B1482593F68A129D01E15FF7D7BD945", "016b1482593f68a129d01e15ff7d7bd945"],
    ["01:6B:14:82", "016b1482"],
    ["0001", "01"],
    // A first octet with its high bit set carries the DER sign octet, given or not.
    ["a1b2", "00a1b2"],
    ["00a1b2", "00a1b2"],
    ["0", "00"],
    ["ff".repeat(20), `00${"ff".repeat(20)}`],
  ])("%s -> %s", (input, stored) => {
    expect(normalizeSerial(input)).toBe(stored);
  });

  it.each(["", "0x", "xyz", "12 34", "1".repeat(41), "-01"])("refuses %j", (input) => {
    expect(normalizeSerial(input)).toBeUndefined();
  });
});

describe("GetCertificate by the serial as other languages print it", () => {
  let h: TestCertmint;
  let serial = "";
  let id = "";

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
    const issued = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("web", {
        cn: "serial.example.com",
        dns: ["serial.example.com"],
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      }),
    );
    id = issued.certificate!.certificateId;
    serial = new X509Certificate(issued.certificate!.certificatePem).serialNumber.toLowerCase();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("finds it by the big-endian value without leading zeros, with 0x, and with colons", async () => {
    expect(serial.startsWith("01")).toBe(true);
    const goStyle = BigInt(`0x${serial}`).toString(16);
    expect(goStyle.length % 2).toBe(1);
    for (const ref of [
      goStyle,
      `0x${goStyle}`,
      serial.toUpperCase(),
      serial.match(/../g)!.join(":"),
    ]) {
      const got = await call(h.certificates, "getCertificate", { certificate: ref });
      expect(got.certificate!.id, ref).toBe(id);
    }
  });

  it("still refuses what is not hex, as INVALID_ARGUMENT", async () => {
    const err = await rpcError(call(h.certificates, "getCertificate", { certificate: "0xzz" }));
    expect(err).toMatchObject({
      code: Code.INVALID_ARGUMENT,
      reason: "CERTIFICATE_REFERENCE_INVALID",
    });
  });
});
