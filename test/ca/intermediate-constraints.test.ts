/**
 * Name constraints down a path of certmint CAs (RFC 5280 4.2.1.10, 6.1.4 (g)): a new
 * intermediate's permitted subtrees must lie within those of its parent and of every CA above
 * it, outside their excluded ones (INVALID_ARGUMENT, NAME_CONSTRAINTS_EXCEED_ISSUER, one field
 * violation per subtree, nothing stored); until stop 42 of 2026-12-06 a child of a CA
 * constrained to example.com was created permitting org. Leaves under a CA without constraints
 * of its own are held to its ancestors' (FAILED_PRECONDITION, ISSUER_NAME_CONSTRAINTS), and
 * what certmint does sign passes `openssl verify` on the whole chain.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateIntermediateCertificateAuthorityRequest,
  type DeepPartial,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import type { NameConstraints } from "../../gen/ts/certmint/v1/common";
import { presetSpec } from "../../src/issuance/policy-engine";
import { attrRequest, Code, csrRequest, issue, rpcError } from "../certificates/helpers";
import { buildCsr } from "../support/der-csr";
import { createProfileRows, tlsServerSpec } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { countCas, createIntermediate, createRoot, TempDir, verifyChain } from "./helpers";

describe("name constraints of an intermediate within its issuers'", () => {
  let h: TestCertmint;
  const tmp = new TempDir();
  let rootPem = "";
  let teamPem = "";

  const create = (slug: string, parent: string, nc?: DeepPartial<NameConstraints>) =>
    call(
      h.authorities,
      "createIntermediateCertificateAuthority",
      CreateIntermediateCertificateAuthorityRequest.fromPartial({
        slug,
        parentCertificateAuthority: parent,
        subject: { commonName: `${slug} CA` },
        nameConstraints: nc,
      }),
    ).then((r) => r.certificateAuthority!);

  /** A profile on CA `slug` whose policy allows every DNS name and 10/8: the CA decides. */
  async function profileOn(slug: string) {
    const [row] = await h.db.query<{ id: string }>(
      "select id from certificate_authority where slug = $1",
      [slug],
    );
    const spec = tlsServerSpec();
    spec.sans.dns = { allowed: ["**"], denied: [], required: false };
    await createProfileRows(h, { slug: `${slug}-web`, caId: row!.id, spec });
  }

  beforeAll(async () => {
    h = await startTestCertmint();
    rootPem = (await createRoot(h, "root")).certificatePem;
    teamPem = (
      await create("team", "root", {
        permitted: { dnsNames: ["example.com"], ipRanges: ["10.0.0.0/8"] },
        excluded: { dnsNames: ["secret.example.com"] },
      })
    ).certificatePem;
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  it("refuses a child permitting names outside its parent's, naming each subtree, storing nothing", async () => {
    const before = await countCas(h);
    const err = await rpcError(
      create("wider", "team", {
        permitted: {
          dnsNames: ["sub.example.com", "org"],
          ipRanges: ["10.1.0.0/16", "10.0.0.0/7"],
        },
      }),
    );
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("NAME_CONSTRAINTS_EXCEED_ISSUER");
    expect(err.violations.map((v) => v.field).sort()).toEqual([
      "name_constraints.permitted.dns_names[1]",
      "name_constraints.permitted.ip_ranges[1]",
    ]);
    const dns = err.violations.find((v) => v.field.includes("dns_names"))!;
    expect(dns.reason).toBe("NAME_CONSTRAINTS_EXCEED_ISSUER");
    expect(dns.description).toMatch(/"org" is not within the permitted dns_names \(example\.com\)/);
    expect(dns.description).toContain("team CA");
    expect(await countCas(h)).toBe(before);
  });

  it("refuses a child permitting only what its parent excludes", async () => {
    const err = await rpcError(
      create("secret", "team", { permitted: { dnsNames: ["db.secret.example.com"] } }),
    );
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.violations).toEqual([
      {
        field: "name_constraints.permitted.dns_names[0]",
        reason: "NAME_CONSTRAINTS_EXCEED_ISSUER",
        description: expect.stringMatching(/inside the excluded dns_names secret\.example\.com/),
      },
    ]);
  });

  it("checks every CA above, not only the parent: a grandchild of team may not permit org", async () => {
    // A CA with no constraints of its own under team: team's still bind everything below it.
    const open = await create("open", "team");
    const err = await rpcError(create("grandchild", "open", { permitted: { dnsNames: ["org"] } }));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("NAME_CONSTRAINTS_EXCEED_ISSUER");
    expect(err.violations[0]!.description).toMatch(/team CA, above the issuing CA/);

    // Its leaves: inside team's subtree signed and valid on the whole chain; outside refused.
    await profileOn("open");
    const inside = await issue(
      h,
      attrRequest("open-web", { cn: "a.example.com", dns: ["a.example.com"] }),
    );
    const leafPem = inside.certificate!.certificatePem;
    expect(verifyChain(tmp, rootPem, leafPem, [open.certificatePem, teamPem]).code).toBe(0);
    for (const name of ["a.example.org", "db.secret.example.com"]) {
      const refused = await rpcError(issue(h, attrRequest("open-web", { cn: name, dns: [name] })));
      expect(refused.code, name).toBe(Code.FAILED_PRECONDITION);
      expect(refused.reason, name).toBe("ISSUER_NAME_CONSTRAINTS");
    }
  });

  it("creates a child within its parent's, whose leaves openssl accepts on the whole chain", async () => {
    const child = await create("narrow", "team", {
      permitted: { dnsNames: ["app.example.com"], ipRanges: ["10.1.0.0/16"] },
      excluded: { dnsNames: ["db.app.example.com"] },
    });
    await profileOn("narrow");
    const leaf = await issue(
      h,
      attrRequest("narrow-web", {
        cn: "api.app.example.com",
        dns: ["api.app.example.com"],
        ip: ["10.1.2.3"],
      }),
    );
    const chain = [child.certificatePem, teamPem];
    expect(verifyChain(tmp, rootPem, leaf.certificate!.certificatePem, chain).code).toBe(0);
    // Within team's but outside its own: refused by the child's constraints.
    const err = await rpcError(
      issue(h, attrRequest("narrow-web", { cn: "www.example.com", dns: ["www.example.com"] })),
    );
    expect(err.reason).toBe("ISSUER_NAME_CONSTRAINTS");
  });

  it("refuses a sub-CA through a profile whose policy-derived constraints are wider, signing nothing", async () => {
    const [team] = await h.db.query<{ id: string }>(
      "select id from certificate_authority where slug = 'team'",
    );
    const spec = presetSpec("INTERMEDIATE_CA");
    spec.subject = { COMMON_NAME: { allowed: ["*"], denied: [], required: true } };
    spec.sans = { dns: { allowed: ["**.org"], denied: [], required: false } };
    await createProfileRows(h, { slug: "org-sub-ca", caId: team!.id, spec });
    const before = await h.db.query("select id from certificate");
    const err = await rpcError(
      issue(
        h,
        csrRequest("org-sub-ca", buildCsr({ subject: [["CN", "Org Sub CA"]], ca: {} }).csrPem),
      ),
    );
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("NAME_CONSTRAINTS_EXCEED_ISSUER");
    expect(err.violations[0]!.description).toMatch(/"org" is not within the permitted dns_names/);
    // Refused as the request is checked, before signing, naming the request's part.
    expect(err.violations[0]!.field).toMatch(
      /^ca_certificate\.name_constraints\.permitted\.dns_names/,
    );
    expect(await h.db.query("select id from certificate")).toEqual(before);
  });

  it("leaves a child of an unconstrained parent free, and a child without constraints alone", async () => {
    await createIntermediate(h, "free", "root");
    const org = await create("org", "root", { permitted: { dnsNames: ["org"] } });
    expect(org.nameConstraints?.permitted?.dnsNames).toEqual(["org"]);
  });
});
