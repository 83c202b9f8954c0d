/**
 * Probe 50 (TLSUSE): revocation with every CA key type the service offers. The CRLs and OCSP
 * responses of P-384, RSA and Ed25519 CAs (signed with each key's own algorithm) must be usable
 * by TLS clients: after RevokeCertificate, openssl s_client -crl_check, Node tls.connect with
 * the CRLs (CRL_CHECK_ALL) and Python ssl VERIFY_CRL_CHECK_LEAF refuse the served leaf, and
 * `openssl ocsp` verifies a `revoked` response signed by the CA.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { type LiveCertmint, startLive } from "../../probe49/cert/live";
import { call } from "../../support/harness";
import { TempDir } from "../../support/openssl";
import { type Ca, type Deployed, issueApiLeaf, KEY_TYPES, makeCas, makeProfile } from "./chains";
import {
  type Check,
  nodeConnect,
  type OpensslServer,
  opensslConnect,
  Peers,
  serveOpenssl,
} from "./peers";
import { crlOverRpc, ocspAtAia } from "./revocation-sources";

describe("probe50 tlsuse: CRLs and OCSP of every CA key type in handshakes", () => {
  let live: LiveCertmint;
  let peers: Peers;
  const tmp = new TempDir();
  const setups = new Map<string, { root: Ca; inter: Ca; leaf: Deployed; server: OpensslServer }>();

  const crl = (ca: string) => crlOverRpc(live, ca);

  beforeAll(async () => {
    [live, peers] = await Promise.all([startLive(), Peers.build(tmp.path)]);
    // P-256 is probe50/tlsuse/revocation.test.ts's; RSA-3072 signs as RSA-2048 does, and its
    // keys take seconds to make on a busy machine.
    for (const [label, alg] of KEY_TYPES.filter(([l]) => l !== "P-256" && l !== "RSA-3072")) {
      const prefix = label.toLowerCase();
      const { root, inter } = await makeCas(live, prefix, alg);
      await makeProfile(live, `${prefix}-web`, inter.slug);
      const leaf = await issueApiLeaf(live, tmp, `${prefix}-web`, alg);
      setups.set(label, { root, inter, leaf, server: await serveOpenssl(leaf) });
    }
  }, 150_000);

  afterAll(async () => {
    for (const s of setups.values()) await s.server.stop();
    await live?.stop();
    tmp.remove();
  });

  for (const [label] of KEY_TYPES.filter(([l]) => l !== "P-256" && l !== "RSA-3072")) {
    it(`${label}: a revoked leaf fails CRL-checking handshakes; OCSP says revoked, verified`, async () => {
      const { root, inter, leaf, server } = setups.get(label)!;
      const rootFile = tmp.file("root.pem", root.pem);
      const check: Check = { port: server.port, name: "api.example.com", rootFile };
      const verdicts = async () => {
        const crls = { inter: await crl(inter.slug), root: await crl(root.slug) };
        return {
          openssl: await opensslConnect(check, [
            "-CRL",
            tmp.file("i.crl", crls.inter),
            "-crl_check",
          ]),
          node: await nodeConnect(check, { crl: [crls.inter, crls.root] }),
          python: (await peers.python([check], tmp.file("i.crl", crls.inter)))[0]!,
        };
      };
      const before = await verdicts();
      expect(
        { openssl: before.openssl.ok, node: before.node.ok, python: before.python.ok },
        `${before.openssl.error}\n${before.node.error}\n${before.python.error}`,
      ).toEqual({ openssl: true, node: true, python: true });

      await call(live.certificates, "revokeCertificate", {
        certificate: leaf.id,
        reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
      });
      const after = await verdicts();
      expect(after.openssl.stdout + after.openssl.stderr).toMatch(/certificate revoked/);
      expect(after.node.error).toMatch(/revoked/i);
      expect(after.python.error).toMatch(/revoked/i);

      const r = ocspAtAia(tmp, { certFile: leaf.certFile, issuerPem: inter.pem, rootFile });
      expect(r.stdout + r.stderr).toMatch(/Response verify OK/);
      expect(r.stdout).toMatch(/: revoked/);
    });
  }
});
