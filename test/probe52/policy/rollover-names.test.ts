/**
 * Probe 52 (POLICY): names across a CA rollover (README "Rolling a CA over"). A profile whose
 * policy allows every name is moved from an unconstrained intermediate to one that permits
 * `example.com` DNS names only, or to one whose name a certificate of the profile has as its
 * subject. A renewal is then signed by the new CA, so what the new CA may not sign must be
 * refused (FAILED_PRECONDITION ISSUER_NAME_CONSTRAINTS; SUBJECT_IS_ISSUER), with nothing stored,
 * and what it may sign must verify strictly with the new chain.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UpdateCertificateProfileRequest } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import {
  RenewalKeySource,
  RenewCertificateRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import type { Subject, SubjectAlternativeNames } from "../../../gen/ts/certmint/v1/common";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import type { DeepPartial } from "../../../gen/ts/google/protobuf/duration";
import {
  attributesRequest,
  certificateCount,
  createIntermediateCa,
  createPolicy,
  createProfile,
  createRootCa,
  issueCertificate,
  type LiveCertmint,
  startLive,
} from "../../probe49/cert/live";
import { call, expectRpcError } from "../../support/harness";
import { TempDir } from "../../support/openssl";
import { strictVerify } from "./verify";

const A = KeyAlgorithm.KEY_ALGORITHM_EC_P256;

describe("probe52 policy: names across a CA rollover", () => {
  let live: LiveCertmint;
  const tmp = new TempDir();
  let rootPem = "";
  let constrainedPem = "";
  /** Certificates issued under the unconstrained CA, before the rollover, by name. */
  const before: Record<string, string> = {};

  const inter = (slug: string, commonName: string, extra = {}) =>
    createIntermediateCa(live, {
      slug,
      parentCertificateAuthority: "root",
      subject: { commonName },
      keyAlgorithm: A,
      ...extra,
    });

  const moveProfile = (slug: string, ca: string) =>
    call(
      live.profiles,
      "updateCertificateProfile",
      UpdateCertificateProfileRequest.fromPartial({
        certificateProfile: { slug, issuer: { $case: "certificateAuthority", value: ca } },
        updateMask: ["certificate_authority"],
      }),
    );

  const renew = (certificateId: string) =>
    call(
      live.certificates,
      "renewCertificate",
      RenewCertificateRequest.fromPartial({
        certificateId,
        keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
      }),
    );

  async function issue(
    profile: string,
    sans: DeepPartial<SubjectAlternativeNames>,
    subject: DeepPartial<Subject> = {},
  ) {
    const res = await issueCertificate(live, attributesRequest(profile, { sans, subject }));
    return res.certificate!.certificateId;
  }

  beforeAll(async () => {
    live = await startLive();
    rootPem = (await createRootCa(live, "root", A, { maxPathLength: 1 })).certificatePem;
    await inter("old", "Old Issuing CA");
    constrainedPem = (
      await inter("new", "New Issuing CA", {
        nameConstraints: { permitted: { dnsNames: ["example.com"] } },
      })
    ).certificateAuthority!.certificatePem;
    await inter("named", "Team Gateway");
    await createPolicy(live, "open", {
      sanRules: {
        dns: { allowed: ["**"] },
        ip: { allowed: ["0.0.0.0/0", "::/0"] },
        uri: { allowed: ["spiffe://**/*"] },
      },
      subjectRules: { commonName: { allowed: ["*"] } },
    });
    await createProfile(live, "svc", "open", { ca: "old" });
    await createProfile(live, "gw", "open", { ca: "old" });
    before.inside = await issue("svc", { dnsNames: ["a.example.com"] });
    before.outside = await issue("svc", { dnsNames: ["a.example.com", "evil.org"] });
    before.ip = await issue("svc", { dnsNames: ["b.example.com"], ipAddresses: ["10.0.0.1"] });
    before.uri = await issue("svc", {
      dnsNames: ["c.example.com"],
      uris: ["spiffe://example.com/ns/a"],
    });
    before.cnHost = await issue("svc", { dnsNames: ["d.example.com"] }, { commonName: "db" });
    // A subject that is the name of the CA the profile will move to: fine under the old CA.
    before.gateway = await issue(
      "gw",
      { dnsNames: ["gw.example.com"] },
      { commonName: "Team Gateway" },
    );
    await moveProfile("svc", "new");
    await moveProfile("gw", "named");
  });

  afterAll(async () => {
    await live?.stop();
    tmp.remove();
  });

  it("a renewal inside the new CA's constraints is signed by it and verifies strictly", async () => {
    const res = await renew(before.inside!);
    const pem = res.certificate!.certificatePem;
    expect(strictVerify(tmp, pem, [rootPem], [constrainedPem])).toMatch(/OK/);
  });

  it.each([
    ["a DNS name outside its permitted subtree", "outside"],
    ["an IP address (a kind it permits nothing of)", "ip"],
    ["a URI (a kind it permits nothing of)", "uri"],
    ["a CN that reads as a one-label host", "cnHost"],
  ])("a renewal with %s is refused by the new CA, nothing stored", async (_what, which) => {
    const n = await certificateCount(live.db);
    const e = await expectRpcError(renew(before[which]!));
    expect(e.code, e.message).toBe(9);
    expect(e.reason, e.message).toBe("ISSUER_NAME_CONSTRAINTS");
    expect(await certificateCount(live.db)).toBe(n);
  });

  it("a renewal whose subject is the new CA's own name is refused (SUBJECT_IS_ISSUER), nothing stored", async () => {
    const n = await certificateCount(live.db);
    const r = await renew(before.gateway!).catch((e: unknown) => e);
    if (!(r instanceof Error)) {
      // Record what was signed: a certificate whose subject is its issuer's name is self-issued
      // (RFC 5280 6.1), which validators may take for the CA itself.
      const pem = (r as { certificate: { certificatePem: string } }).certificate.certificatePem;
      expect.fail(`signed a self-issued leaf:\n${pem}`);
    }
    const e = await expectRpcError(Promise.reject(r));
    expect([3, 9], e.message).toContain(e.code);
    const reasons = [e.reason, ...e.violations.map((v) => v.reason)];
    expect(reasons, e.message).toContain("SUBJECT_IS_ISSUER");
    expect(await certificateCount(live.db)).toBe(n);
  });
});
