/**
 * requireExplicitPolicy k on an outside CA above an imported CA without pathLenConstraint
 * (RFC 5280 4.2.1.11): a path fails once its last certificate lies k or more certificates
 * below the constraining one, certmint's certificates carrying no certificatePolicies (6.1.4
 * (h)-(i), 6.1.5 (a), (g)). Import judges the imported CA's leaves; every CA certmint creates
 * below it (CreateIntermediate), CA certificate it issues through a profile, and leaf it
 * signs is judged as it is signed: FAILED_PRECONDITION EXPLICIT_POLICY_REQUIRED naming the
 * constraining CA and k, nothing written. Until stop 45 of 2026-12-06 a sub-CA two levels down
 * was created, and its leaves failed every verifier that processes policies.
 *
 * The independent verifier: `openssl verify -x509_strict -policy_check` (OpenSSL processes a
 * chain's policyConstraints only with policy checking on; plain -x509_strict accepts these
 * paths). Outside O4 and O5 are one outside CA (one key, one name) certified twice by the root,
 * with requireExplicitPolicy 4 and 5: a certmint leaf 4 below O verifies through O5 and fails
 * through O4, which is what certmint refuses to create under O4.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  attrRequest,
  Code,
  issue,
  issueRequest,
  rowCounts,
  rpcError,
} from "../certificates/helpers";
import { createProfileRows, tlsServerSpec } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import {
  ACTIVE,
  CA_EXTENSIONS,
  countCas,
  createExternal,
  createIntermediate,
  importCaCertificate,
  openssl,
  opensslOk,
  opensslRoot,
  opensslSign,
  subCaSpec,
  TempDir,
} from "./helpers";

describe("requireExplicitPolicy above an imported CA without a path length", () => {
  let h: TestCertmint;
  const tmp = new TempDir();
  let root: ReturnType<typeof opensslRoot>;
  /** The outside CA O, certified with requireExplicitPolicy 4 and 5. */
  const O: Record<4 | 5, { keyPath: string; certPath: string; pem: string }> = {} as never;
  /** The imported CA's certificate, by k. */
  const imported: Record<4 | 5, string> = {} as never;

  beforeAll(async () => {
    h = await startTestCertmint();
    root = opensslRoot(tmp);
    const keyPath = tmp.out("outside-o.key");
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
      "/O=Outside Corp/CN=Outside Policy CA",
    ]);
    for (const k of [4, 5] as const) {
      const pem = opensslSign(tmp, csr, root, [
        ...CA_EXTENSIONS,
        `policyConstraints=critical,requireExplicitPolicy:${k}`,
      ]);
      O[k] = { keyPath, certPath: tmp.file(`o${k}.pem`, pem), pem };
      // The imported CA: no pathLenConstraint, so import judges only its leaves (2 below O).
      const ca = await createExternal(h, `ep${k}`);
      imported[k] = opensslSign(tmp, ca.csrPem, O[k], CA_EXTENSIONS);
      const active = await importCaCertificate(h, `ep${k}`, imported[k], [O[k].pem, root.pem]);
      expect(active.status).toBe(ACTIVE);
    }
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  /** openssl verify of `leaf` through `untrusted` (nearest first) to the outside root. */
  const verify = (leaf: string, untrusted: string[], policyCheck = true) =>
    openssl([
      "verify",
      "-x509_strict",
      ...(policyCheck ? ["-policy_check"] : []),
      "-CAfile",
      tmp.file("root.pem", root.pem),
      "-untrusted",
      tmp.file("untrusted.pem", untrusted.join("")),
      tmp.file("leaf.pem", leaf),
    ]);
  const leafUnder = async (caId: string, profile: string, host: string) => {
    await createProfileRows(h, { slug: profile, caId, spec: tlsServerSpec() });
    return (await issue(h, attrRequest(profile, { cn: host, dns: [host] }))).certificate!
      .certificatePem;
  };
  const caRow = async (slug: string) =>
    (await h.db.query("select id from certificate_authority where slug = $1", [slug])).length;

  it("creates a sub-CA whose leaves the constraint does not reach, refuses the next one down, and the refused depth is what openssl rejects", async () => {
    // k = 5: I (1 below O), C1 (2), C2 (3), a leaf of C2 4 below: all verify.
    const c1 = await createIntermediate(h, "ep5-c1", "ep5");
    const c2 = await createIntermediate(h, "ep5-c2", "ep5-c1");
    const leaf = await leafUnder(c2.id, "ep5-c2-web", "deep.example.com");
    const below = [c2.certificatePem, c1.certificatePem, imported[5]];
    const ok = verify(leaf, [...below, O[5].pem]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    // The same leaf through O4 (same key and name, requireExplicitPolicy 4): rejected by
    // policy processing, accepted without it (OpenSSL ignores the chain's policyConstraints
    // unless -policy_check is given).
    const rejected = verify(leaf, [...below, O[4].pem]);
    expect(rejected.code).not.toBe(0);
    expect(rejected.stdout + rejected.stderr).toMatch(/no explicit policy/);
    expect(verify(leaf, [...below, O[4].pem], false).code).toBe(0);

    // k = 4: C1 is created (its leaves 3 below O verify), C2 is refused, nothing written.
    const d1 = await createIntermediate(h, "ep4-c1", "ep4");
    const leaf4 = await leafUnder(d1.id, "ep4-c1-web", "mid.example.com");
    const ok4 = verify(leaf4, [d1.certificatePem, imported[4], O[4].pem]);
    expect(ok4.code, ok4.stdout + ok4.stderr).toBe(0);
    const cas = await countCas(h);
    const err = await rpcError(createIntermediate(h, "ep4-c2", "ep4-c1"));
    expect(err.code, err.message).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("EXPLICIT_POLICY_REQUIRED");
    expect(err.message).toContain('certificate authority "ep4-c1" cannot sign a CA certificate');
    expect(err.message).toContain("requireExplicitPolicy 4");
    expect(err.message).toContain("Outside Policy CA");
    expect(err.message).toContain('issue leaves from "ep4-c1" itself');
    expect(err.preconditions).toEqual([
      {
        type: "CA_EXPLICIT_POLICY",
        subject: "certificate_authorities/ep4-c1",
        description: expect.stringContaining("requireExplicitPolicy 4"),
      },
    ]);
    expect(await countCas(h)).toBe(cas);
    expect(await caRow("ep4-c2")).toBe(0);
  });

  it("refuses a sub-CA whose path length would reach the constraint, naming the largest that fits", async () => {
    // Under ep4 (1 below O): a sub-CA with path length 1 allows leaves 4 below O.
    const cas = await countCas(h);
    const err = await rpcError(createIntermediate(h, "ep4-deep", "ep4", { maxPathLength: 1 }));
    expect(err.code, err.message).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("EXPLICIT_POLICY_REQUIRED");
    expect(err.message).toMatch(/path length 1 would have certificates 4 below/);
    expect(err.message).toContain("max_path_length of at most 0");
    expect(await countCas(h)).toBe(cas);
    const fits = await createIntermediate(h, "ep4-fits", "ep4", { maxPathLength: 0 });
    expect(fits.status).toBe(ACTIVE);
  });

  it("CA certificates through a profile: refused without a path length that keeps them out of reach", async () => {
    const ep4 = (
      await call(h.authorities, "getCertificateAuthority", { certificateAuthority: "ep4" })
    ).certificateAuthority!;
    await createProfileRows(h, {
      slug: "ep4-subca",
      caId: ep4.id,
      spec: subCaSpec({ ca: "ALLOWED" }),
    });
    const ask = (profile: string, maxPathLength?: number) =>
      issue(
        h,
        issueRequest({
          ...attrRequest(profile, { cn: `Sub ${profile} ${maxPathLength}` }),
          caCertificate: maxPathLength === undefined ? {} : { maxPathLength },
        }),
      );
    // No path length: whoever holds its key could sign any number of levels below.
    let before = await rowCounts(h);
    let err = await rpcError(ask("ep4-subca"));
    expect(err.code, err.message).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("EXPLICIT_POLICY_REQUIRED");
    expect(err.message).toMatch(/has no path length/);
    expect(err.message).toContain("ca_certificate.max_path_length of at most 0");
    expect((await rowCounts(h)).certificates).toBe(before.certificates);
    // Path length 0: its leaves lie 3 below O; the certificate itself verifies.
    const sub = (await ask("ep4-subca", 0)).certificate!.certificatePem;
    const ok = verify(sub, [imported[4], O[4].pem]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    // Under ep4-c1 (2 below O) no CA certificate fits: its leaves would be 4 below.
    const c1 = (
      await call(h.authorities, "getCertificateAuthority", { certificateAuthority: "ep4-c1" })
    ).certificateAuthority!;
    await createProfileRows(h, {
      slug: "ep4-c1-subca",
      caId: c1.id,
      spec: subCaSpec({ ca: "ALLOWED" }),
    });
    before = await rowCounts(h);
    err = await rpcError(ask("ep4-c1-subca", 0));
    expect(err.code, err.message).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("EXPLICIT_POLICY_REQUIRED");
    expect(err.message).toContain('"ep4-c1" cannot sign a CA certificate');
    expect((await rowCounts(h)).certificates).toBe(before.certificates);
  });

  it("refuses a leaf from a CA created before this check whose leaves the constraint reaches", async () => {
    // A CA 3 below O made under O5 (allowed then), its chain then given with O4 (same key and
    // name): the state a CA created before stop 45 of 2026-12-06 under O4 would be in.
    const e1 = await createIntermediate(h, "ep5-e1", "ep5");
    const e2 = await createIntermediate(h, "ep5-e2", "ep5-e1");
    await h.db.query("update certificate_authority set chain_pem = $2 where id = $1", [
      e2.id,
      JSON.stringify([e1.certificatePem, imported[5], O[4].pem, root.pem]),
    ]);
    await createProfileRows(h, { slug: "ep5-e2-web", caId: e2.id, spec: tlsServerSpec() });
    const before = await rowCounts(h);
    const err = await rpcError(
      issue(h, attrRequest("ep5-e2-web", { cn: "e.example.com", dns: ["e.example.com"] })),
    );
    expect(err.code, err.message).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("EXPLICIT_POLICY_REQUIRED");
    expect(err.message).toContain(
      'certificate authority "ep5-e2" signs nothing a verifier accepts',
    );
    expect(err.message).toContain("would lie 4 below it");
    expect((await rowCounts(h)).certificates).toBe(before.certificates);
  });
});
