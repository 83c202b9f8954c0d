/**
 * CA hierarchies over gRPC for every CA key type: a root and an intermediate under it, checked
 * by openssl (verify -x509_strict, x509 -text) and by Node's X509Certificate; path length rules
 * (RFC 5280 4.2.1.9) and validity nesting.
 */
import { X509Certificate } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateAuthorityType,
  type CertificateAuthority as PbCa,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import {
  ACTIVE,
  ALL_KEY_ALGORITHMS,
  countCas,
  createIntermediate,
  createRoot,
  extensionBlock,
  KeyAlgorithm,
  keyName,
  normHex,
  opensslOk,
  SignatureAlgorithm,
  TempDir,
  verifyChain,
} from "./helpers";

/** What openssl prints as the signature algorithm for each CA key type's default. */
const OPENSSL_SIGNATURE: Record<string, string> = {
  RSA_2048: "sha256WithRSAEncryption",
  RSA_3072: "sha256WithRSAEncryption",
  RSA_4096: "sha256WithRSAEncryption",
  EC_P256: "ecdsa-with-SHA256",
  EC_P384: "ecdsa-with-SHA384",
  ED25519: "ED25519",
};
const DEFAULT_SIGNATURE: Record<string, SignatureAlgorithm> = {
  RSA_2048: SignatureAlgorithm.SIGNATURE_ALGORITHM_SHA256_WITH_RSA,
  RSA_3072: SignatureAlgorithm.SIGNATURE_ALGORITHM_SHA256_WITH_RSA,
  RSA_4096: SignatureAlgorithm.SIGNATURE_ALGORITHM_SHA256_WITH_RSA,
  EC_P256: SignatureAlgorithm.SIGNATURE_ALGORITHM_ECDSA_WITH_SHA256,
  EC_P384: SignatureAlgorithm.SIGNATURE_ALGORITHM_ECDSA_WITH_SHA384,
  ED25519: SignatureAlgorithm.SIGNATURE_ALGORITHM_ED25519,
};

/** The key a certificate must carry for each KeyAlgorithm, as Node describes it. */
function expectKeyOf(cert: X509Certificate, alg: string): void {
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  if (alg.startsWith("RSA_")) {
    expect(key.asymmetricKeyType).toBe("rsa");
    expect(details.modulusLength).toBe(Number(alg.slice(4)));
  } else if (alg === "EC_P256") {
    expect(key.asymmetricKeyType).toBe("ec");
    expect(details.namedCurve).toBe("prime256v1");
  } else if (alg === "EC_P384") {
    expect(key.asymmetricKeyType).toBe("ec");
    expect(details.namedCurve).toBe("secp384r1");
  } else {
    expect(key.asymmetricKeyType).toBe("ed25519");
  }
}

const slugOf = (prefix: string, k: KeyAlgorithm) =>
  `${prefix}-${keyName(k).toLowerCase().replace("_", "-")}`;

interface Pair {
  rootAlg: KeyAlgorithm;
  interAlg: KeyAlgorithm;
  /** Set on every other root; the intermediate then takes the default (parent - 1). */
  rootPathLen?: number;
  /** Set explicitly on intermediates of roots without a limit. */
  interPathLen?: number;
  root?: PbCa;
  inter?: PbCa;
}

// Each key type is a root once; its intermediate is of the next type in the list, so every
// type is also an intermediate once and signed by a different type (RSA-4096 twice in all).
const PAIRS: Pair[] = ALL_KEY_ALGORITHMS.map((rootAlg, i) => ({
  rootAlg,
  interAlg: ALL_KEY_ALGORITHMS[(i + 1) % ALL_KEY_ALGORITHMS.length]!,
  ...(i % 2 === 0 ? { rootPathLen: 2 } : { interPathLen: 0 }),
}));

