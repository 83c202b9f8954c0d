/**
 * A sub-CA's iPAddress subtrees within its issuers' (subtreesOutside, RFC 5280 6.1.4 (g)) are
 * read as the leaf check reads an address (namesOutside, ipReadings;
 * test/ca/name-constraints-embedded-ipv4.test.ts): an IPv6 subtree that carries IPv4 addresses
 * (mapped, compatible, NAT64, IPv4-translated, 6to4, Teredo) is within the parent's permitted
 * subtrees only when those IPv4 addresses are too, and lies inside an excluded IPv4 subtree
 * when they do; an IPv4 subtree lies inside an excluded subtree written in the mapped form.
 * Until stop 44 of 2026-12-06 only subtrees of the same length were compared, and a child of a
 * CA permitting 10.0.0.0/8 and ::/0 was created permitting ::ffff:192.168.0.0/112, of a CA
 * excluding 10.0.0.0/8 permitting ::ffff:10.1.0.0/112, of a CA excluding ::ffff:10.0.0.0/104
 * permitting 10.1.0.0/16: promised addresses whose every leaf the parent's check then refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateIntermediateCertificateAuthorityRequest,
  type DeepPartial,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import type { NameConstraints as NameConstraintsMessage } from "../../gen/ts/certmint/v1/common";
import { canonicalNameConstraints, namesOutside, subtreesOutside } from "../../src/signer";
import { attrRequest, Code, issue, rpcError } from "../certificates/helpers";
import { createProfileRows, tlsServerSpec } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { countCas, createRoot, TempDir, verifyChain } from "./helpers";

const NONE = { dns: [], ip: [], email: [], uri: [] };
const nc = (permitted: string[], excluded: string[] = []) =>
  canonicalNameConstraints({
    permitted: { ...NONE, ip: permitted },
    excluded: { ...NONE, ip: excluded },
  });
const freeText = { attributes: [{ type: "COMMON_NAME" as const, value: "Free Text" }] };

describe("subtreesOutside reads IPv6 subtrees carrying IPv4 addresses as the leaf check does", () => {
  const whys = (parent: ReturnType<typeof nc>, child: string[]) =>
    subtreesOutside(parent, nc(child)).map((o) => `${o.value} ${o.why}`);

  it("an IPv6 subtree is within the permitted ones only when the IPv4 addresses it carries are", () => {
    const both = nc(["10.0.0.0/8", "::/0"]);
    expect(whys(both, ["::ffff:192.168.0.0/112"])).toEqual([
      "::ffff:192.168.0.0/112 carries the IPv4 addresses 192.168.0.0/16 (mapped), which are not within the permitted ip_ranges (10.0.0.0/8, ::/0)",
    ]);
    // The leaf check refuses every address of it under that parent.
    expect(namesOutside(both, freeText, { ...NONE, ip: ["::ffff:192.168.0.1"] })).toEqual([
      "ip ::ffff:192.168.0.1",
    ]);
    // Carrying permitted IPv4 addresses, or none (::/0 as a whole, 2001:db8::/32): within.
    expect(whys(both, ["::ffff:10.1.0.0/112", "10.1.0.0/16", "::/0", "2001:db8::/32"])).toEqual([]);
    // IPv6 only: the IPv4 addresses are permitted by nothing (the leaf check refuses them too).
    expect(whys(nc(["::/0"]), ["::ffff:10.0.0.0/104"])).toEqual([
      "::ffff:10.0.0.0/104 carries the IPv4 addresses 10.0.0.0/8 (mapped), which are not within the permitted ip_ranges (::/0)",
    ]);
    // IPv4 only: no IPv6 subtree (as before).
    expect(whys(nc(["10.0.0.0/8"]), ["::ffff:10.0.0.0/104"])).toEqual([
      "::ffff:10.0.0.0/104 is not within the permitted ip_ranges (10.0.0.0/8)",
    ]);
  });

  it("reads every embedding, as the leaf check does", () => {
    // Each IPv6 subtree carries 10.1.0.0/16: within [10.1.0.0/16, ::/0], not within [10.1.1.0/24, ::/0].
    const forms: Array<[string, string]> = [
      ["::ffff:10.1.0.0/112", "::ffff:10.1.2.3"], // mapped
      ["::a01:0/112", "::a01:203"], // compatible
      ["64:ff9b::a01:0/112", "64:ff9b::a01:203"], // NAT64
      ["::ffff:0:a01:0/112", "::ffff:0:a01:203"], // IPv4-translated (SIIT)
      ["2002:a01::/32", "2002:a01:203::1"], // 6to4
      ["2001::f5fe:0/112", "2001::f5fe:fdfc"], // Teredo: inverted, 10.1.2.3
    ];
    const wide = nc(["10.1.0.0/16", "::/0"]);
    const narrow = nc(["10.1.1.0/24", "::/0"]);
    for (const [subtree, address] of forms) {
      expect(whys(wide, [subtree]), subtree).toEqual([]);
      expect(namesOutside(wide, freeText, { ...NONE, ip: [address] }), address).toEqual([]);
      expect(whys(narrow, [subtree])[0], subtree).toMatch(
        /carries the IPv4 addresses 10\.1\.0\.0\/16/,
      );
      expect(namesOutside(narrow, freeText, { ...NONE, ip: [address] }), address).toEqual([
        `ip ${address}`,
      ]);
    }
    // The local-use NAT64 prefix (RFC 8215) has four layouts; a /64 in it carries any IPv4
    // address in the /96 layout, which [10.1.0.0/16] does not permit (nor the leaf check).
    expect(whys(wide, ["64:ff9b:1:a01::/64"])[0]).toMatch(/carries the IPv4 addresses/);
    expect(namesOutside(wide, freeText, { ...NONE, ip: ["64:ff9b:1:a01::1"] })).toEqual([
      "ip 64:ff9b:1:a01::1",
    ]);
    // ::/96 holds :: and ::1, which carry nothing: read as itself only.
    expect(whys(nc(["10.0.0.0/8", "::/0"]), ["::/96"])).toEqual([]);
  });

  it("an IPv6 subtree carrying excluded IPv4 addresses, and an IPv4 one excluded in its mapped form, lie inside the exclusion", () => {
    expect(whys(nc([], ["10.0.0.0/8"]), ["::ffff:10.1.0.0/112", "64:ff9b::a00:0/104"])).toEqual([
      "::ffff:10.1.0.0/112 lies inside the excluded ip_ranges 10.0.0.0/8 (read as the IPv4 addresses it carries (mapped), 10.1.0.0/16)",
      "64:ff9b::a00:0/104 lies inside the excluded ip_ranges 10.0.0.0/8 (read as the IPv4 addresses it carries (NAT64), 10.0.0.0/8)",
    ]);
    expect(whys(nc([], ["::ffff:10.0.0.0/104"]), ["10.1.0.0/16"])).toEqual([
      "10.1.0.0/16 lies inside the excluded ip_ranges ::ffff:10.0.0.0/104 (read as its mapped form ::ffff:10.1.0.0/112)",
    ]);
    // The leaf check: every address of them is excluded.
    expect(
      namesOutside(nc([], ["10.0.0.0/8"]), freeText, { ...NONE, ip: ["::ffff:10.1.2.3"] }),
    ).toEqual(["ip ::ffff:10.1.2.3"]);
    expect(
      namesOutside(nc([], ["::ffff:10.0.0.0/104"]), freeText, { ...NONE, ip: ["10.1.2.3"] }),
    ).toEqual(["ip 10.1.2.3"]);
    // Partly excluded only: allowed (the excluded part is refused leaf by leaf).
    expect(whys(nc([], ["10.0.0.0/8"]), ["::ffff:0:0/96", "0.0.0.0/0", "::/0"])).toEqual([]);
    expect(whys(nc([], ["::ffff:10.0.0.0/104"]), ["192.168.0.0/16"])).toEqual([]);
  });
});

describe("creating a sub-CA whose iPAddress subtrees carry IPv4 addresses", () => {
  let h: TestCertmint;
  const tmp = new TempDir();
  let rootPem = "";

  const create = (slug: string, parent: string, ncm: DeepPartial<NameConstraintsMessage>) =>
    call(
      h.authorities,
      "createIntermediateCertificateAuthority",
      CreateIntermediateCertificateAuthorityRequest.fromPartial({
        slug,
        parentCertificateAuthority: parent,
        subject: { commonName: `${slug} CA` },
        nameConstraints: ncm,
      }),
    ).then((r) => r.certificateAuthority!);

  beforeAll(async () => {
    h = await startTestCertmint();
    rootPem = (await createRoot(h, "root")).certificatePem;
    // DNS names too: a CA that permits only IP ranges certifies no DNS name (since stop 44 of
    // 2026-12-06, CreateIntermediate forbids the kinds left out), and the leaf below has one.
    await create("both", "root", {
      permitted: { ipRanges: ["10.0.0.0/8", "::/0"], dnsNames: ["example.com"] },
    });
    await create("no10", "root", { excluded: { ipRanges: ["10.0.0.0/8"] } });
    await create("nomapped10", "root", { excluded: { ipRanges: ["::ffff:10.0.0.0/104"] } });
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  it.each([
    ["both", "::ffff:192.168.0.0/112", /carries the IPv4 addresses 192\.168\.0\.0\/16 \(mapped\)/],
    ["no10", "::ffff:10.1.0.0/112", /inside the excluded ip_ranges 10\.0\.0\.0\/8 \(read as/],
    ["nomapped10", "10.1.0.0/16", /inside the excluded ip_ranges ::ffff:10\.0\.0\.0\/104/],
  ])(
    "under %s, a child permitting %s: INVALID_ARGUMENT, nothing stored",
    async (parent, range, why) => {
      const before = await countCas(h);
      const err = await rpcError(
        create(`child-of-${parent}`, parent, { permitted: { ipRanges: [range] } }),
      );
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.reason).toBe("NAME_CONSTRAINTS_EXCEED_ISSUER");
      const v = err.violations.find((x) => x.description.includes(range))!;
      expect(v.reason).toBe("NAME_CONSTRAINTS_EXCEED_ISSUER");
      expect(v.description).toMatch(why);
      expect(v.description).toContain(`${parent} CA`);
      expect(await countCas(h)).toBe(before);
    },
  );

  it("a child carrying permitted IPv4 addresses is created, and its leaves verify on the chain", async () => {
    const child = await create("mapped10", "both", {
      permitted: { ipRanges: ["10.1.0.0/16", "::ffff:10.1.0.0/112"], dnsNames: ["example.com"] },
    });
    const [row] = await h.db.query<{ id: string }>(
      "select id from certificate_authority where slug = 'mapped10'",
    );
    const spec = tlsServerSpec();
    spec.sans.dns = { allowed: ["**"], denied: [], required: false };
    spec.sans.ip = { allowed: ["0.0.0.0/0", "::/0"], denied: [], required: false };
    await createProfileRows(h, { slug: "mapped10-web", caId: row!.id, spec });
    const leaf = await issue(
      h,
      attrRequest("mapped10-web", { cn: "a.example.com", ip: ["10.1.2.3", "::ffff:10.1.2.4"] }),
    );
    const bothPem = (
      await h.db.query<{ certificate_pem: string }>(
        "select certificate_pem from certificate_authority where slug = 'both'",
      )
    )[0]!.certificate_pem;
    expect(
      verifyChain(tmp, rootPem, leaf.certificate!.certificatePem, [child.certificatePem, bothPem])
        .code,
    ).toBe(0);
  });
});
