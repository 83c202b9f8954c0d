/**
 * Probe 49 (CERT): every kind of certificate certmint signs, from a live compiled server, judged
 * by RFC 5280 checks of our own (rfc5280.ts), Node's X509Certificate and `openssl verify
 * -x509_strict`: roots and intermediates of each key type, leaves for CSRs and generated keys,
 * self-signed leaves, an intermediate signed outside, and path-length limits.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateExternalIntermediateCertificateAuthorityRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import { CertificatePolicyPreset } from "../../../gen/ts/certmint/v1/certificate_policy_service";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { opensslCsr } from "../../support/fixtures";
import { call, expectRpcError } from "../../support/harness";
import { openssl, opensslOk, TempDir } from "../../support/openssl";
import {
  attributesRequest,
  caCountRows,
  certificateCount,
  createIntermediateCa,
  createPolicy,
  createProfile,
  createRootCa,
  csrRequest,
  issueCertificate,
  type LiveCertmint,
  newP256KeyArgs,
  startLive,
  WEB_RULES,
} from "./live";
import { rfc5280Problems } from "./rfc5280";
import { parseCert } from "./x509";

const A = KeyAlgorithm;
const KEY_ALGORITHMS: Array<[string, KeyAlgorithm]> = [
  ["p256", A.KEY_ALGORITHM_EC_P256],
  ["p384", A.KEY_ALGORITHM_EC_P384],
  ["rsa2048", A.KEY_ALGORITHM_RSA_2048],
  ["rsa3072", A.KEY_ALGORITHM_RSA_3072],
  ["rsa4096", A.KEY_ALGORITHM_RSA_4096],
  ["ed25519", A.KEY_ALGORITHM_ED25519],
];
const CA_ALGORITHMS = KEY_ALGORITHMS;
const LEAF_ALGORITHMS = KEY_ALGORITHMS;
/**
 * Leaves of every key type under the P-256 CA; under the others, one of each family (big RSA
 * keys take seconds each to generate on a busy 2-core machine).
 */
const leafAlgorithmsUnder = (ca: string) =>
  ca === "p256"
    ? LEAF_ALGORITHMS
    : LEAF_ALGORITHMS.filter(([n]) => ["p384", "rsa2048", "ed25519"].includes(n));