describe("CA hierarchy for every key type", () => {
  let h: TestCertmint;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
    // Key generation runs on the libuv pool: create the pairs concurrently.
    await Promise.all(
      PAIRS.map(async (p) => {
        p.root = await createRoot(h, slugOf("root", p.rootAlg), {
          keyAlgorithm: p.rootAlg,
          maxPathLength: p.rootPathLen,
        });
        p.inter = await createIntermediate(h, slugOf("inter", p.interAlg), p.root.id, {
          keyAlgorithm: p.interAlg,
          maxPathLength: p.interPathLen,
        });
      }),
    );
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  it.each(PAIRS.map((p) => [`${keyName(p.rootAlg)} root -> ${keyName(p.interAlg)}`, p] as const))(
    "%s: openssl verify -x509_strict and X509Certificate accept the chain",
    (_name, p) => {
      const root = p.root!;
      const inter = p.inter!;
      const rootVerify = verifyChain(tmp, root.certificatePem, root.certificatePem);
      expect(rootVerify.stderr + rootVerify.stdout).toMatch(/: OK/);
      expect(rootVerify.code).toBe(0);
      const r = verifyChain(tmp, root.certificatePem, inter.certificatePem);
      expect(r.stderr + r.stdout).toMatch(/: OK/);
      expect(r.code).toBe(0);

      const rootX = new X509Certificate(root.certificatePem);
      const interX = new X509Certificate(inter.certificatePem);
      expect(rootX.ca).toBe(true);
      expect(interX.ca).toBe(true);
      expect(rootX.checkIssued(rootX)).toBe(true);
      expect(rootX.verify(rootX.publicKey)).toBe(true);
      expect(interX.checkIssued(rootX)).toBe(true);
      expect(interX.verify(rootX.publicKey)).toBe(true);
      // The intermediate's own key did not sign it.
      expect(interX.verify(interX.publicKey)).toBe(false);
      expectKeyOf(rootX, keyName(p.rootAlg));
      expectKeyOf(interX, keyName(p.interAlg));
      expect(interX.issuer).toBe(rootX.subject);
      expect(rootX.subject).toContain(`CN=Root ${root.slug}`);
      expect(interX.subject).toContain(`CN=Intermediate ${inter.slug}`);
    },
  );

  it.each(PAIRS.map((p) => [`${keyName(p.rootAlg)} root -> ${keyName(p.interAlg)}`, p] as const))(
    "%s: extensions, serials, validity and signature algorithm as RFC 5280 asks",
    (_name, p) => {
      const root = p.root!;
      const inter = p.inter!;
      const rootText = opensslOk(["x509", "-noout", "-text"], root.certificatePem);
      const interText = opensslOk(["x509", "-noout", "-text"], inter.certificatePem);
      const rootPathLen = p.rootPathLen;
      const interPathLen =
        p.interPathLen ?? (rootPathLen === undefined ? undefined : rootPathLen - 1);
      for (const [text, pathLen] of [
        [rootText, rootPathLen],
        [interText, interPathLen],
      ] as const) {
        expect(text).toMatch(/Version: 3 \(0x2\)/);
        const bc = extensionBlock(text, "X509v3 Basic Constraints");
        expect(bc.critical).toBe(true);
        expect(bc.body).toBe(pathLen === undefined ? "CA:TRUE" : `CA:TRUE, pathlen:${pathLen}`);
        const ku = extensionBlock(text, "X509v3 Key Usage");
        expect(ku.critical).toBe(true);
        expect(ku.body).toContain("Certificate Sign");
        expect(ku.body).toContain("CRL Sign");
        // No extended key usage on CA certificates (it would restrict what they may sign).
        expect(text).not.toContain("X509v3 Extended Key Usage");
      }
      const rootSki = normHex(extensionBlock(rootText, "X509v3 Subject Key Identifier").body);
      const interSki = normHex(extensionBlock(interText, "X509v3 Subject Key Identifier").body);
      const interAki = normHex(
        extensionBlock(interText, "X509v3 Authority Key Identifier").body.split("\n")[0]!,
      );
      expect(rootSki).toMatch(/^[0-9a-f]{40}$|^[0-9a-f]{16,}$/);
      expect(interSki).not.toBe(rootSki);
      expect(interAki).toBe(rootSki);

      // Serials: positive, at least 64 bits, and the API shows the same value (RFC 5280 4.1.2.2,
      // CA/B BR 7.1).
      for (const [ca, text] of [
        [root, rootText],
        [inter, interText],
      ] as const) {
        const serialLine = opensslOk(["x509", "-noout", "-serial"], ca.certificatePem).trim();
        expect(serialLine).toMatch(/^serial=[0-9A-F]+$/);
        const hex = serialLine.slice("serial=".length).toLowerCase();
        expect(ca.serialNumber).toBe(hex);
        expect(Number.parseInt(hex.slice(0, 2), 16)).toBeLessThan(0x80);
        expect(BigInt(`0x${hex}`)).toBeGreaterThanOrEqual(2n ** 63n);
        expect(text).not.toMatch(/Serial Number:\s*\(Negative\)/);
      }
      expect(root.serialNumber).not.toBe(inter.serialNumber);

      // The intermediate is signed with the root's algorithm; each CA reports its own default.
      expect(interText).toContain(`Signature Algorithm: ${OPENSSL_SIGNATURE[keyName(p.rootAlg)]}`);
      expect(rootText).toContain(`Signature Algorithm: ${OPENSSL_SIGNATURE[keyName(p.rootAlg)]}`);
      expect(root.signatureAlgorithm).toBe(DEFAULT_SIGNATURE[keyName(p.rootAlg)]);
      expect(inter.signatureAlgorithm).toBe(DEFAULT_SIGNATURE[keyName(p.interAlg)]);

      // Validity: the API matches the certificate; the intermediate ends no later than its root.
      const rootX = new X509Certificate(root.certificatePem);
      const interX = new X509Certificate(inter.certificatePem);
      expect(root.notAfter!.getTime()).toBe(new Date(rootX.validTo).getTime());
      expect(root.notBefore!.getTime()).toBe(new Date(rootX.validFrom).getTime());
      expect(inter.notAfter!.getTime()).toBe(new Date(interX.validTo).getTime());
      expect(new Date(interX.validTo).getTime()).toBeLessThanOrEqual(
        new Date(rootX.validTo).getTime(),
      );
      expect(new Date(interX.validFrom).getTime()).toBeLessThanOrEqual(Date.now());
    },
  );

  it.each(PAIRS.map((p) => [`${keyName(p.rootAlg)} root -> ${keyName(p.interAlg)}`, p] as const))(
    "%s: the API resources describe the hierarchy",
    async (_name, p) => {
      const root = p.root!;
      const inter = p.inter!;
      expect(root).toMatchObject({
        type: CertificateAuthorityType.CERTIFICATE_AUTHORITY_TYPE_ROOT,
        status: ACTIVE,
        keyAlgorithm: p.rootAlg,
        parentCertificateAuthorityId: "",
        certificateChainPem: [],
        csrPem: "",
        maxPathLength: p.rootPathLen,
      });
      expect(inter).toMatchObject({
        type: CertificateAuthorityType.CERTIFICATE_AUTHORITY_TYPE_INTERMEDIATE,
        status: ACTIVE,
        keyAlgorithm: p.interAlg,
        parentCertificateAuthorityId: root.id,
        certificateChainPem: [root.certificatePem],
        csrPem: "",
        maxPathLength:
          p.interPathLen ?? (p.rootPathLen === undefined ? undefined : p.rootPathLen - 1),
      });
      // Reading by id and by slug gives the same resource.
      const byId = await call(h.authorities, "getCertificateAuthority", {
        certificateAuthority: inter.id,
      });
      const bySlug = await call(h.authorities, "getCertificateAuthority", {
        certificateAuthority: inter.slug,
      });
      expect(byId.certificateAuthority).toEqual(inter);
      expect(bySlug.certificateAuthority).toEqual(inter);
    },
  );
});

