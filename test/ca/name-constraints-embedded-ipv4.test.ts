/**
 * A CA's iPAddress name constraints hold for the IPv4 address an IPv6 SAN carries. Validators
 * compare an iPAddress only with subtrees of its own length (RFC 5280 4.2.1.10), so a chain with
 * `::ffff:10.0.0.1` under a CA excluding 10.0.0.0/8 passes OpenSSL and Go, while Go's and Java's
 * hostname matching take that SAN for 10.0.0.1: until stop 43 of 2026-12-06 certmint signed it
 * (and the IPv4-compatible and NAT64 forms), and a Go client accepted the certificate for
 * https://10.0.0.1 from a CA constrained never to certify 10/8 (an outside probe). Now an IPv6
 * address is read as every IPv4 address it carries, as the policy engine reads it: excluded
 * when any reading is, permitted only when every reading is.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateIntermediateCertificateAuthorityRequest,
  type DeepPartial,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import type { NameConstraints as NameConstraintsMessage } from "../../gen/ts/certmint/v1/common";
import { canonicalNameConstraints, namesOutside } from "../../src/signer";
import { attrRequest, Code, issue, rpcError } from "../certificates/helpers";
import { createProfileRows, tlsServerSpec } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { createRoot, TempDir, verifyChain } from "./helpers";

const NONE = { dns: [], ip: [], email: [], uri: [] };
const freeText = { attributes: [{ type: "COMMON_NAME" as const, value: "Free Text" }] };

describe("iPAddress name constraints and IPv6 forms of IPv4 addresses (namesOutside)", () => {
  const outside = (nc: { permitted?: string[]; excluded?: string[] }, ip: string[]) =>
    namesOutside(
      canonicalNameConstraints({
        permitted: { ...NONE, ip: nc.permitted ?? [] },
        excluded: { ...NONE, ip: nc.excluded ?? [] },
      }),
      freeText,
      { ...NONE, ip },
    );

  it("excludes every IPv6 form that carries an excluded IPv4 address", () => {
    const excluded10 = { excluded: ["10.0.0.0/8"] };
    for (const form of [
      "10.0.0.1",
      "::ffff:10.0.0.1", // mapped (RFC 4291 2.5.5.2)
      "::a00:1", // compatible (RFC 4291 2.5.5.1)
      "64:ff9b::a00:1", // NAT64 (RFC 6052)
      "::ffff:0:a00:1", // SIIT IPv4-translated (RFC 2765)
      "2002:a00:1::1", // 6to4 (RFC 3056)
    ]) {
      expect(outside(excluded10, [form]), form).toEqual([`ip ${form}`]);
    }
    expect(outside(excluded10, ["::ffff:192.0.2.1", "2001:db8::1", "192.0.2.1"])).toEqual([]);
  });

  it("excludes an IPv4 address under an excluded subtree written in the mapped form, and permits it under an IPv4 one", () => {
    // A client dialling [::ffff:10.0.0.1] accepts a certificate for 10.0.0.1 (a review, stop 43).
    expect(outside({ excluded: ["::ffff:10.0.0.0/104"] }, ["10.0.0.1"])).toEqual(["ip 10.0.0.1"]);
    expect(outside({ excluded: ["::ffff:10.0.0.0/104"] }, ["192.0.2.1"])).toEqual([]);
    expect(outside({ permitted: ["10.0.0.0/8"] }, ["10.0.0.1"])).toEqual([]);
  });

  it("permits an IPv6 form of an IPv4 address only where both readings are permitted", () => {
    const both = { permitted: ["10.0.0.0/8", "::/0"] };
    expect(outside(both, ["::ffff:10.0.0.1", "2001:db8::1", "10.1.1.1"])).toEqual([]);
    expect(outside(both, ["::ffff:192.168.0.1"])).toEqual(["ip ::ffff:192.168.0.1"]);
    // IPv6 only: the IPv4 reading is permitted by nothing.
    expect(outside({ permitted: ["::/0"] }, ["::ffff:10.0.0.1"])).toEqual(["ip ::ffff:10.0.0.1"]);
    // IPv4 only: validators find no IPv6 subtree for the 16 octets (refused before, too).
    expect(outside({ permitted: ["10.0.0.0/8"] }, ["::ffff:10.0.0.1"])).toEqual([
      "ip ::ffff:10.0.0.1",
    ]);
  });
});

describe("a CA excluding 10.0.0.0/8 signs no IPv6 form of 10/8", () => {
  let h: TestCertmint;
  const tmp = new TempDir();
  let rootPem = "";

  const create = (slug: string, nc: DeepPartial<NameConstraintsMessage>) =>
    call(
      h.authorities,
      "createIntermediateCertificateAuthority",
      CreateIntermediateCertificateAuthorityRequest.fromPartial({
        slug,
        parentCertificateAuthority: "root",
        subject: { commonName: `${slug} CA` },
        nameConstraints: nc,
      }),
    ).then((r) => r.certificateAuthority!);

  /** A profile on CA `slug` whose policy allows every address: the CA's constraints decide. */
  async function profileOn(slug: string) {
    const [row] = await h.db.query<{ id: string }>(
      "select id from certificate_authority where slug = $1",
      [slug],
    );
    const spec = tlsServerSpec();
    spec.sans.dns = { allowed: ["**"], denied: [], required: false };
    spec.sans.ip = { allowed: ["0.0.0.0/0", "::/0"], denied: [], required: false };
    await createProfileRows(h, { slug: `${slug}-web`, caId: row!.id, spec });
  }

  beforeAll(async () => {
    h = await startTestCertmint();
    rootPem = (await createRoot(h, "root")).certificatePem;
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  it("refuses the mapped, compatible and NAT64 forms (SAN or CN) as it refuses 10.0.0.1, storing nothing", async () => {
    await create("no10", { excluded: { ipRanges: ["10.0.0.0/8"] } });
    await profileOn("no10");
    const before = await h.db.query("select id from certificate");
    for (const ip of ["10.0.0.1", "::ffff:10.0.0.1", "::a00:1", "64:ff9b::10.0.0.1"]) {
      const err = await rpcError(
        issue(h, attrRequest("no10-web", { cn: "a.example.com", ip: [ip] })),
      );
      expect(err.code, ip).toBe(Code.FAILED_PRECONDITION);
      expect(err.reason, ip).toBe("ISSUER_NAME_CONSTRAINTS");
    }
    // The CN read as an address (copied into the SANs by the profile's default) too.
    const cnErr = await rpcError(issue(h, attrRequest("no10-web", { cn: "::ffff:10.0.0.9" })));
    expect(cnErr.reason).toBe("ISSUER_NAME_CONSTRAINTS");
    expect(await h.db.query("select id from certificate")).toEqual(before);
  });

  it("still signs IPv6 addresses that carry no excluded IPv4 address, valid on the chain", async () => {
    const ca = await create("no10b", { excluded: { ipRanges: ["10.0.0.0/8"] } });
    await profileOn("no10b");
    const leaf = await issue(
      h,
      attrRequest("no10b-web", { cn: "b.example.com", ip: ["2001:db8::1", "::ffff:192.0.2.1"] }),
    );
    const pem = leaf.certificate!.certificatePem;
    expect(verifyChain(tmp, rootPem, pem, [ca.certificatePem]).code).toBe(0);
  });
});
