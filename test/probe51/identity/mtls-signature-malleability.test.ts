/**
 * Probe 51 (IDENTITY): a certificate certmint issued, presented over mTLS in a second encoding.
 * An ECDSA signature (r, s) verifies as (r, n - s) too, and X.509 signs the tbsCertificate only,
 * so anyone holding a certificate and its key can present "the same" certificate (issuer, serial,
 * names, key, validity) with other bytes and so another SHA-256 fingerprint. OpenSSL's handshake
 * accepts it (it has no low-s rule). certmint finds the certificates it issued, and their
 * revocation, by serial and fingerprint. README "Client certificate bindings": a certificate
 * certmint issued authenticates only as its own token, and one it revoked is refused from the
 * next call (CLIENT_CERTIFICATE_REVOKED). Neither may be undone by re-encoding the signature.
 *
 * The compiled server (dist/src/main.js) with an EC P-256 root and mTLS required.
 */
import { X509Certificate } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateAccessTokenRequest,
  ListAccessTokensRequest,
} from "../../../gen/ts/certmint/v1/access_token_service";
import { RevokeCertificateRequest } from "../../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { type LiveCertmint, Role, startLive, token } from "../../probe49/api/live";
import { type CertmintClients, call } from "../../support/harness";
import type { ClientCert } from "../../support/mtls-server";
import { opensslOk, TempDir } from "../../support/openssl";
import { withMirroredSignature } from "./malleable";
import {
  bindDnsName,
  createSvcPki,
  issueForNames,
  type MtlsProcess,
  outcomeOf,
  PROFILE,
  startMtlsProcess,
} from "./svc-pki";

const ADMIN_NAME = "ops.svc.example";
const READER_NAME = "reader.svc.example";

describe("probe51 identity: a certmint certificate with its ECDSA signature re-encoded", () => {
  const dir = new TempDir();
  let live: LiveCertmint;
  let mtls: MtlsProcess;
  let rootPem = "";
  let issuer: CertmintClients;

  /** The leaf of `cert` (its PEM also carries the issuing CA), its signature mirrored. */
  const mirrored = (cert: ClientCert): ClientCert => ({
    certPem: withMirroredSignature(cert.certPem),
    keyPem: cert.keyPem,
  });

  /** "OK", or the refusal's code name and reason, of a call made with `cert` alone. */
  async function outcome(run: (c: CertmintClients) => Promise<unknown>, cert: ClientCert) {
    const o = await outcomeOf(run(mtls.over(cert)));
    return o.code === status.OK ? "OK" : `${status[o.code]} ${o.reason}`.trim();
  }
  const createAdmin = (slug: string) => (c: CertmintClients) =>
    call(
      c.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({ accessToken: { slug, role: Role.ROLE_ADMIN } }),
    );
  const listTokens = (c: CertmintClients) =>
    call(c.accessTokens, "listAccessTokens", ListAccessTokensRequest.fromPartial({ pageSize: 1 }));

  beforeAll(async () => {
    live = await startLive();
    rootPem = await createSvcPki(live);
    await bindDnsName(live, "ops-admin", Role.ROLE_ADMIN, ADMIN_NAME);
    await bindDnsName(live, "reader", Role.ROLE_AUDITOR, READER_NAME);
    issuer = (await token(live, "team", Role.ROLE_ISSUER, [PROFILE])).clients;
    mtls = await startMtlsProcess({
      databaseUrl: live.db.url,
      kek: live.kek,
      dataDir: live.server.dataDir,
      clientCaPem: rootPem,
    });
  }, 240_000);

  afterAll(async () => {
    await mtls?.stop();
    await live?.stop();
    dir.remove();
  });

  it("the re-encoded copy is the same certificate to OpenSSL, with another fingerprint", async () => {
    const cert = await issueForNames(issuer, ["copy.svc.example"]);
    const copy = mirrored(cert);
    const [a, b] = [new X509Certificate(cert.certPem), new X509Certificate(copy.certPem)];
    expect(b.serialNumber).toBe(a.serialNumber);
    expect(b.subjectAltName).toBe(a.subjectAltName);
    expect(b.fingerprint256).not.toBe(a.fingerprint256);
    const rootFile = dir.file("root.pem", rootPem);
    expect(
      opensslOk([
        "verify",
        "-purpose",
        "sslclient",
        "-CAfile",
        rootFile,
        dir.file("copy.pem", copy.certPem),
      ]),
    ).toContain(": OK");
  });

  it("an issuer's certificate for the admin's name is not the admin, re-encoded or not", async () => {
    const minted = await issueForNames(issuer, [ADMIN_NAME]);
    const before = await live.count("access_token");
    expect(await outcome(createAdmin("by-original"), minted)).toBe(
      "UNAUTHENTICATED CLIENT_CERTIFICATE_NOT_BOUND",
    );
    const copy = await outcome(createAdmin("by-copy"), mirrored(minted));
    expect(copy).toMatch(/^UNAUTHENTICATED/);
    expect(await live.count("access_token")).toBe(before);
  });

  it("a certificate certmint revoked stays revoked, re-encoded or not", async () => {
    const cert = await issueForNames(live.admin, [READER_NAME]);
    expect(await outcome(listTokens, cert)).toBe("OK");
    await call(
      live.admin.certificates,
      "revokeCertificate",
      RevokeCertificateRequest.fromPartial({
        certificate: cert.id,
        reason: RevocationReason.REVOCATION_REASON_CESSATION_OF_OPERATION,
      }),
    );
    expect(await outcome(listTokens, cert)).toBe("UNAUTHENTICATED CLIENT_CERTIFICATE_REVOKED");
    expect(await outcome(listTokens, mirrored(cert))).toMatch(/^UNAUTHENTICATED/);
  });
});