describe("path length and validity nesting", () => {
  let h: TestCertmint;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  it("a root with max_path_length 0 cannot sign an intermediate (FAILED_PRECONDITION), no row written", async () => {
    const root = await createRoot(h, "leaf-only-root", { maxPathLength: 0 });
    expect(root.maxPathLength).toBe(0);
    const text = opensslOk(["x509", "-noout", "-text"], root.certificatePem);
    expect(extensionBlock(text, "X509v3 Basic Constraints").body).toBe("CA:TRUE, pathlen:0");
    const before = await countCas(h);
    const err = await expectRpcError(createIntermediate(h, "not-allowed", root.slug));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.reason).toBe("PARENT_PATH_LENGTH_EXHAUSTED");
    expect(err.preconditions).toEqual([
      expect.objectContaining({
        type: "CA_PATH_LENGTH",
        subject: "certificate_authorities/leaf-only-root",
      }),
    ]);
    expect(await countCas(h)).toBe(before);
    expect(
      await h.db.query("select id from certificate_authority where slug = 'not-allowed'"),
    ).toEqual([]);
  });

  it("an intermediate may not ask for a path length >= its parent's (INVALID_ARGUMENT)", async () => {
    const root = await createRoot(h, "pathlen-one-root", { maxPathLength: 1 });
    const before = await countCas(h);
    for (const asked of [1, 2, 16]) {
      const err = await expectRpcError(
        createIntermediate(h, `too-long-${asked}`, root.id, { maxPathLength: asked }),
      );
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.reason).toBe("PATH_LENGTH_TOO_LARGE");
      expect(err.violations).toEqual([
        expect.objectContaining({ field: "max_path_length", reason: "PATH_LENGTH_TOO_LARGE" }),
      ]);
    }
    // Out of the 0..16 range altogether.
    for (const asked of [-1, 17]) {
      const err = await expectRpcError(
        createRoot(h, `bad-pathlen-${asked < 0 ? "neg" : asked}`, { maxPathLength: asked }),
      );
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.reason).toBe("PATH_LENGTH_INVALID");
      expect(err.violations.map((v) => v.field)).toEqual(["max_path_length"]);
    }
    expect(await countCas(h)).toBe(before);
    // Below the parent's is fine.
    const ok = await createIntermediate(h, "pathlen-zero-inter", root.id, { maxPathLength: 0 });
    expect(ok.maxPathLength).toBe(0);
  });

  it("the default child path length is the parent's minus one, down to an exhausted CA", async () => {
    const root = await createRoot(h, "pathlen-two-root", {
      maxPathLength: 2,
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P384,
    });
    const i1 = await createIntermediate(h, "pathlen-i1", root.slug);
    const i2 = await createIntermediate(h, "pathlen-i2", i1.slug, {
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_ED25519,
    });
    expect(i1.maxPathLength).toBe(1);
    expect(i2.maxPathLength).toBe(0);
    expect(i2.certificateChainPem).toEqual([i1.certificatePem, root.certificatePem]);
    for (const [ca, len] of [
      [i1, 1],
      [i2, 0],
    ] as const) {
      const text = opensslOk(["x509", "-noout", "-text"], ca.certificatePem);
      expect(extensionBlock(text, "X509v3 Basic Constraints").body).toBe(`CA:TRUE, pathlen:${len}`);
    }
    const r = verifyChain(tmp, root.certificatePem, i2.certificatePem, [i1.certificatePem]);
    expect(r.stderr + r.stdout).toMatch(/: OK/);
    expect(r.code).toBe(0);

    const before = await countCas(h);
    const err = await expectRpcError(createIntermediate(h, "pathlen-i3", i2.id));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.reason).toBe("PARENT_PATH_LENGTH_EXHAUSTED");
    expect(await countCas(h)).toBe(before);
  });

  it("under a root without a limit, an intermediate without one stays unlimited", async () => {
    const root = await createRoot(h, "unlimited-root");
    expect(root.maxPathLength).toBeUndefined();
    const i1 = await createIntermediate(h, "unlimited-i1", root.id);
    expect(i1.maxPathLength).toBeUndefined();
    const i2 = await createIntermediate(h, "limited-i2", i1.id, { maxPathLength: 5 });
    expect(i2.maxPathLength).toBe(5);
    const text = opensslOk(["x509", "-noout", "-text"], i1.certificatePem);
    expect(extensionBlock(text, "X509v3 Basic Constraints").body).toBe("CA:TRUE");
    const r = verifyChain(tmp, root.certificatePem, i2.certificatePem, [i1.certificatePem]);
    expect(r.code).toBe(0);
  });

  it("an intermediate asking to outlive its parent is refused, and nothing is written", async () => {
    const root = await createRoot(h, "short-root", { ttlSeconds: 2 * 86_400 });
    const before = await countCas(h);
    const err = await expectRpcError(
      createIntermediate(h, "outlives-root", root.id, { ttlSeconds: 3 * 86_400 }),
    );
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.reason).toBe("VALIDITY_EXCEEDS_ISSUER");
    expect(await countCas(h)).toBe(before);
    // Within the parent's lifetime it is fine and ends no later than the parent.
    const inter = await createIntermediate(h, "within-root", root.id, { ttlSeconds: 86_400 });
    expect(inter.notAfter!.getTime()).toBeLessThanOrEqual(root.notAfter!.getTime());
  });

  // Was a bug until cdc7586: with the ttl unset, the 5-year default was refused under any parent
  // with less than 5 years left. The proto: "5 years when unset, and never past the parent's".
  it("with the ttl unset, an intermediate under a short-lived parent ends with the parent", async () => {
    const root = await createRoot(h, "one-year-root", { ttlSeconds: 365 * 86_400 });
    const inter = await createIntermediate(h, "default-ttl-inter", root.id);
    // Cut to what the parent has left (whole seconds, so possibly a second short of it).
    expect(inter.notAfter!.getTime()).toBeLessThanOrEqual(root.notAfter!.getTime());
    expect(inter.notAfter!.getTime()).toBeGreaterThanOrEqual(root.notAfter!.getTime() - 2000);
    const r = verifyChain(tmp, root.certificatePem, inter.certificatePem);
    expect(r.code).toBe(0);
    // Under a long-lived parent the default is 5 years.
    const longRoot = await createRoot(h, "long-root");
    const fiveYears = await createIntermediate(h, "five-year-inter", longRoot.id);
    const lifetime = fiveYears.notAfter!.getTime() - Date.now();
    expect(Math.abs(lifetime - 5 * 365 * 86_400_000)).toBeLessThan(10 * 60_000);
  });
});
