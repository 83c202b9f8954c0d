/**
 * nameConstraints (RFC 5280 4.2.1.10): encoded critical on a CA, read back from its
 * certificate, enforced by certmint before it signs below that CA, and enforced by OpenSSL on
 * a leaf signed outside the subtree by a signer that skips the check.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NameConstraints } from "../../src/model/pki";
import {
  canonicalNameConstraints,
  defaultSignatureAlgorithm,
  Issuer,
  issueCertificate,
  namesOutside,
  newSerialNumber,
  parseCertificate,
  SoftwareSigner,
} from "../../src/signer";
import { cn, extensionsOf, KeyPool, leafInput, makeRoot, NOW, openssl, TempDir } from "./helpers";

const keys = new KeyPool();
let dir: TempDir;

const CONSTRAINTS: NameConstraints = {
  permitted: {
    dns: ["Example.com"],
    ip: ["10.0.0.0/8", "2001:db8::/32"],
    email: ["example.com"],
    uri: [".example.com"],
  },
  excluded: {
    dns: ["secret.example.com"],
    ip: ["10.9.0.0/16"],
    email: ["ceo@example.com"],
    uri: [],
  },
};

async function constrainedIntermediate(nc: NameConstraints) {
  const root = await makeRoot(await keys.get("EC_P256", 0), "NC Root");
  const key = await keys.get("EC_P256", 1);
  const signer = new SoftwareSigner(key.privateKey);
  const cert = await issueCertificate({
    subject: cn("NC Intermediate"),
    sans: { dns: [], ip: [], email: [], uri: [] },
    publicKey: key.publicKey,
    serial: newSerialNumber(),
    notBefore: new Date(NOW.getTime() - 60_000),
    notAfter: new Date(NOW.getTime() + 86_400_000 * 30),
    isCa: true,
    pathLength: 0,
    nameConstraints: nc,
    keyUsages: ["KEY_CERT_SIGN", "CRL_SIGN", "DIGITAL_SIGNATURE"],
    extendedKeyUsages: [],
    signatureAlgorithm: defaultSignatureAlgorithm(signer.keyAlgorithm),
    issuer: root.issuer,
  });
  return { root, signer, cert, issuer: Issuer.from({ signer, certificate: cert.pem }) };
}

beforeAll(async () => {
  dir = await TempDir.create();
});
afterAll(() => dir?.remove());

describe("nameConstraints", () => {
  it("is critical on the CA and reads back canonical", async () => {
    const inter = await constrainedIntermediate(CONSTRAINTS);
    const ext = extensionsOf(inter.cert.der).get("2.5.29.30");
    expect(ext?.critical).toBe(true);
    expect(parseCertificate(inter.cert.pem).nameConstraints).toEqual(
      canonicalNameConstraints(CONSTRAINTS),
    );
    const text = (
      await openssl([
        "x509",
        "-noout",
        "-ext",
        "nameConstraints",
        "-in",
        await dir.file("i.pem", inter.cert.pem),
      ])
    ).stdout;
    expect(text).toContain("critical");
    expect(text).toMatch(
      /Permitted:[\s\S]*DNS:example.com[\s\S]*IP:10.0.0.0\/255.0.0.0[\s\S]*Excluded:[\s\S]*DNS:secret.example.com/,
    );
  });

  it("refuses malformed subtrees with the field that holds them", () => {
    const bad = (nc: Partial<NameConstraints["permitted"]>) => () =>
      canonicalNameConstraints({
        permitted: { dns: [], ip: [], email: [], uri: [], ...nc },
        excluded: { dns: [], ip: [], email: [], uri: [] },
      });
    expect(bad({ dns: [".example.com"] })).toThrow(/permitted.dns_names\[0\]/);
    expect(bad({ dns: ["bücher.example"] })).toThrow(/A-label/);
    expect(bad({ ip: ["10.0.0.1/8"] })).toThrow(/host bits/);
    expect(bad({ email: ["a@b@c"] })).toThrow(/mailbox/);
  });

  it("matches names as RFC 5280 4.2.1.10 says", () => {
    const nc = canonicalNameConstraints(CONSTRAINTS);
    const outside = (sans: Partial<NameConstraints["permitted"]>, subject = cn("Free Text")) =>
      namesOutside(nc, subject, { dns: [], ip: [], email: [], uri: [], ...sans });
    expect(outside({ dns: ["example.com", "a.b.example.com", "*.apps.example.com"] })).toEqual([]);
    expect(
      outside({ dns: ["evil-example.com", "secret.example.com", "x.secret.example.com"] }),
    ).toHaveLength(3);
    expect(outside({ dns: ["*.example.com"] })).toEqual(["dns *.example.com"]); // may stand for secret.example.com
    expect(outside({ ip: ["10.1.2.3", "2001:db8::1"] })).toEqual([]);
    expect(outside({ ip: ["10.9.1.1", "192.0.2.1", "::ffff:10.1.2.3"] })).toHaveLength(3);
    expect(outside({ email: ["alice@example.com"] })).toEqual([]);
    expect(outside({ email: ["ceo@example.com", "alice@sub.example.com"] })).toHaveLength(2);
    expect(outside({ uri: ["spiffe://prod.example.com/x", "https://example.com/"] })).toEqual([
      "uri https://example.com/",
    ]);
    // A subject emailAddress is an email name; a host-like CN is a DNS name, with or without DNS
    // SANs (an outside probe, 2026-12-05: beside a permitted DNS SAN it was signed).
    expect(
      outside({}, { attributes: [{ type: "EMAIL_ADDRESS", value: "ceo@example.com" }] }),
    ).toHaveLength(1);
    expect(outside({}, cn("api.other.org"))).toEqual(["dns api.other.org"]);
    expect(outside({ dns: ["api.example.com"] }, cn("api.other.org"))).toEqual([
      "dns api.other.org",
    ]);
    expect(outside({ dns: ["api.example.com"] }, cn("api.example.com"))).toEqual([]);
  });

  it("reads URI and email hosts narrowly when permitted and widely when excluded; mailboxes in any case", () => {
    // An outside probe (stop 41 of 2026-12-06): a permitted URI host "prod.example" let certmint
    // sign spiffe://sub.prod.example/x, which OpenSSL refuses (RFC 5280: a host without a
    // leading period is that host only); Go reads it as the host and every host below it, so
    // an excluded one is read that way.
    const nc = canonicalNameConstraints({
      permitted: { dns: [], ip: [], email: ["example.com"], uri: ["prod.example"] },
      excluded: { dns: [], ip: [], email: ["ceo@example.com"], uri: ["admin.prod.example"] },
    });
    const outside = (sans: Partial<NameConstraints["permitted"]>) =>
      namesOutside(nc, cn("Free Text"), { dns: [], ip: [], email: [], uri: [], ...sans });
    expect(outside({ uri: ["spiffe://prod.example/ns/a", "SPIFFE://Prod.Example/x"] })).toEqual([]);
    expect(outside({ uri: ["spiffe://sub.prod.example/x"] })).toEqual([
      "uri spiffe://sub.prod.example/x",
    ]);
    const wide = canonicalNameConstraints({
      permitted: { dns: [], ip: [], email: [], uri: [".prod.example"] },
      excluded: { dns: [], ip: [], email: ["corp.example"], uri: ["admin.prod.example"] },
    });
    expect(
      namesOutside(wide, cn("Free Text"), {
        dns: [],
        ip: [],
        email: ["a@corp.example", "a@x.corp.example", "a@other.example"],
        uri: ["spiffe://x.admin.prod.example/y", "spiffe://web.prod.example/y"],
      }),
    ).toEqual([
      "email a@corp.example",
      "email a@x.corp.example",
      "uri spiffe://x.admin.prod.example/y",
    ]);
    // An excluded mailbox, as a denied one in a policy: any case, every '+' sub-address.
    expect(
      outside({ email: ["CEO@example.com", "ceo+x@example.com", "Ceo@EXAMPLE.com"] }),
    ).toHaveLength(3);
    expect(outside({ email: ["ceox@example.com", "alice@example.com"] })).toEqual([]);
    expect(outside({ email: ["a@sub.example.com"] })).toEqual(["email a@sub.example.com"]);
  });

  it("checks a leaf's CN as the name it reads as; a CA's CN only when it is a dotted host name", () => {
    // An outside probe (stop 41 of 2026-12-06): with the CN not copied into a SAN, CNs the
    // policy reads as names (one label, a URI, an email address) were signed under constraints
    // that exclude them.
    const nc = canonicalNameConstraints(CONSTRAINTS);
    const leaf = (value: string) =>
      namesOutside(nc, cn(value), { dns: [], ip: [], email: [], uri: [] });
    expect(leaf("db")).toEqual(["dns db"]);
    expect(leaf("localhost")).toEqual(["dns localhost"]);
    expect(leaf("spiffe://evil.com/ns/admin")).toEqual(["uri spiffe://evil.com/ns/admin"]);
    expect(leaf("a@evil.com")).toEqual(["email a@evil.com"]);
    expect(leaf("192.0.2.1")).toEqual(["dns 192.0.2.1", "ip 192.0.2.1"]);
    expect(leaf("spiffe://x.example.com/ns/a")).toEqual([]);
    expect(leaf("alice@example.com")).toEqual([]);
    expect(leaf("10.1.2.3")).toEqual(["dns 10.1.2.3"]);
    expect(leaf("Free Text")).toEqual([]);
    const ca = (value: string) =>
      namesOutside(nc, cn(value), { dns: [], ip: [], email: [], uri: [] }, true);
    expect(ca("IssuingCA")).toEqual([]);
    expect(ca("ca.other.org")).toEqual(["dns ca.other.org"]);
  });

  it("is enforced by certmint before signing, and by OpenSSL on a leaf signed around it", async () => {
    const inter = await constrainedIntermediate(CONSTRAINTS);
    const leafKey = await keys.get("EC_P256", 2);
    const inside = await issueCertificate(
      leafInput(inter, leafKey.publicKey, "EC_P256", {
        subject: cn("api.example.com"),
        sans: { dns: ["api.example.com"], ip: ["10.1.2.3"], email: [], uri: [] },
      }),
    );
    const outsideSans = { dns: ["api.other.org"], ip: [], email: [], uri: [] };
    await expect(
      issueCertificate(
        leafInput(inter, leafKey.publicKey, "EC_P256", { subject: cn("Leaf"), sans: outsideSans }),
      ),
    ).rejects.toMatchObject({ reason: "ISSUER_NAME_CONSTRAINTS", kind: "failed_precondition" });
    // The same CA key and name, without the certificate: nothing checks the names.
    const blind = Issuer.from({
      signer: inter.signer,
      subjectDer: parseCertificate(inter.cert.pem).subjectDer,
    });
    const outside = await issueCertificate(
      leafInput({ issuer: blind, signer: inter.signer }, leafKey.publicKey, "EC_P256", {
        subject: cn("Leaf"),
        sans: outsideSans,
      }),
    );
    const anchor = await dir.file("root.pem", inter.root.cert.pem);
    const untrusted = await dir.file("inter.pem", inter.cert.pem);
    const verify = async (pem: string) =>
      openssl([
        "verify",
        "-x509_strict",
        "-CAfile",
        anchor,
        "-untrusted",
        untrusted,
        await dir.file("leaf.pem", pem),
      ]);
    expect((await verify(inside.pem)).code).toBe(0);
    const refused = await verify(outside.pem);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(/permitted subtree violation/);
  });
});