describe("probe49 cert: certificate kinds", () => {
  let live: LiveCertmint;
  const tmp = new TempDir();
  const roots: Record<string, string> = {};
  const intermediates: Record<string, string> = {};
  const serials: string[] = [];

  const verifyChain = (leaf: string, chain: string[], root: string) => {
    const args = ["verify", "-x509_strict", "-CAfile", tmp.file("root.pem", root)];
    if (chain.length) args.push("-untrusted", tmp.file("chain.pem", chain.join("\n")));
    return openssl([...args, tmp.file("leaf.pem", leaf)]);
  };

  beforeAll(async () => {
    live = await startLive();
    await createPolicy(live, "web", WEB_RULES);
    for (const [name, alg] of CA_ALGORITHMS) {
      const root = await createRootCa(live, `root-${name}`, alg, { maxPathLength: 1 });
      roots[name] = root.certificatePem;
      serials.push(root.serialNumber);
      const inter = await createIntermediateCa(live, {
        slug: `inter-${name}`,
        parentCertificateAuthority: `root-${name}`,
        subject: { commonName: `inter ${name}` },
        keyAlgorithm: alg,
        maxPathLength: 0,
      });
      intermediates[name] = inter.certificateAuthority!.certificatePem;
      serials.push(inter.certificateAuthority!.serialNumber);
      await createProfile(live, `web-${name}`, "web", { ca: `inter-${name}` });
    }
  });

  afterAll(async () => {
    await live?.stop();
    tmp.remove();
  });

  it.each(CA_ALGORITHMS)("root and intermediate of %s follow RFC 5280", (name) => {
    expect(rfc5280Problems(roots[name]!, roots[name]!, "root")).toEqual([]);
    expect(rfc5280Problems(intermediates[name]!, roots[name]!, "ca")).toEqual([]);
    const inter = parseCert(intermediates[name]!);
    expect(inter.node.ca).toBe(true);
    const v = verifyChain(intermediates[name]!, [], roots[name]!);
    expect(v.stderr + v.stdout).toContain("OK");
  });

  it.each(CA_ALGORITHMS)("generated-key leaves of each key family under a %s CA", async (name) => {
    for (const [leafName, alg] of leafAlgorithmsUnder(name)) {
      const cn = `${leafName}.gen-${name}.example.com`;
      const res = await issueCertificate(
        live,
        attributesRequest(`web-${name}`, { cn, sans: { dnsNames: [cn] }, keyAlgorithm: alg }),
      );
      const c = res.certificate!;
      serials.push(c.serialNumber);
      expect
        .soft(rfc5280Problems(c.certificatePem, intermediates[name]!, "leaf"), `${leafName} leaf`)
        .toEqual([]);
      const v = verifyChain(c.certificatePem, c.certificateChainPem, roots[name]!);
      expect.soft(v.code, `${leafName}: ${v.stderr}`).toBe(0);
    }
  });

  it.each(CA_ALGORITHMS)("CSR leaves (openssl keys) under a %s CA", async (name) => {
    for (const key of ["ec", "rsa", "ed25519"] as const) {
      const cn = `${key}.csr-${name}.example.com`;
      const { csrPem } = opensslCsr(`/CN=${cn}`, [`DNS:${cn}`], key);
      const res = await issueCertificate(live, csrRequest(`web-${name}`, csrPem));
      const c = res.certificate!;
      serials.push(c.serialNumber);
      expect
        .soft(rfc5280Problems(c.certificatePem, intermediates[name]!, "leaf"), `${key} CSR leaf`)
        .toEqual([]);
      const v = verifyChain(c.certificatePem, c.certificateChainPem, roots[name]!);
      expect.soft(v.code, `${key}: ${v.stderr}`).toBe(0);
    }
  });

  it("a leaf with an empty subject carries a critical subjectAltName", async () => {
    const res = await issueCertificate(
      live,
      attributesRequest("web-p256", { sans: { dnsNames: ["nosubject.example.com"] } }),
    );
    const c = parseCert(res.certificate!.certificatePem);
    serials.push(res.certificate!.serialNumber);
    // The CN is copied from nothing: the subject stays empty unless the server fills it.
    expect(rfc5280Problems(res.certificate!.certificatePem, intermediates.p256!, "leaf")).toEqual(
      [],
    );
    if (c.subjectEmpty) expect(c.ext("2.5.29.17")!.critical).toBe(true);
  });

  it("self-signed leaves of every key type", async () => {
    await createProfile(live, "self", "web", { selfSigned: true });
    for (const [leafName, alg] of LEAF_ALGORITHMS) {
      const cn = `${leafName}.self.example.com`;
      const res = await issueCertificate(
        live,
        attributesRequest("self", { cn, sans: { dnsNames: [cn] }, keyAlgorithm: alg }),
      );
      const pem = res.certificate!.certificatePem;
      serials.push(res.certificate!.serialNumber);
      expect
        .soft(rfc5280Problems(pem, pem, "self-signed-leaf"), `self-signed ${leafName}`)
        .toEqual([]);
    }
  });

  it("every serial is unique", () => {
    expect(serials.length).toBeGreaterThan(40);
    expect(new Set(serials).size).toBe(serials.length);
  });

  it("an intermediate with pathLenConstraint 0 certifies no CA, and nothing is stored", async () => {
    const before = await caCountRows(live);
    const err = await expectRpcError(
      createIntermediateCa(live, {
        slug: "too-deep",
        parentCertificateAuthority: "inter-p256",
        subject: { commonName: "too deep" },
        keyAlgorithm: A.KEY_ALGORITHM_EC_P256,
      }),
    );
    expect([3, 9]).toContain(err.code);
    expect(err.reason).toBeTruthy();
    expect(await caCountRows(live)).toEqual(before);
  });

  it("IssueCertificate of a CA certificate under a pathLen 0 intermediate is refused", async () => {
    await createPolicy(
      live,
      "sub-ca",
      WEB_RULES,
      CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_INTERMEDIATE_CA,
    );
    await createProfile(live, "sub-ca-under-leafca", "sub-ca", { ca: "inter-p256" });
    const count = await certificateCount(live.db);
    const err = await expectRpcError(
      issueCertificate(
        live,
        attributesRequest("sub-ca-under-leafca", {
          cn: "Sub CA",
          extra: { caCertificate: { maxPathLength: 0 } },
        }),
      ),
    );
    expect([3, 9]).toContain(err.code);
    expect(err.reason).toBeTruthy();
    expect(await certificateCount(live.db)).toBe(count);
  });

  it("a CA certificate issued through a profile under a root follows RFC 5280", async () => {
    await createProfile(live, "sub-ca-under-root", "sub-ca", { ca: "root-p384" });
    const res = await issueCertificate(
      live,
      attributesRequest("sub-ca-under-root", {
        cn: "Issued Sub CA",
        keyAlgorithm: A.KEY_ALGORITHM_EC_P384,
        extra: { caCertificate: { maxPathLength: 0 } },
      }),
    );
    const pem = res.certificate!.certificatePem;
    expect(rfc5280Problems(pem, roots.p384!, "ca")).toEqual([]);
    // The root has pathLen 1: a sub-CA it certifies may have at most 0.
    const v = verifyChain(pem, [], roots.p384!);
    expect(v.code, v.stderr).toBe(0);
  });

  it("an intermediate signed outside (openssl root) and its leaves", async () => {
    const rootKey = tmp.out("outside.key");
    const rootPem = tmp.out("outside.pem");
    opensslOk([
      "req",
      "-x509",
      ...newP256KeyArgs(rootKey),
      "-out",
      rootPem,
      "-days",
      "365",
      "-subj",
      "/CN=Outside Root",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    const ext = await call(
      live.authorities,
      "createExternalIntermediateCertificateAuthority",
      CreateExternalIntermediateCertificateAuthorityRequest.fromPartial({
        slug: "outside-inter",
        subject: { commonName: "Outside-signed Intermediate" },
        keyAlgorithm: A.KEY_ALGORITHM_EC_P256,
      }),
    );
    const extFile = tmp.file(
      "ext.cnf",
      [
        "basicConstraints=critical,CA:TRUE,pathlen:0",
        "keyUsage=critical,keyCertSign,cRLSign",
        "subjectKeyIdentifier=hash",
        "authorityKeyIdentifier=keyid",
      ].join("\n"),
    );
    const interPem = opensslOk([
      "x509",
      "-req",
      "-in",
      tmp.file("inter.csr", ext.csrPem),
      "-CA",
      rootPem,
      "-CAkey",
      rootKey,
      "-days",
      "30",
      "-extfile",
      extFile,
      "-set_serial",
      "0x1234567890abcdef01",
    ]);
    const { readFileSync } = await import("node:fs");
    const outsideRoot = readFileSync(rootPem, "utf8");
    await call(live.authorities, "importCertificateAuthorityCertificate", {
      certificateAuthority: "outside-inter",
      certificatePem: interPem,
      certificateChainPem: [outsideRoot],
    });
    await createProfile(live, "web-outside", "web", { ca: "outside-inter" });
    const res = await issueCertificate(
      live,
      attributesRequest("web-outside", {
        cn: "o.example.com",
        sans: { dnsNames: ["o.example.com"] },
      }),
    );
    const c = res.certificate!;
    expect(rfc5280Problems(c.certificatePem, interPem, "leaf")).toEqual([]);
    const v = verifyChain(c.certificatePem, c.certificateChainPem, outsideRoot);
    expect(v.code, v.stderr).toBe(0);
    // A leaf under the outside-signed CA ends by the intermediate's end (30 days).
    expect(Date.parse(c.notAfter!.toString())).toBeLessThanOrEqual(
      Date.parse(parseCert(interPem).node.validTo),
    );
  });
});
