/**
 * CA status and etags (UpdateCertificateAuthority), list pagination, and the precise errors of
 * bad create requests: code, ErrorInfo reason, BadRequest field, and no row written.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertificateAuthority as PbCa } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import {
  ACTIVE,
  CertificateAuthorityStatus,
  countCas,
  createIntermediate,
  createRoot,
  DISABLED,
  emptySubject,
  KeyAlgorithm,
  opensslOk,
  PENDING,
  SignatureAlgorithm,
  subject,
  TempDir,
  verifyChain,
} from "./helpers";

/** A full proto CA to send as UpdateCertificateAuthority.certificate_authority. */
function changed(ca: PbCa, patch: Partial<PbCa>): PbCa {
  return { ...ca, ...patch };
}

describe("status and etags", () => {
  let h: TestCertmint;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const update = (ca: PbCa, mask: string[] | undefined) =>
    call(h.authorities, "updateCertificateAuthority", {
      certificateAuthority: ca,
      updateMask: mask,
    }).then((r) => r.certificateAuthority!);
  const get = (ref: string) =>
    call(h.authorities, "getCertificateAuthority", { certificateAuthority: ref }).then(
      (r) => r.certificateAuthority!,
    );
  const rowOf = async (id: string) =>
    (await h.db.query("select * from certificate_authority where id = $1", [id]))[0];

  it("a DISABLED CA signs no intermediate (CA_DISABLED); enabling it again restores signing", async () => {
    const root = await createRoot(h, "toggle-root");
    expect(root.etag).toMatch(/^".+"$/);
    const disabled = await update(changed(root, { status: DISABLED }), ["status"]);
    expect(disabled.status).toBe(DISABLED);
    expect(disabled.etag).not.toBe(root.etag);
    expect(disabled.updateTime!.getTime()).toBeGreaterThanOrEqual(root.updateTime!.getTime());
    // Nothing else changed.
    expect({ ...disabled, status: 0, etag: "", updateTime: undefined }).toEqual({
      ...root,
      status: 0,
      etag: "",
      updateTime: undefined,
    });
    expect((await get(root.slug)).status).toBe(DISABLED);

    const before = await countCas(h);
    const err = await expectRpcError(createIntermediate(h, "under-disabled", root.id));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.reason).toBe("CA_DISABLED");
    expect(err.preconditions).toEqual([
      expect.objectContaining({
        type: "CA_STATUS",
        subject: "certificate_authorities/toggle-root",
      }),
    ]);
    expect(await countCas(h)).toBe(before);

    // Its CRL is still served while disabled (proto: "Its CRL is still served").
    const crl = await call(h.authorities, "getCertificateRevocationList", {
      certificateAuthority: root.id,
      encoding: 0,
      knownCrlNumber: "",
    });
    expect(crl.crlPem).toMatch(/BEGIN X509 CRL/);

    const enabled = await update(changed(disabled, { status: ACTIVE }), ["status"]);
    expect(enabled.status).toBe(ACTIVE);
    expect(enabled.etag).not.toBe(disabled.etag);
    const inter = await createIntermediate(h, "under-enabled", root.slug);
    expect(verifyChain(tmp, root.certificatePem, inter.certificatePem).code).toBe(0);
  });

  it("a stale etag is refused with ABORTED and nothing changes", async () => {
    const root = await createRoot(h, "etag-root");
    // Only the masked field changes: the status in the body is ignored.
    const v2 = await update(changed(root, { description: "second", status: DISABLED }), [
      "description",
    ]);
    expect(v2.description).toBe("second");
    expect(v2.status).toBe(ACTIVE);
    const row = await rowOf(root.id);
    // root.etag is now stale.
    for (const [patch, mask] of [
      [{ status: DISABLED }, ["status"]],
      [{ description: "third" }, ["description"]],
    ] as const) {
      const err = await expectRpcError(update(changed(root, patch), [...mask]));
      expect(err.code).toBe(status.ABORTED);
      expect(err.reason).toBe("ETAG_MISMATCH");
    }
    // A made-up etag too.
    const err = await expectRpcError(
      update(changed(v2, { etag: '"999"', status: DISABLED }), ["status"]),
    );
    expect(err.code).toBe(status.ABORTED);
    expect(await rowOf(root.id)).toEqual(row);
    expect(await get(root.id)).toEqual(v2);
    // The current etag works, and an empty etag means "unconditionally" (AIP-154).
    const v3 = await update(changed(v2, { status: DISABLED }), ["status"]);
    expect(v3.status).toBe(DISABLED);
    const v4 = await update(changed(root, { etag: "", status: ACTIVE }), ["status"]);
    expect(v4.status).toBe(ACTIVE);
    expect(v4.description).toBe("second");
  });

  it("two updates racing with the same etag: exactly one wins, the other is ABORTED", async () => {
    const root = await createRoot(h, "race-root");
    const results = await Promise.allSettled([
      update(changed(root, { description: "a" }), ["description"]),
      update(changed(root, { description: "b" }), ["description"]),
    ]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r) => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const err = await expectRpcError(Promise.reject((lost[0] as PromiseRejectedResult).reason));
    expect(err.code).toBe(status.ABORTED);
    const winner = (won[0] as PromiseFulfilledResult<PbCa>).value;
    expect((await get(root.id)).description).toBe(winner.description);
    expect((await rowOf(root.id))!.version).toBe(2);
  });

  it("a bad update mask is INVALID_ARGUMENT (UPDATE_MASK_INVALID) and changes nothing", async () => {
    const root = await createRoot(h, "mask-root");
    const row = await rowOf(root.id);
    // Each bad path at its index, as policies and profiles name them (since stop 50).
    const cases: Array<[string[] | undefined, string, string]> = [
      [undefined, "update_mask", "UPDATE_MASK_EMPTY"],
      [[], "update_mask", "UPDATE_MASK_EMPTY"],
      [["slug"], "update_mask.paths[0]", "UPDATE_MASK_PATH_IMMUTABLE"],
      [["status", "key_algorithm"], "update_mask.paths[1]", "UPDATE_MASK_PATH_UNKNOWN"],
      [["certificate_pem"], "update_mask.paths[0]", "UPDATE_MASK_PATH_UNKNOWN"],
      [["Status"], "update_mask.paths[0]", "UPDATE_MASK_PATH_UNKNOWN"],
    ];
    for (const [mask, field, reason] of cases) {
      const err = await expectRpcError(
        update(changed(root, { status: DISABLED, slug: "renamed", description: "x" }), mask),
      );
      expect(err.code, JSON.stringify(mask)).toBe(status.INVALID_ARGUMENT);
      expect(err.reason).toBe("UPDATE_MASK_INVALID");
      expect(err.violations).toEqual([expect.objectContaining({ field, reason })]);
    }
    // Without the CA itself.
    const err = await expectRpcError(
      call(h.authorities, "updateCertificateAuthority", { updateMask: ["status"] }),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(await rowOf(root.id)).toEqual(row);
  });

  it('update_mask "*" replaces status and description together (AIP-134)', async () => {
    const root = await createRoot(h, "star-root");
    const updated = await update(changed(root, { status: DISABLED, description: "replaced" }), [
      "*",
    ]);
    expect(updated).toMatchObject({ status: DISABLED, description: "replaced", slug: "star-root" });
    expect(await rowOf(root.id)).toMatchObject({ status: "DISABLED", description: "replaced" });
    // A full replacement must name a status: UNSPECIFIED is refused, nothing changes.
    const row = await rowOf(root.id);
    const err = await expectRpcError(
      update(
        changed(await get(root.id), {
          status: CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_UNSPECIFIED,
          description: "again",
        }),
        ["*"],
      ),
    );
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "CA_STATUS_INVALID" });
    expect(await rowOf(root.id)).toEqual(row);
  });

  it("status can only be set to ACTIVE or DISABLED", async () => {
    const root = await createRoot(h, "status-value-root");
    const row = await rowOf(root.id);
    const err = await expectRpcError(update(changed(root, { status: PENDING }), ["status"]));
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "CA_STATUS_INVALID" });
    expect(err.violations.map((v) => v.field)).toEqual(["certificate_authority.status"]);
    const err2 = await expectRpcError(
      update(changed(root, { status: 42 as CertificateAuthorityStatus }), ["status"]),
    );
    expect(err2.code).toBe(status.INVALID_ARGUMENT);
    expect(err2.violations.map((v) => v.field)).toEqual(["certificate_authority.status"]);
    expect(await rowOf(root.id)).toEqual(row);
  });

  // Regression test for a bug once in src/api/certificate-authority-service.ts.
  it('status UNSPECIFIED under mask ["status"] is INVALID_ARGUMENT, not a silent no-op', async () => {
    const root = await createRoot(h, "unspecified-status-root");
    const err = await expectRpcError(
      update(
        changed(root, {
          status: CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_UNSPECIFIED,
        }),
        ["status"],
      ),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
  });

  it("a PENDING_CERTIFICATE CA cannot be enabled (or disabled)", async () => {
    const pending = (
      await call(h.authorities, "createExternalIntermediateCertificateAuthority", {
        slug: "pending-ca",
        description: "",
        subject: subject("Pending CA"),
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
        signatureAlgorithm: 0,
      })
    ).certificateAuthority!;
    expect(pending.status).toBe(PENDING);
    const row = await rowOf(pending.id);
    for (const target of [ACTIVE, DISABLED]) {
      const err = await expectRpcError(update(changed(pending, { status: target }), ["status"]));
      expect(err.code).toBe(status.FAILED_PRECONDITION);
      expect(err.reason).toBe("CA_PENDING_CERTIFICATE");
    }
    expect(await rowOf(pending.id)).toEqual(row);
    // Its description may still change.
    const described = await update(changed(pending, { description: "waiting" }), ["description"]);
    expect(described).toMatchObject({ status: PENDING, description: "waiting" });
  });

  it("updates by slug, and an unknown CA is NOT_FOUND", async () => {
    const root = await createRoot(h, "by-slug-root");
    const byslug = await update(
      changed(root, { id: "", status: DISABLED, description: "by slug" }),
      ["status", "description"],
    );
    expect(byslug).toMatchObject({ id: root.id, status: DISABLED, description: "by slug" });
    const err = await expectRpcError(
      update(changed(root, { id: "", slug: "no-such-root", etag: "" }), ["status"]),
    );
    expect(err).toMatchObject({
      code: status.NOT_FOUND,
      reason: "CERTIFICATE_AUTHORITY_NOT_FOUND",
    });
  });
});

