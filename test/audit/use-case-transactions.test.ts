import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRootCa } from "../../src/issuance/ca/create";
import { CaKeyring } from "../../src/issuance/ca/keyring";
import { updateCa } from "../../src/issuance/ca/update";
import { type Call, SYSTEM_ACTOR, systemCall } from "../../src/issuance/call";
import { etagOf } from "../../src/issuance/common/etag";
import type { IssuanceDeps } from "../../src/issuance/deps";
import { createPolicy } from "../../src/issuance/policies/create";
import { deletePolicy } from "../../src/issuance/policies/delete";
import { updatePolicy } from "../../src/issuance/policies/update";
import { createProfile } from "../../src/issuance/profiles/create";
import { deleteProfile } from "../../src/issuance/profiles/delete";
import type { NewProfileInput } from "../../src/issuance/profiles/inputs";
import { updateProfile } from "../../src/issuance/profiles/update";
import { KeyGenerator } from "../../src/signer";
import { type Database, migrate, openDatabase } from "../../src/store/database";
import { createStore } from "../../src/store/store";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

/**
 * The policy, profile and CA use cases write their audit record in the transaction of their
 * change: one success row per change, and none when the change fails (issue 6).
 */
describe("audit records of policy, profile and CA changes", () => {
  let db: TestDatabase;
  let database: Database;
  let deps: IssuanceDeps;
  let keys: KeyGenerator;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    database = await openDatabase({ databaseUrl: db.url, dataDir: "/nonexistent" });
    await migrate(database.orm);
    keys = new KeyGenerator({ workers: 1, queuePerCaller: 8 });
    deps = {
      store: createStore(database.orm),
      keyring: new CaKeyring(randomBytes(32)),
      keys,
      now: () => new Date(),
      crlValiditySeconds: 86_400,
    };
    await adminToken();
  });
  afterAll(async () => {
    await keys?.close();
    await database?.close();
    await db?.drop();
  });

  /** An admin token in force: every change's transaction holds its caller's row (caller.ts). */
  let adminId = "";
  const adminToken = async () => {
    if (adminId) return adminId;
    const id = randomUUID();
    const now = new Date();
    await deps.store.tokens.insert({
      id,
      slug: `t-${id.slice(0, 8)}`,
      description: "",
      role: "ADMIN",
      profileIds: [],
      secretHash: randomBytes(32),
      clientIdentity: null,
      clientIdentityType: null,
      clientCaId: null,
      clientCaSha256: null,
      creatorId: null,
      createdAt: now,
      expiresAt: new Date(now.getTime() + 86_400_000),
      revokedAt: null,
    });
    adminId = id;
    return id;
  };
  const call = (): Call => ({
    actor: { id: adminId, slug: "t", role: "ADMIN", profileIds: [] },
    method: "/x/Y",
    traceId: "r",
    peer: "p",
  });
  const records = (id: string) =>
    db.query<{ status_code: number; resource_type: string }>(
      "select status_code, resource_type from audit_record where resource_id = $1",
      [id],
    );
  const auditCount = async () =>
    Number((await db.query<{ n: string }>("select count(*) as n from audit_record"))[0]!.n);
  /** Runs a change that must fail with `reason`, and returns how many audit rows it wrote. */
  const failedWrites = async (reason: string, fn: () => Promise<unknown>) => {
    const before = await auditCount();
    await expect(fn()).rejects.toMatchObject({ name: "CertmintError", reason });
    return (await auditCount()) - before;
  };
  const expectOneSuccess = async (id: string, type: string) => {
    expect(await records(id)).toEqual([{ status_code: 0, resource_type: type }]);
  };

  it("policy create, update and delete each write one record; failures write none", async () => {
    const policy = await createPolicy(deps, call(), {
      slug: "p1",
      description: "",
      rules: {},
      preset: "TLS_SERVER",
    });
    await expectOneSuccess(policy.id, "certificate_policy");
    expect(
      await failedWrites("CERTIFICATE_POLICY_SLUG_TAKEN", () =>
        createPolicy(deps, call(), {
          slug: "p1",
          description: "",
          rules: {},
          preset: "TLS_SERVER",
        }),
      ),
    ).toBe(0);

    const update = { ref: policy.id, mask: ["description"], description: "d", rules: {} };
    const updated = await updatePolicy(deps, call(), { ...update, etag: etagOf(policy.version) });
    expect(updated.description).toBe("d");
    expect(await records(policy.id)).toHaveLength(2);
    expect(
      await failedWrites("ETAG_MISMATCH", () =>
        updatePolicy(deps, call(), { ...update, etag: etagOf(policy.version) }),
      ),
    ).toBe(0);

    const other = await createPolicy(deps, call(), {
      slug: "p2",
      description: "",
      rules: {},
      preset: "TLS_CLIENT",
    });
    expect(
      await failedWrites("ETAG_MISMATCH", () =>
        deletePolicy(deps, call(), { ref: other.id, etag: '"9"' }),
      ),
    ).toBe(0);
    await deletePolicy(deps, call(), { ref: other.id, etag: etagOf(other.version) });
    expect(await records(other.id)).toHaveLength(2);
    expect((await records(other.id)).every((r) => r.status_code === 0)).toBe(true);
  });

  it("profile create, update and delete each write one record; failures write none", async () => {
    const policy = await createPolicy(deps, call(), {
      slug: "pp",
      description: "",
      rules: {},
      preset: "TLS_SERVER",
    });
    const input: NewProfileInput = {
      slug: "prof",
      description: "",
      policy: policy.id,
      issuer: { kind: "SELF_SIGNED" },
      defaults: {},
      renewal: { autoRenew: false, renewBeforeDays: 0 },
      requireApproval: false,
    };
    const profile = await createProfile(deps, call(), input);
    await expectOneSuccess(profile.id, "certificate_profile");
    expect(
      await failedWrites("CERTIFICATE_PROFILE_SLUG_TAKEN", () =>
        createProfile(deps, call(), input),
      ),
    ).toBe(0);

    const { slug: _slug, ...draft } = { ...input, description: "d" };
    const update = { ref: profile.id, mask: ["description"], draft };
    await updateProfile(deps, call(), { ...update, etag: etagOf(profile.version) });
    expect(await records(profile.id)).toHaveLength(2);
    expect(
      await failedWrites("ETAG_MISMATCH", () =>
        updateProfile(deps, call(), { ...update, etag: etagOf(profile.version) }),
      ),
    ).toBe(0);

    expect(
      await failedWrites("ETAG_MISMATCH", () =>
        deleteProfile(deps, call(), { ref: profile.id, etag: '"1"' }),
      ),
    ).toBe(0);
    await deleteProfile(deps, call(), { ref: profile.id, etag: "" });
    expect(await records(profile.id)).toHaveLength(3);
  });

  it("CA create and update each write one record; failures write none", async () => {
    const input = {
      slug: "root",
      description: "",
      subject: { attributes: [{ type: "COMMON_NAME" as const, value: "Audit Root" }] },
    };
    const ca = await createRootCa(deps, call(), input);
    expect(ca.crlNumber).toBe("0");
    await expectOneSuccess(ca.id, "certificate_authority");
    expect(await failedWrites("CA_SLUG_TAKEN", () => createRootCa(deps, call(), input))).toBe(0);

    const update = { ca: ca.id, description: "d" };
    const updated = await updateCa(deps, call(), { ...update, etag: etagOf(ca.version) });
    expect(updated.version).toBe(ca.version + 1);
    expect(await records(ca.id)).toHaveLength(2);
    expect(
      await failedWrites("ETAG_MISMATCH", () =>
        updateCa(deps, call(), { ...update, etag: etagOf(ca.version) }),
      ),
    ).toBe(0);
  });

  it("a create that loses a slug race on the unique index writes no record", async () => {
    // As if a racing create had passed the slug check first: the pre-insert checks see nothing;
    // inside the transaction the slug is taken (the CA's check under its issuer's names lock,
    // the policy's unique index), and the record rolls back too.
    const racing: IssuanceDeps = {
      ...deps,
      store: {
        ...deps.store,
        policies: { ...deps.store.policies, slugTaken: async () => false },
        // A prototype, not a spread: the repository's methods are its class's.
        cas: Object.assign(Object.create(deps.store.cas), {
          slugTaken: async () => false,
          siblingSubjects: async () => [],
        }),
      },
    };
    const policy = { slug: "race", description: "", rules: {}, preset: "TLS_SERVER" as const };
    await createPolicy(deps, call(), policy);
    expect(
      await failedWrites("CERTIFICATE_POLICY_SLUG_TAKEN", () =>
        createPolicy(racing, call(), policy),
      ),
    ).toBe(0);
    const ca = {
      slug: "race-ca",
      description: "",
      subject: { attributes: [{ type: "COMMON_NAME" as const, value: "Race Root" }] },
    };
    await createRootCa(deps, call(), ca);
    expect(await failedWrites("CA_SLUG_TAKEN", () => createRootCa(racing, call(), ca))).toBe(0);
  });

  it("has no ambient default: what certmint does on its own is recorded as certmint's", async () => {
    // Before, a use case called outside a gRPC call ran with no actor and wrote no record
    // (fail open). A use case now takes its call; start-up tasks pass a system call.
    const before = await auditCount();
    const quiet = { slug: "quiet", description: "", rules: {}, preset: "TLS_SERVER" as const };
    const policy = await createPolicy(deps, systemCall("certmint/Test/CreatePolicy"), quiet);
    expect(await auditCount()).toBe(before + 1);
    expect(
      await db.query(
        "select actor_id, actor_slug, method from audit_record where resource_id = $1",
        [policy.id],
      ),
    ).toEqual([
      { actor_id: SYSTEM_ACTOR.id, actor_slug: "certmint", method: "certmint/Test/CreatePolicy" },
    ]);
  });
});
