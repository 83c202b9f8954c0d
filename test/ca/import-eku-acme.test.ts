/**
 * ACME finalize under an imported CA whose certificate carries extendedKeyUsage clientAuth: the
 * TLS-server profile's serverAuth leaf is outside it, so the finalize is refused (409 malformed
 * naming ISSUER_EXTENDED_KEY_USAGE's reason: the CA and what it allows), the order is not
 * valid and no certificate is stored. Until stop 44 of 2026-12-06 the leaf was issued, and
 * every TLS client refused it (OpenSSL's purpose check, Go; outside probes C F1, E F11).
 */
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificatePolicy,
  CertificatePolicyPreset,
} from "../../gen/ts/certmint/v1/certificate_policy_service";
import {
  CertificateProfile,
  EnrollmentMethod,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import { type AcmeServer, startAcmeServer } from "../acme/helpers";
import { AcmeTestClient, b64u, publicJwk, thumbprint } from "../acme/jws-client";
import { opensslCsr } from "../support/fixtures";
import { call } from "../support/harness";
import { waitFor } from "../support/wait";
import {
  ACTIVE,
  CA_EXTENSIONS,
  opensslRoot,
  opensslSign,
  SignatureAlgorithm,
  subject,
  TempDir,
} from "./helpers";

const pemToDer = (pem: string) =>
  Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");

describe("ACME finalize under an imported clientAuth-only CA", () => {
  let s: AcmeServer;
  let challengeServer: Server;
  let keyAuth = "";
  const tmp = new TempDir();

  beforeAll(async () => {
    s = await startAcmeServer({ CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR: "0" });
    challengeServer = createServer((_req, res) => res.end(keyAuth));
    await new Promise<void>((r) => challengeServer.listen(s.httpPort, "127.0.0.1", r));
  });
  afterAll(async () => {
    challengeServer?.close();
    await s?.h.stop();
    tmp.remove();
  });

  it("refuses the serverAuth leaf, stores no certificate", async () => {
    const { h } = s;
    const root = opensslRoot(tmp);
    const ca = (
      await call(h.authorities, "createExternalIntermediateCertificateAuthority", {
        slug: "acme-eku",
        description: "signed outside",
        subject: subject("External acme-eku", ["certmint tests"]),
        keyAlgorithm: 0,
        signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_UNSPECIFIED,
      })
    ).certificateAuthority!;
    const pem = opensslSign(tmp, ca.csrPem, root, [
      ...CA_EXTENSIONS,
      "extendedKeyUsage=clientAuth",
    ]);
    const imported = (
      await call(h.authorities, "importCertificateAuthorityCertificate", {
        certificateAuthority: "acme-eku",
        certificatePem: pem,
        certificateChainPem: [root.pem],
      })
    ).certificateAuthority!;
    expect(imported.status).toBe(ACTIVE);
    await call(h.policies, "createCertificatePolicy", {
      certificatePolicy: CertificatePolicy.fromPartial({
        slug: "acme-eku-policy",
        sanRules: { dns: { allowed: ["**.acme.localhost"] } },
        subjectRules: { commonName: { allowed: ["*"] } },
        maxTtl: { seconds: String(90 * 86_400), nanos: 0 },
      }),
      preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
    });
    await call(h.profiles, "createCertificateProfile", {
      certificateProfile: CertificateProfile.fromPartial({
        slug: "acme-eku",
        certificatePolicy: "acme-eku-policy",
        issuer: { $case: "certificateAuthority", value: "acme-eku" },
        enrollmentMethod: EnrollmentMethod.ENROLLMENT_METHOD_ACME,
      }),
    });

    const c = new AcmeTestClient(s.directory("acme-eku"), s.tlsCaFile, "ES256");
    await c.register();
    const name = "eku.acme.localhost";
    const order = await c.newOrder([name]);
    const authzUrl = (order.json.authorizations as string[])[0]!;
    const http01 = (
      (await c.post(authzUrl, "")).json.challenges as Array<{
        type: string;
        url: string;
        token: string;
      }>
    ).find((ch) => ch.type === "http-01")!;
    keyAuth = `${http01.token}.${thumbprint(publicJwk(c.key.publicKey))}`;
    await c.post(http01.url, {});
    await waitFor(
      `${name} validated`,
      async () => (await c.post(authzUrl, "")).json.status === "valid",
    );

    const count = async () =>
      Number((await h.db.query<{ n: string }>("select count(*) as n from certificate"))[0]!.n);
    const before = await count();
    const csr = opensslCsr(`/CN=${name}`, [`DNS:${name}`]);
    const done = await c.post(order.json.finalize as string, { csr: b64u(pemToDer(csr.csrPem)) });
    expect(done.status, done.text).toBe(409);
    expect(done.json.detail).toMatch(
      /External acme-eku.* allows only the extended key usages CLIENT_AUTH: SERVER_AUTH is outside them/,
    );
    expect((await c.post(order.headers.location as string, "")).json.status).not.toBe("valid");
    expect(await count()).toBe(before);
  });
});
