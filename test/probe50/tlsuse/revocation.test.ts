/**
 * Probe 50 (TLSUSE): revocation as a TLS client meets it. A leaf served by openssl s_server
 * passes handshakes with CRL checking, the CRLs taken from the certificate's own distribution
 * points (the publication port) or from GetCertificateRevocationList; after RevokeCertificate
 * the same handshakes fail (openssl s_client -crl_check / -crl_check_all / -crl_download, Node
 * tls.connect with `crl`, Python ssl VERIFY_CRL_CHECK_LEAF), and the OCSP responder named in
 * the leaf's AIA says `revoked` in a response whose signature openssl verifies, also when
 * stapled by s_server. A revoked intermediate fails -crl_check_all through the root's CRL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevokeCertificateAuthorityRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import {
  RenewalKeySource,
  RenewCertificateRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../../gen/ts/certmint/v1/common";
import {
  createIntermediateCa,
  csrRequest,
  issueCertificate,
  type LiveCertmint,
  startLive,
} from "../../probe49/cert/live";
import { opensslCsr } from "../../support/fixtures";
import { call } from "../../support/harness";
import { TempDir } from "../../support/openssl";
import { A, type Ca, type Deployed, deploy, issueApiLeaf, makeCas, makeProfile } from "./chains";
import {
  type Check,
  nodeConnect,
  type OpensslServer,
  opensslConnect,
  Peers,
  serveOpenssl,
} from "./peers";
import { crlOverRpc, ocspAtAia, publishedCrlOf } from "./revocation-sources";

describe("probe50 tlsuse: revoked certificates fail real handshakes", () => {
  let live: LiveCertmint;
  let peers: Peers;
  const tmp = new TempDir();
  let root: Ca;
  let inter: Ca;
  let rootFile = "";
  let leaf: Deployed;
  let server: OpensslServer;
  let check: Check;
  const servers: OpensslServer[] = [];

  /** The CRLs that cover leaf and intermediate, from the certificates' own pointers. */
  const publishedCrls = async (leafPem: string, interPem: string) => ({
    inter: await publishedCrlOf(tmp, leafPem),
    root: await publishedCrlOf(tmp, interPem),
  });

  /** Every CRL-checking client's verdict on the served leaf, with `crls`. */
  const crlVerdicts = async (c: Check, crls: { inter: string; root: string }) => {
    const interCrl = tmp.file("inter.crl", crls.inter);
    const both = tmp.file("both.crl", crls.inter + crls.root);
    // -CAfile loads CRLs too: the way to give s_client the root's CRL beside -CRL.
    const rootAndCrls = tmp.file("root-crls.pem", `${root.pem}${crls.inter}${crls.root}`);
    return {
      leafCheck: await opensslConnect(c, ["-CRL", interCrl, "-crl_check"]),
      chainCheck: await opensslConnect({ ...c, rootFile: rootAndCrls }, ["-crl_check_all"]),
      // The leaf's CRL fetched by s_client from the leaf's own distribution point. (Not
      // -crl_check_all: OpenSSL 3.0 wants a CRL for the root too, and a root has no pointer.)
      download: await opensslConnect(c, ["-crl_download", "-crl_check"]),
      node: await nodeConnect(c, { crl: [crls.inter, crls.root] }),
      python: (await peers.python([c], both))[0]!,
    };
  };
  const oks = (v: Record<string, { ok: boolean }>) =>
    Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x.ok]));
  const ocsp = (d: Deployed, issuerPem: string, extra: string[] = []) =>
    ocspAtAia(tmp, { certFile: d.certFile, issuerPem, rootFile, extra });

  beforeAll(async () => {
    [live, peers] = await Promise.all([startLive(), Peers.build(tmp.path)]);
    ({ root, inter } = await makeCas(live, "rev", A.KEY_ALGORITHM_EC_P256, { maxPathLength: 0 }));
    rootFile = tmp.file("root.pem", root.pem);
    await makeProfile(live, "web", inter.slug);
    leaf = await issueApiLeaf(live, tmp, "web");
    server = await serveOpenssl(leaf);
    servers.push(server);
    check = { port: server.port, name: "api.example.com", rootFile };
  }, 150_000);

  afterAll(async () => {
    for (const s of servers) await s.stop();
    await live?.stop();
    tmp.remove();
  });

  it("before revocation, CRL-checking handshakes pass with the CRLs the certificates point to", async () => {
    const v = await crlVerdicts(check, await publishedCrls(leaf.pem, inter.pem));
    expect(oks(v), JSON.stringify(v, null, 1).slice(0, 3000)).toEqual({
      leafCheck: true,
      chainCheck: true,
      download: true,
      node: true,
      python: true,
    });
    const r = ocsp(leaf, inter.pem);
    expect(r.stdout + r.stderr).toMatch(/Response verify OK/);
    expect(r.stdout).toMatch(/: good/);
  });

  it("after RevokeCertificate every CRL-checking client refuses the handshake; OCSP says revoked", async () => {
    await call(live.certificates, "revokeCertificate", {
      certificate: leaf.id,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    const published = await publishedCrls(leaf.pem, inter.pem);
    const overRpc = {
      inter: await crlOverRpc(live, inter.slug),
      root: await crlOverRpc(live, root.slug),
    };
    for (const crls of [published, overRpc]) {
      const v = await crlVerdicts(check, crls);
      expect(oks(v)).toEqual({
        leafCheck: false,
        chainCheck: false,
        download: false,
        node: false,
        python: false,
      });
      expect(v.leafCheck.stdout + v.leafCheck.stderr).toMatch(/certificate revoked/);
      expect(v.node.error).toMatch(/revoked/i);
      expect(v.python.error).toMatch(/revoked/i);
    }
    // Without revocation checking the handshake still passes: what CRLs and OCSP are for.
    expect((await opensslConnect(check)).ok).toBe(true);

    const respFile = tmp.out("resp.der");
    const r = ocsp(leaf, inter.pem, ["-respout", respFile]);
    expect(r.stdout + r.stderr).toMatch(/Response verify OK/);
    expect(r.stdout).toMatch(/: revoked/);
    expect(r.stdout).toMatch(/Reason: keyCompromise/);

    // The same response stapled by the server (RFC 6066 status_request).
    const stapling = await serveOpenssl(leaf, ["-status_file", respFile]);
    servers.push(stapling);
    const s = await opensslConnect({ ...check, port: stapling.port }, ["-status"]);
    expect(s.stdout).toMatch(/OCSP Response Status: successful/);
    expect(s.stdout).toMatch(/Cert Status: revoked/);
  });

  it("a revoked intermediate fails -crl_check_all through the root's CRL", async () => {
    const sub = (
      await createIntermediateCa(live, {
        slug: "rev-inter2",
        parentCertificateAuthority: root.slug,
        subject: { commonName: "rev second Issuing CA" },
        keyAlgorithm: A.KEY_ALGORITHM_EC_P256,
      })
    ).certificateAuthority!;
    await makeProfile(live, "web2", sub.slug);
    const leaf2 = await issueApiLeaf(live, tmp, "web2");
    const s2 = await serveOpenssl(leaf2);
    servers.push(s2);
    const c2 = { ...check, port: s2.port };
    const withCrls = async () => {
      const crls = await publishedCrls(leaf2.pem, sub.certificatePem);
      const anchors = tmp.file("root-crls.pem", `${root.pem}${crls.inter}${crls.root}`);
      return {
        openssl: await opensslConnect({ ...c2, rootFile: anchors }, ["-crl_check_all"]),
        node: await nodeConnect(c2, { crl: [crls.inter, crls.root] }),
      };
    };
    const before = await withCrls();
    expect(before.openssl.ok, before.openssl.stderr).toBe(true);
    expect(before.node).toMatchObject({ ok: true });

    await call(
      live.authorities,
      "revokeCertificateAuthority",
      RevokeCertificateAuthorityRequest.fromPartial({
        certificateAuthority: sub.slug,
        reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
      }),
    );
    const after = await withCrls();
    expect(after.openssl.ok).toBe(false);
    expect(after.openssl.stdout + after.openssl.stderr).toMatch(/certificate revoked/);
    expect(after.node.ok).toBe(false);
    expect(after.node.error).toMatch(/revoked/i);
    // The leaf's own CRL catches it too: a revoked CA's CRL lists every certificate it signed,
    // as its OCSP answers them (since stop 52; until then only -crl_check_all did).
    const leafOnly = await opensslConnect(c2, ["-crl_download", "-crl_check"]);
    expect(leafOnly.ok).toBe(false);
    expect(leafOnly.stdout + leafOnly.stderr).toMatch(/certificate revoked/);
  });

  it("keyCompromise on a certificate also fails handshakes with its REUSE renewal (same key)", async () => {
    const { csrPem, keyPem } = opensslCsr("/CN=kc.example.com", ["DNS:kc.example.com"]);
    const issued = await issueCertificate(live, csrRequest("web", csrPem));
    const renewal = await call(
      live.certificates,
      "renewCertificate",
      RenewCertificateRequest.fromPartial({
        certificateId: issued.certificate!.certificateId,
        keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE,
      }),
    );
    const current = deploy(tmp, { certificate: renewal.certificate, privateKeyPem: keyPem });
    const s = await serveOpenssl(current);
    servers.push(s);
    const c: Check = { port: s.port, name: "kc.example.com", rootFile };
    const before = await opensslConnect(c, ["-crl_download", "-crl_check"]);
    expect(before.ok, before.error).toBe(true);

    // The old certificate is revoked for key compromise; the server runs its successor.
    await call(live.certificates, "revokeCertificate", {
      certificate: issued.certificate!.certificateId,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    const after = await opensslConnect(c, ["-crl_download", "-crl_check"]);
    expect(after.ok).toBe(false);
    expect(after.stdout + after.stderr).toMatch(/certificate revoked/);
    const r = ocsp(current, inter.pem);
    expect(r.stdout).toMatch(/: revoked/);
    expect(r.stdout).toMatch(/Reason: keyCompromise/);
  });

  it("Java with revocation checking on (OCSP from the AIA, CRLs from distribution points) refuses a revoked leaf", async () => {
    // What a JVM service does with com.sun.net.ssl.checkRevocation: PKIX checks every
    // certificate of the path (hard fail: a status it cannot determine fails the handshake),
    // the leaf by the OCSP responder its AIA names, the intermediate by what its own
    // certificate points to.
    const security = tmp.file("java.security", "ocsp.enable=true\n");
    const flags = [
      `-Djava.security.properties=${security}`,
      "-Dcom.sun.net.ssl.checkRevocation=true",
      "-Dcom.sun.security.enableCRLDP=true",
    ];
    const jleaf = await issueApiLeaf(live, tmp, "web");
    const s = await serveOpenssl(jleaf);
    servers.push(s);
    const c: Check = { port: s.port, name: "api.example.com", rootFile };
    const [before] = await peers.java([c], flags);
    expect(before, before?.error).toEqual({ ok: true });
    await call(live.certificates, "revokeCertificate", {
      certificate: jleaf.id,
      reason: RevocationReason.REVOCATION_REASON_CESSATION_OF_OPERATION,
    });
    const [after] = await peers.java([c], flags);
    expect(after!.ok).toBe(false);
    expect(after!.error).toMatch(/revoked/i);
  });
});
