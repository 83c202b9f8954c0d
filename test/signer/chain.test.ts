/**
 * Root -> intermediate -> leaf for every CA key type and every leaf key type, checked by
 * OpenSSL (`verify -x509_strict -purpose sslserver`) and by Node's X509Certificate.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEY_ALGORITHMS, type KeyAlgorithm } from "../../src/model/pki";
import { type IssuedCertificate, issueCertificate } from "../../src/signer";
import { KeyPool, leafInput, makeIntermediate, makeRoot, openssl, TempDir } from "./helpers";

const keys = new KeyPool();
let dir: TempDir;

interface Chain {
  root: Awaited<ReturnType<typeof makeRoot>>;
  inter: Awaited<ReturnType<typeof makeIntermediate>>;
  leaves: Map<KeyAlgorithm, IssuedCertificate>;
}
const chains = new Map<KeyAlgorithm, Chain>();

beforeAll(async () => {
  dir = await TempDir.create();
  // Slots: 0 = root, 1 = intermediate, 2 = leaf. All generated concurrently on the libuv pool.
  await Promise.all(KEY_ALGORITHMS.flatMap((a) => [0, 1, 2].map((s) => keys.get(a, s))));
  for (const caAlg of KEY_ALGORITHMS) {
    const root = await makeRoot(await keys.get(caAlg, 0), `Root ${caAlg}`);
    const inter = await makeIntermediate(root, await keys.get(caAlg, 1), `Intermediate ${caAlg}`);
    const leaves = new Map<KeyAlgorithm, IssuedCertificate>();
    for (const leafAlg of KEY_ALGORITHMS) {
      const leafKey = await keys.get(leafAlg, 2);
      leaves.set(leafAlg, await issueCertificate(leafInput(inter, leafKey.publicKey, leafAlg)));
    }
    chains.set(caAlg, { root, inter, leaves });
  }
  // RSA key generation takes as long as the machine's load makes it: vitest's hookTimeout applies.
});

afterAll(() => dir?.remove());

describe.each(KEY_ALGORITHMS)("CA key %s", (caAlg) => {
  it("every leaf key type verifies with openssl verify -x509_strict -purpose sslserver", async () => {
    const chain = chains.get(caAlg)!;
    const rootPath = await dir.file(`root-${caAlg}.pem`, chain.root.cert.pem);
    const interPath = await dir.file(`inter-${caAlg}.pem`, chain.inter.cert.pem);
    const leafPaths = await Promise.all(
      KEY_ALGORITHMS.map((l) => dir.file(`leaf-${caAlg}-${l}.pem`, chain.leaves.get(l)!.pem)),
    );
    // One openssl call per chain: it verifies each leaf given and prints "<file>: OK".
    const r = await openssl([
      "verify",
      "-x509_strict",
      "-purpose",
      "sslserver",
      "-CAfile",
      rootPath,
      "-untrusted",
      interPath,
      ...leafPaths,
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    for (const p of leafPaths) expect(r.stdout).toContain(`${p}: OK`);
  });

  it("every leaf verifies with Node's X509Certificate", () => {
    const chain = chains.get(caAlg)!;
    const root = new X509Certificate(chain.root.cert.pem);
    const inter = new X509Certificate(chain.inter.cert.pem);
    expect(root.verify(root.publicKey)).toBe(true);
    expect(root.checkIssued(root)).toBe(true);
    expect(inter.verify(root.publicKey)).toBe(true);
    expect(inter.checkIssued(root)).toBe(true);
    expect(inter.ca).toBe(true);
    for (const leafAlg of KEY_ALGORITHMS) {
      const leaf = new X509Certificate(chain.leaves.get(leafAlg)!.pem);
      expect(leaf.verify(inter.publicKey), leafAlg).toBe(true);
      expect(leaf.verify(root.publicKey), leafAlg).toBe(false);
      expect(leaf.checkIssued(inter), leafAlg).toBe(true);
      expect(leaf.ca).toBe(false);
      expect(leaf.checkHost("svc.example.internal")).toBe("svc.example.internal");
      expect(leaf.checkIP("2001:db8::7")).toBe("2001:db8::7");
    }
  });
});