describe("ListCertificateAuthorities", () => {
  let h: TestCertmint;
  const created: PbCa[] = [];

  beforeAll(async () => {
    h = await startTestCertmint();
    for (let i = 0; i < 5; i++) {
      // One at a time, so "oldest first" has a defined answer.
      created.push(await createRoot(h, `list-root-${i}`));
    }
  });
  afterAll(async () => {
    await h?.stop();
  });

  const list = (pageSize: number, pageToken = "", st = 0) =>
    call(h.authorities, "listCertificateAuthorities", { pageSize, pageToken, status: st });

  it("pages of 2 over 5 CAs: 3 pages, oldest first, no duplicates, last token empty", async () => {
    const pages: PbCa[][] = [];
    let token = "";
    do {
      const page = await list(2, token);
      pages.push(page.certificateAuthorities);
      token = page.nextPageToken;
      expect(pages.length).toBeLessThanOrEqual(3);
    } while (token !== "");
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    const all = pages.flat();
    expect(all.map((c) => c.slug)).toEqual(created.map((c) => c.slug));
    expect(new Set(all.map((c) => c.id)).size).toBe(5);
    expect(all).toEqual(created);
    // page_size 0 means the default (50): everything in one page.
    const one = await list(0);
    expect(one.certificateAuthorities.map((c) => c.id)).toEqual(created.map((c) => c.id));
    expect(one.nextPageToken).toBe("");
  });

  it("filters by status, and pages stay stable while CAs are added", async () => {
    const first = await list(2);
    const [a] = created;
    await call(h.authorities, "updateCertificateAuthority", {
      certificateAuthority: { ...a!, status: DISABLED },
      updateMask: ["status"],
    });
    const disabled = await list(10, "", DISABLED);
    expect(disabled.certificateAuthorities.map((c) => c.slug)).toEqual(["list-root-0"]);
    const active = await list(10, "", ACTIVE);
    expect(active.certificateAuthorities.map((c) => c.slug)).toEqual(
      created.slice(1).map((c) => c.slug),
    );
    // A CA created after the first page was read appears at the end, nothing is skipped.
    const late = await createRoot(h, "list-root-late");
    const rest: string[] = [];
    let token = first.nextPageToken;
    while (token) {
      const page = await list(2, token);
      rest.push(...page.certificateAuthorities.map((c) => c.slug));
      token = page.nextPageToken;
    }
    expect(rest).toEqual([...created.slice(2).map((c) => c.slug), late.slug]);
    // Restore for other tests.
    await call(h.authorities, "updateCertificateAuthority", {
      certificateAuthority: { ...a!, etag: "", status: ACTIVE },
      updateMask: ["status"],
    });
  });

  it("a bad page_token or page_size is INVALID_ARGUMENT", async () => {
    for (const token of ["garbage", "%%%", Buffer.from("[1,2]").toString("base64url")]) {
      const err = await expectRpcError(list(2, token));
      expect(err.code, token).toBe(status.INVALID_ARGUMENT);
      expect(err.reason).toBe("PAGE_TOKEN_INVALID");
      expect(err.violations.map((v) => v.field)).toEqual(["page_token"]);
    }
    const err = await expectRpcError(list(-1));
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "PAGE_SIZE_INVALID" });
  });

  // Regression test for a bug once in src/issuance/common/pagination.ts.
  it("a page_token with a well-formed date but a non-UUID id is INVALID_ARGUMENT, not INTERNAL", async () => {
    const token = Buffer.from(JSON.stringify(["2024-01-01T00:00:00.000Z", "not-a-uuid"])).toString(
      "base64url",
    );
    const err = await expectRpcError(list(2, token));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.reason).toBe("PAGE_TOKEN_INVALID");
  });
});

