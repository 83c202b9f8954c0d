/**
 * CreateAccessToken with a client certificate binding racing DeleteCertificateAuthority of the
 * CA it names (src/issuance/access-tokens/create.ts holdBindingCa). An outside probe of stop 45
 * (2026-12-06, F7) got both to answer OK: tokens in force bound to a CA that no longer existed
 * (access_token.client_ca_id has no foreign key; the delete's count of bound tokens and the
 * token's insert did not exclude each other). Now the insert's transaction holds the CA's row
 * FOR KEY SHARE: one of the two loses cleanly, whichever order.
 *
 * Deterministic: the test holds a lock with its own PostgreSQL transaction, waits until the
 * server's statement waits for it (pg_stat_activity), then lets go.
 */
import { status } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClientCertificateIdentityType,
  CreateAccessTokenRequest,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import { createRoot } from "../support/fixtures";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import { waitFor } from "../support/wait";

const URI_SAN = ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_URI_SAN;

describe("a binding's CA deleted while the token is created", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint();
  });
  afterAll(async () => {
    await h?.stop();
  });

  const createBound = (slug: string, ca: string) =>
    call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug,
          role: Role.ROLE_AUDITOR,
          clientCertificateBinding: {
            identityType: URI_SAN,
            value: `spiffe://bind.example/${slug}`,
            certificateAuthority: ca,
          },
        },
      }),
    );

  /** Tokens in force whose binding names a CA that does not exist (the documented invariant). */
  const orphans = async () =>
    h.db.query<{ slug: string }>(
      `select t.slug from access_token t
       where t.client_ca_id is not null and t.revoked_at is null and t.expires_at > now()
         and not exists (select 1 from certificate_authority c where c.id = t.client_ca_id)`,
    );

  const lockWaits = async (pattern: string) =>
    Number(
      (
        await h.db.query<{ n: string }>(
          `select count(*) as n from pg_stat_activity
           where datname = current_database() and wait_event_type = 'Lock' and query ilike $1`,
          [pattern],
        )
      )[0]!.n,
    );

  async function settledOrWaiting(
    answer: Promise<unknown>,
    pattern: string,
  ): Promise<"settled" | "waiting"> {
    let settled = false;
    answer.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    let waiting = false;
    await waitFor(`the call to answer or to wait for a lock (${pattern})`, async () => {
      if (settled) return true;
      waiting = (await lockWaits(pattern)) > 0;
      return waiting;
    });
    return settled && !waiting ? "settled" : "waiting";
  }

  async function holder(): Promise<Client> {
    const c = new Client({ connectionString: h.db.url });
    await c.connect();
    await c.query("begin");
    return c;
  }

  it("the delete first: the create waits for it and is refused CERTIFICATE_AUTHORITY_NOT_FOUND", async () => {
    const ca = await createRoot(h, "bind-first-deleted");
    const hold = await holder();
    try {
      // A deletion in progress (its checks passed: nothing bound to the CA yet).
      await hold.query("delete from certificate_authority where id = $1", [ca.id]);
      const create = createBound("bound-after-delete", ca.slug);
      create.catch(() => {});
      // Until stop 45 the create did not wait: it answered OK, bound to a CA then deleted.
      expect(await settledOrWaiting(create, "%for key share%")).toBe("waiting");
      await hold.query("commit");
      const err = await expectRpcError(create);
      expect(err).toMatchObject({
        code: status.NOT_FOUND,
        reason: "CERTIFICATE_AUTHORITY_NOT_FOUND",
      });
      expect(err.message).toContain("nothing was stored");
      const rows = await h.db.query("select id from access_token where slug = $1", [
        "bound-after-delete",
      ]);
      expect(rows).toEqual([]);
      expect(await orphans()).toEqual([]);
    } finally {
      await hold.end();
    }
  });

  it("the create first: the delete waits for it and is refused CA_IN_USE", async () => {
    const ca = await createRoot(h, "bind-first-created");
    const slug = "bound-before-delete";
    const hold = await holder();
    try {
      // An uncommitted token with the same slug: the create's insert waits on the unique index,
      // after its transaction took the CA's row FOR KEY SHARE.
      await hold.query(
        `insert into access_token select * from jsonb_populate_record(null::access_token,
           (select to_jsonb(a) || jsonb_build_object('id', gen_random_uuid(), 'slug', $1::text,
              'secret_hash', sha256(random()::text::bytea), 'secret_salt', null)
            from access_token a order by created_at limit 1))`,
        [slug],
      );
      const create = createBound(slug, ca.slug);
      create.catch(() => {});
      await waitFor(
        "the create to wait on the slug",
        async () => (await lockWaits('insert into "access_token"%')) > 0,
      );
      const del = call(h.authorities, "deleteCertificateAuthority", {
        certificateAuthority: ca.id,
        etag: "",
      });
      del.catch(() => {});
      // Until stop 45 the delete answered OK at once (no bound token committed yet).
      expect(await settledOrWaiting(del, "%certificate_authority%for update%")).toBe("waiting");
      await hold.query("rollback");
      const created = await create;
      expect(created.accessToken!.clientCertificateBinding!.certificateAuthority).toBe(ca.id);
      const err = await expectRpcError(del);
      expect(err).toMatchObject({ code: status.FAILED_PRECONDITION, reason: "CA_IN_USE" });
      expect(err.message).toContain(`access token "${slug}"`);
      const [row] = await h.db.query("select id from certificate_authority where id = $1", [ca.id]);
      expect(row).toBeDefined();
      expect(await orphans()).toEqual([]);
    } finally {
      await hold.end();
    }
  });
});
