/**
 * ImportCertificateAuthorityCertificate of an external intermediate whose certificate carries
 * nameConstraints (RFC 5280 4.2.1.10), made by openssl: GetCertificateAuthority shows them, as
 * for a CA certmint created; leaves and sub-CAs outside them are refused (the leaves certmint
 * does sign verify against the outside root with `openssl verify`); and a certificate whose
 * constraints certmint cannot represent (a directoryName subtree, an otherName one) is refused
 * with INVALID_ARGUMENT naming what, the CA left PENDING_CERTIFICATE and its row unchanged.
 * Until stop 44 of 2026-12-06 such subtrees were skipped when the certificate was read, and the
 * CA was activated issuing leaves that verifiers then refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateIntermediateCertificateAuthorityRequest,
  type CertificateAuthority as PbCa,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import { type AttrOptions, attrRequest, Code, issue, rpcError } from "../certificates/helpers";
import { createProfileRows, tlsServerSpec } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import {
  ACTIVE,
  CA_EXTENSIONS,
  caRowOf,
  createExternal,
  importCaCertificate,
  opensslOk,
  opensslRoot,
  opensslSign,
  PENDING,
  TempDir,
  verifyChain,
} from "./helpers";

describe("importing an outside CA certificate with name constraints", () => {
  let h: TestCertmint;
  const tmp = new TempDir();
  let outside: ReturnType<typeof opensslRoot>;

  beforeAll(async () => {
    h = await startTestCertmint();
    outside = opensslRoot(tmp);
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const importCert = (slug: string, pem: string) =>
    importCaCertificate(h, slug, pem, [outside.pem]);
  const rowOf = (slug: string) => caRowOf(h, slug);

  it("shows the imported constraints, issues within them (openssl verifies), refuses outside them", async () => {
    const ca = await createExternal(h, "nc-ext");
    const pem = opensslSign(tmp, ca.csrPem, outside, [
      ...CA_EXTENSIONS,
      "nameConstraints=critical,permitted;DNS:example.com,excluded;IP:10.0.0.0/255.0.0.0",
    ]);
    const imported = await importCert("nc-ext", pem);
    expect(imported.status).toBe(ACTIVE);
    const expected = {
      permitted: { dnsNames: ["example.com"], ipRanges: [], emailAddresses: [], uriHosts: [] },
      excluded: { dnsNames: [], ipRanges: ["10.0.0.0/8"], emailAddresses: [], uriHosts: [] },
    };
    expect(imported.nameConstraints).toEqual(expected);
    const read = (
      await call(h.authorities, "getCertificateAuthority", { certificateAuthority: "nc-ext" })
    ).certificateAuthority!;
    expect(read.nameConstraints).toEqual(expected);
    const listed = (
      await call(h.authorities, "listCertificateAuthorities", {
        pageSize: 100,
        pageToken: "",
        status: 0,
      })
    ).certificateAuthorities.find((c: PbCa) => c.slug === "nc-ext")!;
    expect(listed.nameConstraints).toEqual(expected);

    const spec = tlsServerSpec();
    spec.sans.dns = { allowed: ["**"], denied: [], required: false };
    spec.sans.ip = { allowed: ["0.0.0.0/0", "::/0"], denied: [], required: false };
    await createProfileRows(h, { slug: "nc-ext-web", caId: ca.id, spec });

    const inside = await issue(
      h,
      attrRequest("nc-ext-web", { cn: "a.example.com", dns: ["a.example.com"], ip: ["192.0.2.1"] }),
    );
    const leafPem = inside.certificate!.certificatePem;
    expect(verifyChain(tmp, outside.pem, leafPem, [pem]).code).toBe(0);

    const before = await h.db.query("select id from certificate");
    const refused: Array<[string, AttrOptions]> = [
      ["a DNS name outside the permitted subtree", { cn: "a.example.org", dns: ["a.example.org"] }],
      [
        "an IP address in the excluded subtree",
        { cn: "b.example.com", dns: ["b.example.com"], ip: ["10.1.2.3"] },
      ],
      [
        "its IPv6-mapped form",
        { cn: "c.example.com", dns: ["c.example.com"], ip: ["::ffff:10.1.2.3"] },
      ],
    ];
    for (const [what, o] of refused) {
      const err = await rpcError(issue(h, attrRequest("nc-ext-web", o)));
      expect(err.code, what).toBe(Code.FAILED_PRECONDITION);
      expect(err.reason, what).toBe("ISSUER_NAME_CONSTRAINTS");
    }
    expect(await h.db.query("select id from certificate")).toEqual(before);

    // A sub-CA permitting more than the imported certificate: refused, nothing stored.
    const sub = await rpcError(
      call(
        h.authorities,
        "createIntermediateCertificateAuthority",
        CreateIntermediateCertificateAuthorityRequest.fromPartial({
          slug: "nc-ext-sub",
          parentCertificateAuthority: "nc-ext",
          subject: { commonName: "nc-ext-sub CA" },
          nameConstraints: { permitted: { dnsNames: ["org"] } },
        }),
      ),
    );
    expect(sub.code).toBe(Code.INVALID_ARGUMENT);
    expect(sub.reason).toBe("NAME_CONSTRAINTS_EXCEED_ISSUER");
    expect(await rowOf("nc-ext-sub")).toBeUndefined();
  });

  it.each([
    [
      "a directoryName subtree",
      [
        "nameConstraints=critical,permitted;DNS:example.com,permitted;dirName:dir_sect",
        "[dir_sect]",
        "O=Outside Corp",
      ],
      /name_constraints.permitted.*directoryName/,
    ],
    [
      "an otherName subtree",
      ["nameConstraints=critical,excluded;otherName:1.3.6.1.5.5.7.8.9;UTF8:a@example.com"],
      /name_constraints.excluded.*otherName/,
    ],
  ])(
    "refuses a certificate with %s (INVALID_ARGUMENT naming it), changing nothing",
    async (name, ext, why) => {
      const slug = `nc-bad-${name.split(" ")[1]!.toLowerCase()}`;
      const ca = await createExternal(h, slug);
      const pem = opensslSign(tmp, ca.csrPem, outside, [...CA_EXTENSIONS, ...ext]);
      const before = await rowOf(slug);
      const err = await rpcError(importCert(slug, pem));
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.reason).toBe("CA_CERTIFICATE_REJECTED");
      const v = err.violations.find((x) => x.reason === "CERTIFICATE_NAME_CONSTRAINTS_UNSUPPORTED");
      expect(v, JSON.stringify(err.violations)).toBeDefined();
      expect(v!.field).toBe("certificate_pem");
      expect(v!.description).toMatch(why);
      expect(await rowOf(slug)).toEqual(before);
      expect((await rowOf(slug))!.status).toBe("PENDING_CERTIFICATE");
      const read = (
        await call(h.authorities, "getCertificateAuthority", { certificateAuthority: slug })
      ).certificateAuthority!;
      expect(read.status).toBe(PENDING);
    },
  );

  it("refuses a chain whose outside intermediate has a directoryName subtree, changing nothing", async () => {
    // An outside intermediate made by openssl, constrained by subject name, signed by the root.
    const keyPath = tmp.out("outside-inter.key");
    const csr = opensslOk([
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      keyPath,
      "-subj",
      "/O=Outside Corp/CN=Outside Intermediate",
    ]);
    const interPem = opensslSign(tmp, csr, outside, [
      ...CA_EXTENSIONS,
      "nameConstraints=critical,permitted;dirName:dir_sect",
      "[dir_sect]",
      "O=Outside Corp",
    ]);
    const inter = { keyPath, certPath: tmp.file("outside-inter.pem", interPem) };
    const ca = await createExternal(h, "nc-chain");
    const pem = opensslSign(tmp, ca.csrPem, inter, CA_EXTENSIONS);
    const before = await rowOf("nc-chain");
    const err = await rpcError(
      call(h.authorities, "importCertificateAuthorityCertificate", {
        certificateAuthority: "nc-chain",
        certificatePem: pem,
        certificateChainPem: [interPem, outside.pem],
      }),
    );
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.violations).toEqual([
      {
        field: "certificate_chain_pem[0]",
        reason: "CHAIN_NAME_CONSTRAINTS_UNSUPPORTED",
        description: expect.stringMatching(
          /name_constraints\.permitted\[0\]: a directoryName subtree/,
        ),
      },
    ]);
    expect(await rowOf("nc-chain")).toEqual(before);
  });
});
