/**
 * Issue 10 item 1: a client certificate binding names its identity type and its issuing CA.
 *
 * The attack, end to end over mTLS with certmint's own CAs as the client CA bundle: an admin
 * token is bound to the URI SAN spiffe://prod.example/ns/batch/sa/job; an issuer whose policy
 * allows URI SANs only under spiffe://prod.example/ns/team-a/* (and any CN) gets a clientAuth
 * certificate with exactly that string as its common name. Before, a certificate's identity was
 * "its first URI SAN, else its CN", so that certificate authenticated as the admin and could
 * create another admin token. Now the CN never matches a URI binding.
 *
 * Also: the CA a binding names (a certmint CA, or an outside CA by its certificate's SHA-256,
 * reached through intermediates), DNS and CN bindings, several URI SANs (no SPIFFE identity),
 * two matching bindings (refused), and a binding from before bindings named a CA.
 */
import { randomUUID, X509Certificate } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ClientCertificateBinding,
  ClientCertificateIdentityType,
  CreateAccessTokenRequest,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import {
  CreateIntermediateCertificateAuthorityRequest,
  CreateRootCertificateAuthorityRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificatePolicyPreset,
  CreateCertificatePolicyRequest,
  SubjectNamesInSans,
} from "../../gen/ts/certmint/v1/certificate_policy_service";
import { CreateCertificateProfileRequest } from "../../gen/ts/certmint/v1/certificate_profile_service";
import { IssueCertificateRequest } from "../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { CREDENTIAL_CACHE_MS } from "../../src/auth/authenticator";
import {
  type CertmintClients,
  call,
  expectRpcError,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { type ClientCert, type MtlsServer, startMtlsServer } from "../support/mtls-server";
import { TempDir } from "../support/openssl";
import { type Issued, makeCa, makeLeaf } from "../tls/pki";

const { URI_SAN, DNS_SAN, COMMON_NAME } = {
  URI_SAN: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_URI_SAN,
  DNS_SAN: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_DNS_SAN,
  COMMON_NAME: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_COMMON_NAME,
};
const BATCH_JOB = "spiffe://prod.example/ns/batch/sa/job";
const BATCH_READER = "spiffe://prod.example/ns/batch/sa/reader";

describe("client certificate bindings over mTLS, certmint's CAs as the client CA bundle", () => {
  const dir = new TempDir();
  let h: TestCertmint;
  let mtls: MtlsServer;
  let partnerCa: Issued;
  let otherPartnerCa: Issued;
  let teamA: CertmintClients;
  const ids: Record<string, string> = {};

  /** Clients of the mTLS server presenting `cert` (and no bearer token). */
  const over = (cert: ClientCert): CertmintClients => mtls.over(cert);

  const count = async (table: string, where = "true", params: unknown[] = []) =>
    Number(
      (
        await h.db.query<{ n: string }>(`select count(*) as n from ${table} where ${where}`, params)
      )[0]!.n,
    );

  /** A client certificate with a key certmint generates, issued on `profile` by `as`. */
  async function issue(
    as: CertmintClients,
    profile: string,
    names: { cn?: string; uris?: string[]; dns?: string[] },
  ): Promise<ClientCert> {
    const res = await call(
      as.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: profile,
        source: {
          $case: "attributes",
          value: {
            subject: names.cn === undefined ? undefined : { commonName: names.cn },
            subjectAlternativeNames: { uris: names.uris ?? [], dnsNames: names.dns ?? [] },
            keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
          },
        },
      }),
    );
    return { certPem: res.certificate!.certificatePem, keyPem: res.privateKeyPem };
  }

  async function bind(
    slug: string,
    role: Role,
    binding: Partial<ClientCertificateBinding>,
    profiles: string[] = [],
  ): Promise<void> {
    const res = await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug,
          role,
          certificateProfiles: profiles,
          clientCertificateBinding: binding,
        },
      }),
    );
    expect(res.secret).toBe("");
    ids[slug] = res.accessToken!.id;
  }

  const createAdminToken = (c: CertmintClients, slug: string) =>
    call(
      c.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({ accessToken: { slug, role: Role.ROLE_ADMIN } }),
    );
  const listTokens = (c: CertmintClients) =>
    call(c.accessTokens, "listAccessTokens", { pageSize: 1, pageToken: "" });

  async function clientPolicy(
    slug: string,
    uris: string[],
    dns: string[],
    subjectNamesInSans = SubjectNamesInSans.SUBJECT_NAMES_IN_SANS_UNSPECIFIED,
  ) {
    await call(
      h.policies,
      "createCertificatePolicy",
      CreateCertificatePolicyRequest.fromPartial({
        preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_CLIENT,
        certificatePolicy: {
          slug,
          sanRules: { uri: { allowed: uris }, dns: { allowed: dns } },
          // As in the README's examples: any common name.
          subjectRules: { commonName: { allowed: ["*"] } },
          subjectNamesInSans,
        },
      }),
    );
  }
  const profile = (slug: string, policy: string, ca: string) =>
    call(
      h.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug,
          certificatePolicy: policy,
          issuer: { $case: "certificateAuthority", value: ca },
        },
      }),
    );

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await call(
      h.authorities,
      "createRootCertificateAuthority",
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug: "prod-root",
        subject: { commonName: "Prod Root" },
        maxPathLength: 1,
      }),
    );
    const issuing = await call(
      h.authorities,
      "createIntermediateCertificateAuthority",
      CreateIntermediateCertificateAuthorityRequest.fromPartial({
        slug: "issuing",
        parentCertificateAuthority: "prod-root",
        subject: { commonName: "Prod Issuing CA" },
      }),
    );
    const otherRoot = await call(
      h.authorities,
      "createRootCertificateAuthority",
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug: "other-root",
        subject: { commonName: "Other Root" },
      }),
    );
    await clientPolicy(
      "team-a-clients",
      ["spiffe://prod.example/ns/team-a/*"],
      ["**.team-a.internal"],
    );
    await clientPolicy(
      "batch-clients",
      ["spiffe://prod.example/ns/batch/*"],
      ["**.batch.internal"],
    );
    // Names in the subject meet the SAN rules too (issue 17), but a policy may leave a CN
    // out of the SANs: the certificates below whose CN spells a name no SAN carries come from
    // here (issued by the admin), to show the binding never reads the CN for a SAN identity.
    await clientPolicy(
      "batch-cn-only",
      ["spiffe://prod.example/ns/batch/*"],
      ["**.batch.internal"],
      SubjectNamesInSans.SUBJECT_NAMES_IN_SANS_NOT_REQUIRED,
    );
    await profile("team-a", "team-a-clients", "issuing");
    await profile("batch", "batch-clients", "issuing");
    await profile("batch-cn", "batch-cn-only", "issuing");
    await profile("batch-elsewhere", "batch-clients", "other-root");

    const issuer = await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug: "team-a-issuer",
          role: Role.ROLE_ISSUER,
          certificateProfiles: ["team-a"],
        },
      }),
    );
    teamA = h.clientsAs(issuer.secret);

    // Outside CAs, made with openssl, trusted by the bundle too.
    partnerCa = makeCa(dir, "partner CA");
    otherPartnerCa = makeCa(dir, "other partner CA");

    // Every binding exists before the first mTLS call (each server caches refusals briefly).
    await bind("batch-admin", Role.ROLE_ADMIN, {
      identityType: URI_SAN,
      value: BATCH_JOB,
      certificateAuthority: "issuing",
    });
    await bind("batch-reader", Role.ROLE_AUDITOR, {
      identityType: URI_SAN,
      value: BATCH_READER,
      certificateAuthority: "prod-root",
    });
    await bind("job-host", Role.ROLE_AUDITOR, {
      identityType: DNS_SAN,
      value: "job.batch.internal",
      certificateAuthority: "issuing",
    });
    await bind("batch-legacy", Role.ROLE_AUDITOR, {
      identityType: COMMON_NAME,
      // Free text (a one-word CN reads as a DNS name and must meet the DNS rules, issue 17).
      value: "batch legacy",
      certificateAuthority: issuing.certificateAuthority!.id,
    });
    await bind("partner", Role.ROLE_AUDITOR, {
      identityType: URI_SAN,
      value: "spiffe://partner.example/sa/sync",
      // As `openssl x509 -fingerprint -sha256` prints it.
      issuerCertificateSha256: partnerCa.fingerprint.toUpperCase().match(/../g)!.join(":"),
    });
    // A binding as Migration20261202010000ClientCertificateBinding leaves one made before
    // bindings named a CA.
    await h.db.query(
      `insert into access_token (id, slug, description, role, profile_ids, client_identity,
         client_identity_type, created_at, expires_at)
       values ($1, 'migrated', '', 'ADMIN', '[]', 'spiffe://prod.example/ns/batch/sa/migrated',
         'URI_SAN', now(), now() + interval '1 day')`,
      [randomUUID()],
    );

    const bundle = [
      root.certificateAuthority!.certificatePem,
      issuing.certificateAuthority!.certificatePem,
      otherRoot.certificateAuthority!.certificatePem,
      partnerCa.certPem,
      otherPartnerCa.certPem,
    ].join("\n");
    mtls = await startMtlsServer(h, dir, bundle);
  });
  afterAll(async () => {
    await mtls?.stop();
    await h?.stop();
    dir.remove();
  });

  describe("the escalation: a CN that spells the admin binding's SPIFFE ID", () => {
    it("the issuer's policy refuses the URI as a SAN", async () => {
      const err = await expectRpcError(issue(teamA, "team-a", { uris: [BATCH_JOB] }));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.violations.map((v) => v.field)).toContain(
        "attributes.subject_alternative_names.uris[0]",
      );
    });

    it("and refuses it as the CN too: names in the subject meet the SAN rules (issue 17)", async () => {
      const before = await count("certificate");
      const err = await expectRpcError(issue(teamA, "team-a", { cn: BATCH_JOB }));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.violations.map((v) => v.field)).toContain("attributes.subject.common_name");
      expect(await count("certificate")).toBe(before);
    });

    it("a certificate whose CN spells the SPIFFE ID (no such URI SAN) is CLIENT_CERTIFICATE_NOT_BOUND over mTLS and creates no admin token", async () => {
      // A policy that allows the name but leaves the CN out of the SANs makes the certificate
      // the attack needs; the binding must refuse it on its own.
      const forged = await issue(h, "batch-cn", { cn: BATCH_JOB });
      const x509 = new X509Certificate(forged.certPem);
      expect(x509.subject).toBe(`CN=${BATCH_JOB}`);
      expect(x509.subjectAltName).toBeUndefined();
      expect(x509.keyUsage).toContain("1.3.6.1.5.5.7.3.2"); // clientAuth
      // With another URI SAN beside it, too.
      const forgedWithUri = await issue(h, "batch-cn", {
        cn: BATCH_JOB,
        uris: ["spiffe://prod.example/ns/batch/sa/other"],
      });

      const tokensBefore = await count("access_token");
      const auditBefore = await count("audit_record");
      for (const cert of [forged, forgedWithUri]) {
        const err = await expectRpcError(createAdminToken(over(cert), "escalated"));
        expect(err).toMatchObject({
          code: status.UNAUTHENTICATED,
          reason: "CLIENT_CERTIFICATE_NOT_BOUND",
        });
        expect(err.message).toContain(`common name "${BATCH_JOB}"`);
      }
      expect(await count("access_token", "slug = 'escalated'")).toBe(0);
      expect(await count("access_token")).toBe(tokensBefore);

      // Repeating the refused certificate costs no more lookups of bindings (negative cache;
      // one more per CREDENTIAL_CACHE_MS on a very slow machine).
      let lookups = 0;
      mtls.running.database.orm.em
        .getConnection()
        .getKnex()
        .on("query", (q: { sql: string }) => {
          if (/"access_token"/.test(q.sql)) lookups += 1;
        });
      const started = performance.now();
      for (let i = 0; i < 10; i++) {
        expect(await expectRpcError(createAdminToken(over(forged), "escalated"))).toMatchObject({
          reason: "CLIENT_CERTIFICATE_NOT_BOUND",
        });
      }
      expect(lookups).toBeLessThanOrEqual(
        Math.floor((performance.now() - started) / CREDENTIAL_CACHE_MS),
      );
      // Unauthenticated calls have no actor: nothing is audited either.
      expect(await count("audit_record")).toBe(auditBefore);
    });

    it("the binding itself works: a certificate with the URI SAN from the bound CA is the admin", async () => {
      const genuine = await issue(h, "batch", { cn: "batch job", uris: [BATCH_JOB] });
      const created = await createAdminToken(over(genuine), "made-by-batch");
      expect(created.secret).toMatch(/^certmint_/);
      const [row] = await h.db.query<{ creator_id: string }>(
        "select creator_id from access_token where slug = 'made-by-batch'",
      );
      expect(row!.creator_id).toBe(ids["batch-admin"]);
      const records = await h.db.query<{ actor_id: string; status_code: number }>(
        "select actor_id, status_code from audit_record where resource_id = $1",
        [created.accessToken!.id],
      );
      expect(records).toEqual([{ actor_id: ids["batch-admin"], status_code: 0 }]);
    });
  });

  describe("the CA a binding names", () => {
    it("the right URI from another CA (trusted by the TLS bundle) is refused", async () => {
      const elsewhere = await issue(h, "batch-elsewhere", { uris: [BATCH_JOB] });
      const err = await expectRpcError(createAdminToken(over(elsewhere), "from-elsewhere"));
      expect(err).toMatchObject({
        code: status.UNAUTHENTICATED,
        reason: "CLIENT_CERTIFICATE_NOT_BOUND",
      });
      // The same words as for an identity bound nowhere: an unauthenticated peer does not learn
      // that a binding of another CA names it.
      expect(err.message).toContain(
        "authenticates as no access token: no binding under a CA on its chain names it",
      );
      expect(await count("access_token", "slug = 'from-elsewhere'")).toBe(0);
    });

    it("a binding that names a root accepts what its intermediate issued (the chain), and nothing from another root", async () => {
      const viaIntermediate = await issue(h, "batch", { uris: [BATCH_READER] });
      const list = await listTokens(over(viaIntermediate));
      expect(list.accessTokens).toHaveLength(1);
      const fromOtherRoot = await issue(h, "batch-elsewhere", { uris: [BATCH_READER] });
      expect(await expectRpcError(listTokens(over(fromOtherRoot)))).toMatchObject({
        code: status.UNAUTHENTICATED,
        reason: "CLIENT_CERTIFICATE_NOT_BOUND",
      });
    });

    it("an outside CA named by its certificate's SHA-256: its certificates authenticate, another outside CA's do not", async () => {
      const sync = makeLeaf(dir, partnerCa, "sync", "client", [
        "URI:spiffe://partner.example/sa/sync",
      ]);
      const list = await listTokens(over(sync));
      expect(list.accessTokens).toHaveLength(1);
      const [row] = await h.db.query<{ client_ca_id: string | null; client_ca_sha256: string }>(
        "select client_ca_id, client_ca_sha256 from access_token where slug = 'partner'",
      );
      expect(row).toEqual({ client_ca_id: null, client_ca_sha256: partnerCa.fingerprint });

      const impostor = makeLeaf(dir, otherPartnerCa, "sync", "client", [
        "URI:spiffe://partner.example/sa/sync",
      ]);
      expect(await expectRpcError(listTokens(over(impostor)))).toMatchObject({
        code: status.UNAUTHENTICATED,
        reason: "CLIENT_CERTIFICATE_NOT_BOUND",
      });
    });

    it("a binding from before bindings named a CA authenticates nobody (CLIENT_CERTIFICATE_BINDING_INCOMPLETE)", async () => {
      const cert = await issue(h, "batch", {
        uris: ["spiffe://prod.example/ns/batch/sa/migrated"],
      });
      const err = await expectRpcError(createAdminToken(over(cert), "by-migrated"));
      expect(err).toMatchObject({
        code: status.UNAUTHENTICATED,
        reason: "CLIENT_CERTIFICATE_BINDING_INCOMPLETE",
      });
      expect(await count("access_token", "slug = 'by-migrated'")).toBe(0);
    });
  });

  it("a binding made through a server works there at once, even to a CA created moments before", async () => {
    // The mTLS server has just rebuilt its CA set (this call), before the new CA exists.
    const admin = over(await issue(h, "batch", { uris: [BATCH_JOB] }));
    await listTokens(admin);
    const late = await call(
      admin.authorities,
      "createIntermediateCertificateAuthority",
      CreateIntermediateCertificateAuthorityRequest.fromPartial({
        slug: "late-issuing",
        parentCertificateAuthority: "prod-root",
        subject: { commonName: "Late Issuing CA" },
      }),
    );
    await profile("late", "batch-clients", "late-issuing");
    await call(
      admin.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug: "late-job",
          role: Role.ROLE_AUDITOR,
          clientCertificateBinding: {
            identityType: URI_SAN,
            value: "spiffe://prod.example/ns/batch/sa/late",
            certificateAuthority: "late-issuing",
          },
        },
      }),
    );
    const cert = await issue(h, "late", { uris: ["spiffe://prod.example/ns/batch/sa/late"] });
    // The bundle has the root only: the client sends its intermediate in the handshake.
    const chained = {
      certPem: `${cert.certPem}\n${late.certificateAuthority!.certificatePem}`,
      keyPem: cert.keyPem,
    };
    expect((await listTokens(over(chained))).accessTokens).toHaveLength(1);
  });

  describe("identity types never fall back to one another", () => {
    it("a DNS binding matches any one of the certificate's DNS SANs, never its CN", async () => {
      const host = await issue(h, "batch", {
        cn: "some job",
        dns: ["other.batch.internal", "JOB.batch.internal."],
      });
      expect(new X509Certificate(host.certPem).subjectAltName).toContain("DNS:job.batch.internal");
      expect((await listTokens(over(host))).accessTokens).toHaveLength(1);

      const cnOnly = await issue(h, "batch-cn", { cn: "job.batch.internal" });
      expect(new X509Certificate(cnOnly.certPem).subjectAltName).toBeUndefined();
      expect(await expectRpcError(listTokens(over(cnOnly)))).toMatchObject({
        code: status.UNAUTHENTICATED,
        reason: "CLIENT_CERTIFICATE_NOT_BOUND",
      });
    });

    it("a CN binding matches the subject CN from its CA, and no other CA's", async () => {
      const legacy = await issue(h, "batch", {
        cn: "batch legacy",
        dns: ["legacy.batch.internal"],
      });
      expect((await listTokens(over(legacy))).accessTokens).toHaveLength(1);
      const elsewhere = await issue(h, "batch-elsewhere", { cn: "batch legacy" });
      expect(await expectRpcError(listTokens(over(elsewhere)))).toMatchObject({
        code: status.UNAUTHENTICATED,
        reason: "CLIENT_CERTIFICATE_NOT_BOUND",
      });
    });

    it("a certificate with several URI SANs has no URI identity (not a SPIFFE SVID)", async () => {
      const two = await issue(h, "batch", {
        uris: [BATCH_JOB, "spiffe://prod.example/ns/batch/sa/other"],
      });
      const err = await expectRpcError(createAdminToken(over(two), "by-two-uris"));
      expect(err).toMatchObject({
        code: status.UNAUTHENTICATED,
        reason: "CLIENT_CERTIFICATE_NOT_BOUND",
      });
      expect(err.message).toContain("2 URI SANs (so no URI identity)");
      expect(await count("access_token", "slug = 'by-two-uris'")).toBe(0);
    });

    it("a certificate that two bindings match is refused as ambiguous, not resolved by precedence", async () => {
      const both = await issue(h, "batch", { uris: [BATCH_READER], dns: ["job.batch.internal"] });
      const err = await expectRpcError(listTokens(over(both)));
      expect(err).toMatchObject({
        code: status.UNAUTHENTICATED,
        reason: "CLIENT_CERTIFICATE_AMBIGUOUS",
      });
      expect(err.message).toContain("matches 2 access token bindings");
      // Which tokens they are is not for an unauthenticated peer to learn.
      expect(err.message).not.toContain("batch-reader");
      expect(err.message).not.toContain("job-host");
    });
  });
});
