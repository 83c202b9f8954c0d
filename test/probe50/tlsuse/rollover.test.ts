/**
 * Probe 50 (TLSUSE): rolling an intermediate over (README "Rolling a CA over") as TLS clients
 * see it. The profile is pointed at a new intermediate under the same root; the renewal, signed
 * by the new CA, hot-swapped with its own chain into the running server keeps every client that
 * trusts only the root working. The old intermediate, then DISABLED, still answers for what it
 * signed: a revocation of its still-valid leaf reaches its CRL (from the leaf's distribution
 * point) and its OCSP responder, and CRL-checking handshakes with that leaf fail.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateAuthorityStatus,
  UpdateCertificateAuthorityRequest,
} from "../../../gen/ts/certmint/v1/certificate_authority_service";
import { UpdateCertificateProfileRequest } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import {
  RenewalKeySource,
  RenewCertificateRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { createIntermediateCa, type LiveCertmint, startLive } from "../../probe49/cert/live";
import { call } from "../../support/harness";
import { TempDir } from "../../support/openssl";
import { A, type Ca, type Deployed, deploy, issueApiLeaf, makeCas, makeProfile } from "./chains";
import {
  type Check,
  errors,
  every,
  type NodeServer,
  nodeConnect,
  type OpensslServer,
  opensslConnect,
  outcome,
  Peers,
  serveNode,
  serveOpenssl,
} from "./peers";
import { ocspAtAia, publishedCrlOf } from "./revocation-sources";

describe("probe50 tlsuse: an intermediate rollover in handshakes", () => {
  let live: LiveCertmint;
  let peers: Peers;
  const tmp = new TempDir();
  let root: Ca;
  let oldInter: Ca;
  let rootFile = "";
  let first: Deployed;
  let renewed: Deployed;
  let node: NodeServer;
  let oldServer: OpensslServer;

  const fetchCrlOf = (pem: string) => publishedCrlOf(tmp, pem);

  beforeAll(async () => {
    [live, peers] = await Promise.all([startLive(), Peers.build(tmp.path)]);
    ({ root, inter: oldInter } = await makeCas(live, "roll", A.KEY_ALGORITHM_EC_P256));
    rootFile = tmp.file("root.pem", root.pem);
    await makeProfile(live, "web", oldInter.slug);
    first = await issueApiLeaf(live, tmp, "web");
    node = await serveNode(first.keyPem, first.pem + first.chainPem);
    // A second server keeps the old leaf, as a team that has not deployed the renewal yet.
    oldServer = await serveOpenssl(first);
  }, 150_000);

  afterAll(async () => {
    await node?.close();
    await oldServer?.stop();
    await live?.stop();
    tmp.remove();
  });

  it("the renewal signed by the new intermediate, hot-swapped with its chain, works for every client", async () => {
    const check: Check = { port: node.port, name: "api.example.com", rootFile };
    const [v0] = await peers.all([check]);
    expect(outcome(v0!), errors(v0!)).toEqual(every("ok"));

    const next = (
      await createIntermediateCa(live, {
        slug: "roll-inter-2",
        parentCertificateAuthority: root.slug,
        subject: { commonName: "roll Issuing CA 2" },
        keyAlgorithm: A.KEY_ALGORITHM_EC_P384,
      })
    ).certificateAuthority!;
    await call(
      live.profiles,
      "updateCertificateProfile",
      UpdateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "web",
          issuer: { $case: "certificateAuthority", value: next.slug },
        },
        updateMask: ["certificate_authority"],
      }),
    );
    renewed = deploy(
      tmp,
      await call(
        live.certificates,
        "renewCertificate",
        RenewCertificateRequest.fromPartial({
          certificateId: first.id,
          keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
        }),
      ),
    );
    expect(renewed.chainPem.replace(/\s/g, "")).toBe(next.certificatePem.replace(/\s/g, ""));
    node.swap(renewed.keyPem, renewed.pem + renewed.chainPem);
    const served = await nodeConnect(check);
    expect(BigInt(`0x${served.serial}`)).toBe(renewed.serial);
    const [v1] = await peers.all([check]);
    expect(outcome(v1!), errors(v1!)).toEqual(every("ok"));
  });

  it("the old, DISABLED intermediate still revokes what it signed: CRL and OCSP make handshakes fail", async () => {
    await call(
      live.authorities,
      "updateCertificateAuthority",
      UpdateCertificateAuthorityRequest.fromPartial({
        certificateAuthority: {
          slug: oldInter.slug,
          status: CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_DISABLED,
        },
        updateMask: ["status"],
      }),
    );
    const check: Check = { port: oldServer.port, name: "api.example.com", rootFile };
    const before = await opensslConnect(check, [
      "-CRL",
      tmp.file("a.crl", await fetchCrlOf(first.pem)),
      "-crl_check",
    ]);
    expect(before.ok, before.error).toBe(true);

    await call(live.certificates, "revokeCertificate", {
      certificate: first.id,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    const crl = await fetchCrlOf(first.pem);
    const after = await opensslConnect(check, ["-CRL", tmp.file("b.crl", crl), "-crl_check"]);
    expect(after.ok).toBe(false);
    expect(after.stdout + after.stderr).toMatch(/certificate revoked/);
    const viaNode = await nodeConnect(check, { crl: [crl, await fetchCrlOf(oldInter.pem)] });
    expect(viaNode.error).toMatch(/revoked/i);

    const r = ocspAtAia(tmp, { certFile: first.certFile, issuerPem: oldInter.pem, rootFile });
    expect(r.stdout + r.stderr).toMatch(/Response verify OK/);
    expect(r.stdout).toMatch(/: revoked/);
  });
});