describe("bad create requests: precise errors and no row written", () => {
  let h: TestCertmint;
  let parent: PbCa;

  beforeAll(async () => {
    h = await startTestCertmint();
    parent = await createRoot(h, "errors-root");
  });
  afterAll(async () => {
    await h?.stop();
  });

  type Req = {
    slug?: string;
    subject?: ReturnType<typeof subject>;
    keyAlgorithm?: number;
    signatureAlgorithm?: number;
    ttl?: { seconds: string; nanos: number };
    maxPathLength?: number;
  };
  const root = (r: Req) =>
    call(h.authorities, "createRootCertificateAuthority", {
      slug: "bad-root",
      description: "",
      // One name per CA: an issuer's CAs have distinct names (CA_SUBJECT_TAKEN).
      subject: subject(`Bad ${(r.slug ?? "root").slice(0, 50)}`),
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      signatureAlgorithm: 0,
      ...r,
    });
  const inter = (r: Req & { parent?: string }) =>
    call(h.authorities, "createIntermediateCertificateAuthority", {
      slug: "bad-inter",
      description: "",
      parentCertificateAuthority: r.parent ?? parent.id,
      subject: subject(`Bad ${(r.slug ?? "inter").slice(0, 50)}`),
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      signatureAlgorithm: 0,
      ...r,
    });
  const external = (r: Req) =>
    call(h.authorities, "createExternalIntermediateCertificateAuthority", {
      slug: "bad-external",
      description: "",
      subject: subject("Bad"),
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      signatureAlgorithm: 0,
      ...r,
    });
  const creators = { root, inter, external };

  /** Runs a failing create and checks code, reason, field and that no row appeared. */
  async function refused(
    run: () => Promise<unknown>,
    code: status,
    reason: string,
    field?: string,
    violationReason?: string,
  ) {
    const before = await countCas(h);
    const err = await expectRpcError(run());
    expect(err.code, err.message).toBe(code);
    expect(err.reason, err.message).toBe(reason);
    if (field !== undefined) {
      expect(err.violations).toContainEqual(
        expect.objectContaining({ field, ...(violationReason ? { reason: violationReason } : {}) }),
      );
    }
    expect(await countCas(h)).toBe(before);
    return err;
  }

  it.each(Object.keys(creators))("%s: a bad slug is SLUG_INVALID on field slug", async (kind) => {
    const create = creators[kind as keyof typeof creators];
    for (const slug of ["", "Upper", "with_underscore", "-lead", "trail-", "a--b", "9start", "é"]) {
      const err = await refused(
        () => create({ slug }),
        status.INVALID_ARGUMENT,
        "SLUG_INVALID",
        "slug",
        "SLUG_INVALID",
      );
      expect(err.violations).toHaveLength(1);
    }
    // One character too many is the contract's limit (src/api/request-limits.ts).
    await refused(
      () => create({ slug: "a".repeat(64) }),
      status.INVALID_ARGUMENT,
      "REQUEST_FIELD_INVALID",
      "slug",
      "FIELD_TOO_LONG",
    );
    // The longest valid slug is fine.
    await create({ slug: `${kind[0]}${"x".repeat(62)}` });
  });

  it("a duplicate slug is ALREADY_EXISTS and leaves one row, across CA types", async () => {
    await root({ slug: "taken" });
    for (const create of [root, inter, external]) {
      await refused(() => create({ slug: "taken" }), status.ALREADY_EXISTS, "CA_SLUG_TAKEN");
    }
    const rows = await h.db.query("select id from certificate_authority where slug = 'taken'");
    expect(rows).toHaveLength(1);
  });

  // Regression test for a bug once in src/issuance/ca/new-ca.ts (an outside lint probe).
  it("a second CA of one name under one issuer is ALREADY_EXISTS (CA_SUBJECT_TAKEN), even racing", async () => {
    const name = subject("Same Name", ["certmint tests"]);
    await root({ slug: "same-root-1", subject: name });
    const err = await refused(
      () => root({ slug: "same-root-2", subject: subject("same  NAME", ["Certmint Tests"]) }),
      status.ALREADY_EXISTS,
      "CA_SUBJECT_TAKEN",
    );
    expect(err.message).toContain('"same-root-1"');
    await inter({ slug: "same-inter-1", subject: name });
    await refused(
      () => inter({ slug: "same-inter-2", subject: name }),
      status.ALREADY_EXISTS,
      "CA_SUBJECT_TAKEN",
    );
    // Under another parent the name is another issuer's to certify; an external CA's issuer is
    // outside, and not checked.
    await inter({ slug: "same-inter-3", subject: name, parent: "same-root-1" });
    await external({ slug: "same-external", subject: name });
    // Two creates racing for one name under one parent: one wins.
    const raced = subject("Raced Name", ["certmint tests"]);
    const results = await Promise.allSettled([
      inter({
        slug: "raced-name-1",
        subject: raced,
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_ED25519,
      }),
      inter({
        slug: "raced-name-2",
        subject: raced,
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_ED25519,
      }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(await expectRpcError(Promise.reject(lost.reason))).toMatchObject({
      code: status.ALREADY_EXISTS,
      reason: "CA_SUBJECT_TAKEN",
    });
    const rows = await h.db.query(
      "select id from certificate_authority where slug in ('raced-name-1', 'raced-name-2')",
    );
    expect(rows).toHaveLength(1);
  });

  it("two creates racing for one slug: one wins, the other is ALREADY_EXISTS", async () => {
    const results = await Promise.allSettled([
      root({ slug: "raced", keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_ED25519 }),
      root({ slug: "raced", keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_ED25519 }),
      external({ slug: "raced", keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_ED25519 }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results.filter((x) => x.status === "rejected")) {
      const err = await expectRpcError(Promise.reject((r as PromiseRejectedResult).reason));
      expect(err).toMatchObject({ code: status.ALREADY_EXISTS, reason: "CA_SLUG_TAKEN" });
    }
    const rows = await h.db.query("select id from certificate_authority where slug = 'raced'");
    expect(rows).toHaveLength(1);
  });

  it.each(Object.keys(creators))(
    "%s: an empty or invalid subject is SUBJECT_INVALID",
    async (kind) => {
      const create = creators[kind as keyof typeof creators];
      await refused(
        () => create({ subject: emptySubject() }),
        status.INVALID_ARGUMENT,
        "SUBJECT_INVALID",
        "subject",
        "SUBJECT_REQUIRED",
      );
      await refused(
        () => create({ subject: { ...subject("X"), country: "de" } }),
        status.INVALID_ARGUMENT,
        "SUBJECT_INVALID",
        "subject.country",
        "SUBJECT_VALUE_INVALID",
      );
      await refused(
        () => create({ subject: subject("x".repeat(65)) }),
        status.INVALID_ARGUMENT,
        "REQUEST_FIELD_INVALID",
        "subject.common_name",
        "FIELD_TOO_LONG",
      );
      await refused(
        () => create({ subject: subject("   ") }),
        status.INVALID_ARGUMENT,
        "SUBJECT_INVALID",
        "subject.common_name",
        "SUBJECT_VALUE_INVALID",
      );
      // Found by an outside probe (2026-12-05): any text went into the CA's emailAddress.
      await refused(
        () => create({ subject: { ...subject("X"), emailAddress: "not-an-email" } }),
        status.INVALID_ARGUMENT,
        "SUBJECT_INVALID",
        "subject.email_address",
        "SUBJECT_VALUE_INVALID",
      );
    },
  );

  it.each(Object.keys(creators))(
    "%s: a signature algorithm the key cannot make is SIGNATURE_ALGORITHM_MISMATCH",
    async (kind) => {
      const create = creators[kind as keyof typeof creators];
      for (const [key, sig] of [
        [
          KeyAlgorithm.KEY_ALGORITHM_RSA_2048,
          SignatureAlgorithm.SIGNATURE_ALGORITHM_ECDSA_WITH_SHA256,
        ],
        [
          KeyAlgorithm.KEY_ALGORITHM_EC_P256,
          SignatureAlgorithm.SIGNATURE_ALGORITHM_SHA256_WITH_RSA,
        ],
        [
          KeyAlgorithm.KEY_ALGORITHM_ED25519,
          SignatureAlgorithm.SIGNATURE_ALGORITHM_ECDSA_WITH_SHA384,
        ],
        [KeyAlgorithm.KEY_ALGORITHM_EC_P384, SignatureAlgorithm.SIGNATURE_ALGORITHM_ED25519],
      ] as const) {
        const err = await refused(
          () => create({ keyAlgorithm: key, signatureAlgorithm: sig }),
          status.INVALID_ARGUMENT,
          "SIGNATURE_ALGORITHM_MISMATCH",
        );
        expect(err.message).toContain(SignatureAlgorithm[sig].replace("SIGNATURE_ALGORITHM_", ""));
      }
      // A matching non-default choice is fine: ECDSA-SHA384 with a P-256 key.
      const slug = `${kind}-p256-sha384`;
      const res = await create({
        slug,
        signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_ECDSA_WITH_SHA384,
      });
      const made = (res as { certificateAuthority?: PbCa }).certificateAuthority!;
      expect(made.signatureAlgorithm).toBe(
        SignatureAlgorithm.SIGNATURE_ALGORITHM_ECDSA_WITH_SHA384,
      );
      if (kind === "root") {
        // A root signs itself with its chosen algorithm.
        const text = opensslOk(["x509", "-noout", "-text"], made.certificatePem);
        expect(text).toContain("Signature Algorithm: ecdsa-with-SHA384");
      } else if (kind === "inter") {
        // What it signs uses its algorithm: a sub-CA under it is signed with ECDSA-SHA384.
        const child = await createIntermediate(h, `${kind}-p256-sha384-child`, made.id);
        const text = opensslOk(["x509", "-noout", "-text"], child.certificatePem);
        expect(text).toContain("Signature Algorithm: ecdsa-with-SHA384");
      }
    },
  );

  // Regression test for a bug once in src/signer/algorithms.ts.
  it("SIGNATURE_ALGORITHM_MISMATCH names the field signature_algorithm in a BadRequest", async () => {
    const err = await expectRpcError(
      root({
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_RSA_2048,
        signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_ECDSA_WITH_SHA256,
      }),
    );
    expect(err.violations).toEqual([
      expect.objectContaining({
        field: "signature_algorithm",
        reason: "SIGNATURE_ALGORITHM_MISMATCH",
      }),
    ]);
  });

  it("unknown enum values are ENUM_VALUE_UNKNOWN on their field", async () => {
    await refused(
      () => root({ keyAlgorithm: 99 }),
      status.INVALID_ARGUMENT,
      "ENUM_VALUE_UNKNOWN",
      "key_algorithm",
    );
    await refused(
      () => root({ signatureAlgorithm: 99 }),
      status.INVALID_ARGUMENT,
      "ENUM_VALUE_UNKNOWN",
      "signature_algorithm",
    );
  });

  it.each(["root", "inter"] as const)(
    "%s: a TTL below 1 hour or above 30 years is TTL_INVALID",
    async (kind) => {
      const create = creators[kind];
      const ttl = (s: number, nanos = 0) => ({ seconds: String(s), nanos });
      for (const s of [1, 60, 3599, 30 * 365 * 86_400 + 1, 100 * 365 * 86_400]) {
        await refused(
          () => create({ ttl: ttl(s) }),
          status.INVALID_ARGUMENT,
          "TTL_INVALID",
          "ttl",
          "TTL_INVALID",
        );
      }
      // Zero, negative and fractional durations are not lifetimes at all.
      for (const d of [ttl(0), ttl(-3600), ttl(7200, 500)]) {
        await refused(() => create({ ttl: d }), status.INVALID_ARGUMENT, "DURATION_INVALID", "ttl");
      }
      // Exactly one hour is the minimum.
      const res = await create({ slug: `${kind}-one-hour`, ttl: ttl(3600) });
      const ca = (res as { certificateAuthority?: PbCa }).certificateAuthority!;
      expect(ca.notAfter!.getTime() - Date.now()).toBeLessThanOrEqual(3600_000);
      expect(ca.notAfter!.getTime() - Date.now()).toBeGreaterThan(3000_000);
    },
  );

  it("an unknown or missing parent is NOT_FOUND / INVALID_ARGUMENT", async () => {
    for (const ref of ["no-such-parent", "00000000-0000-4000-8000-000000000000"]) {
      await refused(
        () => inter({ parent: ref }),
        status.NOT_FOUND,
        "CERTIFICATE_AUTHORITY_NOT_FOUND",
      );
    }
    await refused(
      () => inter({ parent: "  " }),
      status.INVALID_ARGUMENT,
      "REFERENCE_MISSING",
      "parent_certificate_authority",
    );
  });
});
