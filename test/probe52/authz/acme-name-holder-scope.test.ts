/**
 * Probe 52 (AUTHZ): whose certificates an ACME account may revoke as the holder of their names
 * (RFC 8555 7.6, README "Revocation by the names' holder"). certmint's ACME directories are per
 * profile (`/acme/<profile>/...`), and the certificate's own key at another profile's directory
 * revokes nothing (404, test/probe51/acme/revocation.test.ts). An account of one profile that
 * proves control of a name must likewise revoke nothing of another profile's: not a certificate
 * another team issued over gRPC for that name (possibly its mTLS credential), not another ACME
 * profile's. On the compiled server (dist/src/main.js); each refusal leaves the certificate
 * unrevoked in PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificatePolicyPreset,
  CreateCertificatePolicyRequest,
} from "../../../gen/ts/certmint/v1/certificate_policy_service";
import { CreateCertificateProfileRequest } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { IssueCertificateRequest } from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { type AcmeTestClient, b64u } from "../../acme/jws-client";
import {
  csrDer,
  issued,
  type LiveAcme,
  readyOrder,
  startLiveAcme,
} from "../../probe51/acme/live-acme";
import { call } from "../../support/harness";
import { START_LIMIT_MS } from "../../support/server-process";

describe("probe52 authz: an ACME account revokes, as the names' holder, only its own profile's certificates", () => {
  let live: LiveAcme;
  let holder: AcmeTestClient;

  beforeAll(async () => {
    live = await startLiveAcme();
    // Another team's API profile, for names under authz.localhost, on the same root.
    await call(
      live.admin.policies,
      "createCertificatePolicy",
      CreateCertificatePolicyRequest.fromPartial({
        preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
        certificatePolicy: {
          slug: "api-local",
          sanRules: { dns: { allowed: ["**.localhost"] } },
          subjectRules: { commonName: { allowed: ["*"] } },
        },
      }),
    );
    await call(
      live.admin.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "api-local",
          certificatePolicy: "api-local",
          issuer: { $case: "certificateAuthority", value: "root" },
        },
      }),
    );
    holder = live.client("open-acme");
    expect((await holder.register()).status).toBe(201);
  }, 2 * START_LIMIT_MS);

  afterAll(async () => {
    await live?.stop();
  });

  const revokedAt = async (serialHex: string) =>
    (
      await live.db.query<{ revoked_at: Date | null }>(
        "select revoked_at from certificate where lower(serial_number) = lower($1)",
        [serialHex],
      )
    )[0]!.revoked_at;

  it("a certificate issued over gRPC on another profile is not revoked by an account that validated its name", async () => {
    const name = "victim.authz.localhost";
    const res = await call(
      live.admin.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: "api-local",
        source: {
          $case: "attributes",
          value: {
            subject: { commonName: name },
            subjectAlternativeNames: { dnsNames: [name] },
            keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
          },
        },
      }),
    );
    const pem = res.certificate!.certificatePem;
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
    const serial = (
      await live.db.query<{ serial_number: string }>(
        "select serial_number from certificate where id = $1",
        [res.certificate!.certificateId],
      )
    )[0]!.serial_number;
    await readyOrder(live, holder, [{ type: "dns", value: name }]);
    const r = await holder.post(holder.dir.revokeCert!, { certificate: b64u(der), reason: 4 });
    expect(r.status, r.text).toBeGreaterThanOrEqual(400);
    expect(await revokedAt(serial)).toBeNull();
  });

  it("another ACME profile's certificate is not revoked by an account that validated its name", async () => {
    const name = "other.acme.localhost";
    const owner = live.client("web-acme");
    expect((await owner.register()).status).toBe(201);
    const o = await readyOrder(live, owner, [{ type: "dns", value: name }]);
    const { leaf } = await issued(owner, o, csrDer(`/CN=${name}`, [`DNS:${name}`]).der);
    await readyOrder(live, holder, [{ type: "dns", value: name }]);
    const r = await holder.post(holder.dir.revokeCert!, { certificate: b64u(leaf.raw), reason: 4 });
    expect(r.status, r.text).toBeGreaterThanOrEqual(400);
    expect(await revokedAt(leaf.serialNumber)).toBeNull();
  });
});
