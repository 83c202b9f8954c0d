/**
 * Probe 49 (CERT): CSRs whose bytes say what openssl would never write: a NUL inside a dNSName
 * (the null-prefix attack), non-ASCII octets in IA5String names, IP SANs of the wrong length,
 * empty names, multi-valued RDNs and subject attributes certmint has no field for. Each must be
 * refused with INVALID_ARGUMENT on csr_pem and store no certificate, or (for attributes) be
 * dropped visibly; never signed as sent.
 */
import { generateKeyPairSync, sign } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { buildCsr, oid, tlv } from "../../support/der-csr";
import { expectRpcError } from "../../support/harness";
import { opensslOk, TempDir } from "../../support/openssl";
import {
  certificateCount,
  createPolicy,
  createProfile,
  createRootCa,
  csrRequest,
  issueCertificate,
  type LiveCertmint,
  startLive,
} from "./live";

const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
const attr = (o: string, tag: number, v: string) => seq(oid(o), tlv(tag, Buffer.from(v, "utf8")));

/** A P-256 CSR with exactly this subject Name DER and these GeneralNames in its SAN. */
function rawCsr(subject: Buffer, generalNames: Buffer[] = []): string {
  const key = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const ext = generalNames.length
    ? tlv(
        0xa0,
        seq(
          oid("1.2.840.113549.1.9.14"),
          set(seq(seq(oid("2.5.29.17"), tlv(0x04, seq(...generalNames))))),
        ),
      )
    : tlv(0xa0);
  const info = seq(
    tlv(0x02, Buffer.from([0])),
    subject,
    key.publicKey.export({ type: "spki", format: "der" }),
    ext,
  );
  const der = seq(
    info,
    seq(oid("1.2.840.10045.4.3.2")),
    tlv(0x03, Buffer.from([0]), sign("sha256", info, key.privateKey)),
  );
  return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64").replace(/.{64}/g, "$&\n")}\n-----END CERTIFICATE REQUEST-----\n`;
}

describe("probe49 cert: CSR bytes", () => {
  let live: LiveCertmint;
  const tmp = new TempDir();

  beforeAll(async () => {
    live = await startLive();
    await createRootCa(live, "root", KeyAlgorithm.KEY_ALGORITHM_EC_P256);
    await createPolicy(live, "web", {
      sanRules: {
        dns: { allowed: ["**.example.com"] },
        ip: { allowed: ["10.0.0.0/8"] },
        email: { allowed: ["@example.com"] },
      },
      subjectRules: { commonName: { allowed: ["*"] }, organization: { allowed: ["*"] } },
    });
    await createProfile(live, "web", "web", { ca: "root" });
  });

  afterAll(async () => {
    await live?.stop();
    tmp.remove();
  });

  const REFUSED: Array<[string, () => string]> = [
    ["a NUL inside a dNSName", () => buildCsr({ dns: ["good.example.com\u0000.evil.org"] }).csrPem],
    ["a NUL at the end of a dNSName", () => buildCsr({ dns: ["good.example.com\u0000"] }).csrPem],
    ["non-ASCII octets in a dNSName", () => buildCsr({ dns: ["b\u00fccher.example.com"] }).csrPem],
    ["an empty dNSName", () => buildCsr({ dns: [""] }).csrPem],
    ["a dNSName with a space", () => buildCsr({ dns: [" a.example.com"] }).csrPem],
    ["a 5-octet iPAddress", () => buildCsr({ ip: [Buffer.from([10, 0, 0, 1, 0])] }).csrPem],
    [
      "an 8-octet iPAddress (a CIDR form)",
      () => buildCsr({ ip: [Buffer.from([10, 0, 0, 0, 255, 0, 0, 0])] }).csrPem,
    ],
    ["an empty iPAddress", () => buildCsr({ ip: [Buffer.alloc(0)] }).csrPem],
    ["a NUL in an rfc822Name", () => buildCsr({ email: ["a@example.com\u0000.evil.org"] }).csrPem],
    [
      "a NUL in the CN",
      () =>
        buildCsr({ subject: [["CN", "a.example.com\u0000.evil.org"]], dns: ["a.example.com"] })
          .csrPem,
    ],
    [
      "an otherName SAN beside a DNS name",
      () =>
        rawCsr(seq(), [
          tlv(0x82, Buffer.from("a.example.com")),
          tlv(
            0xa0,
            oid("1.3.6.1.4.1.311.20.2.3"),
            tlv(0xa0, tlv(0x0c, Buffer.from("admin@evil.org"))),
          ),
        ]),
    ],
    [
      "a registeredID SAN",
      () =>
        rawCsr(seq(), [
          tlv(0x82, Buffer.from("a.example.com")),
          tlv(0x88, Buffer.from([0x2a, 0x03])),
        ]),
    ],
    [
      "a directoryName SAN",
      () =>
        rawCsr(seq(), [
          tlv(0x82, Buffer.from("a.example.com")),
          tlv(0xa4, seq(set(attr("2.5.4.3", 0x0c, "evil.org")))),
        ]),
    ],
  ];

  it.each(REFUSED)("refuses %s", async (_what, make) => {
    const before = await certificateCount(live.db);
    const e = await expectRpcError(issueCertificate(live, csrRequest("web", make())));
    expect(e.code, e.message).toBe(3);
    expect(e.violations.map((v) => v.field).join(","), e.message).toMatch(/csr_pem|subject/);
    expect(await certificateCount(live.db)).toBe(before);
  });

  it("a multi-valued RDN and attributes with no field are refused or left out, never signed as sent", async () => {
    const subject = seq(
      set(attr("0.9.2342.19200300.100.1.25", 0x16, "com")),
      set(attr("2.5.4.3", 0x0c, "m.example.com"), attr("2.5.4.10", 0x0c, "Evil Corp")),
      set(attr("2.5.4.12", 0x0c, "Administrator")),
    );
    const r = await issueCertificate(
      live,
      csrRequest("web", rawCsr(subject, [tlv(0x82, Buffer.from("m.example.com"))])),
    ).catch((e) => e);
    if (r instanceof Error) {
      const e = await expectRpcError(Promise.reject(r));
      expect(e.code).toBe(3);
      return;
    }
    const text = opensslOk([
      "x509",
      "-noout",
      "-subject",
      "-nameopt",
      "RFC2253",
      "-in",
      tmp.file("m.pem", r.certificate!.certificatePem),
    ]);
    // A policy with no rule for title or domainComponent lets neither appear.
    expect(text).not.toMatch(/title=|DC=|Administrator/);
  });
});
