/**
 * RFC 3161 2.3 in the signer: an extKeyUsage of exactly id-kp-timeStamping is critical, and an
 * end-entity certificate never carries timeStamping beside another purpose (the policy engine
 * refuses that first; this is the signer's last line of defence). Probe39 F2.
 */
import forge from "node-forge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertmintError } from "../../src/errors";
import { issueCertificate } from "../../src/signer";
import {
  extensionsOf,
  KeyPool,
  leafInput,
  makeIntermediate,
  makeRoot,
  openssl,
  TempDir,
} from "./helpers";

const EKU_OID = "2.5.29.37";
const TIME_STAMPING_OID = "1.3.6.1.5.5.7.3.8";
const keys = new KeyPool();
let dir: TempDir;
let root: Awaited<ReturnType<typeof makeRoot>>;
let inter: Awaited<ReturnType<typeof makeIntermediate>>;

beforeAll(async () => {
  dir = await TempDir.create();
  root = await makeRoot(await keys.get("EC_P256", 0), "TS Root", 1);
  inter = await makeIntermediate(root, await keys.get("EC_P256", 1), "TS Intermediate", 0);
});
afterAll(() => dir?.remove());

const ekuOf = (der: Buffer) => {
  const ext = extensionsOf(der).get(EKU_OID);
  if (!ext) throw new Error("no extKeyUsage extension");
  const oids = (ext.value.value as forge.asn1.Asn1[]).map((o) =>
    forge.asn1.derToOid(o.value as string),
  );
  return { critical: ext.critical, oids };
};

const tsaInput = async (overrides = {}) =>
  leafInput(inter, (await keys.get("EC_P256", 2)).publicKey, "EC_P256", {
    sans: { dns: [], ip: [], email: [], uri: [] },
    keyUsages: ["DIGITAL_SIGNATURE"],
    extendedKeyUsages: ["TIME_STAMPING"],
    ...overrides,
  });

describe("time-stamping certificates (RFC 3161 2.3)", () => {
  it("marks an extKeyUsage of exactly timeStamping critical, and OpenSSL accepts it as a TSA", async () => {
    const leaf = await issueCertificate(await tsaInput());
    expect(ekuOf(leaf.der)).toEqual({ critical: true, oids: [TIME_STAMPING_OID] });
    const text = (await openssl(["x509", "-noout", "-text"], leaf.pem)).stdout;
    expect(text).toMatch(/X509v3 Extended Key Usage: critical\n\s+Time Stamping\n/);
    const anchor = await dir.file("root.pem", root.cert.pem);
    const untrusted = await dir.file("inter.pem", inter.cert.pem);
    const leafPath = await dir.file("tsa.pem", leaf.pem);
    const r = await openssl([
      "verify",
      "-purpose",
      "timestampsign",
      "-CAfile",
      anchor,
      "-untrusted",
      untrusted,
      leafPath,
    ]);
    expect(r.stdout + r.stderr).toContain(": OK");
    expect(r.code).toBe(0);
  });

  it("keeps other purposes' extKeyUsage non-critical", async () => {
    const leaf = await issueCertificate(
      await tsaInput({ extendedKeyUsages: ["SERVER_AUTH", "CLIENT_AUTH"] }),
    );
    expect(ekuOf(leaf.der).critical).toBe(false);
  });

  it.each([
    [["TIME_STAMPING", "SERVER_AUTH"]],
    [["CODE_SIGNING", "TIME_STAMPING"]],
    [["TIME_STAMPING", "OCSP_SIGNING", "EMAIL_PROTECTION"]],
  ] as const)("refuses an end-entity certificate with %j", async (ekus) => {
    const err = await issueCertificate(await tsaInput({ extendedKeyUsages: [...ekus] })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CertmintError);
    const e = err as CertmintError;
    expect(e.kind).toBe("invalid_argument");
    expect(e.reason).toBe("EXTENDED_KEY_USAGE_TIME_STAMPING_NOT_ALONE");
    expect(e.violations.map((v) => v.field)).toEqual(["extended_key_usages"]);
    expect(e.message).toContain("RFC 3161 2.3");
  });

  it("leaves a CA certificate's extKeyUsage alone: it constrains what the CA certifies", async () => {
    const ca = await issueCertificate(
      await tsaInput({
        subject: { attributes: [{ type: "COMMON_NAME", value: "TSA issuing CA" }] },
        isCa: true,
        pathLength: 0,
        keyUsages: ["DIGITAL_SIGNATURE", "KEY_CERT_SIGN", "CRL_SIGN"],
        extendedKeyUsages: ["CODE_SIGNING", "TIME_STAMPING"],
        issuer: root.issuer,
      }),
    );
    expect(ekuOf(ca.der)).toEqual({
      critical: false,
      oids: ["1.3.6.1.5.5.7.3.3", TIME_STAMPING_OID],
    });
  });
});
