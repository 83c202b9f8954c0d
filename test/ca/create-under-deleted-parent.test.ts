/**
 * CreateIntermediateCertificateAuthority whose parent is deleted while the child is being made:
 * NOT_FOUND naming the parent, nothing stored. Until stop 40 of 2026-12-05 the child's insert
 * failed on its foreign key and the call was INTERNAL (an outside probe, 5 of 8 rounds).
 *
 * Deterministic: the test deletes the parent in a transaction it holds open, waits until the
 * child's insert waits for that row, then commits.
 */
import { status } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateIntermediateCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { createRoot } from "../support/fixtures";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import { waitFor } from "../support/wait";

const createChild = (h: TestCertmint, slug: string, parent: string) =>
  call(
    h.authorities,
    "createIntermediateCertificateAuthority",
    CreateIntermediateCertificateAuthorityRequest.fromPartial({
      slug,
      parentCertificateAuthority: parent,
      subject: { commonName: slug },
    }),
  );

describe("a CA created under a parent being deleted", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint();
    await createRoot(h, "root");
    await createChild(h, "parent", "root");
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("is NOT_FOUND (the parent), with no row and no INTERNAL", async () => {
    const [parent] = await h.db.query<{ id: string }>(
      "select id from certificate_authority where slug = 'parent'",
    );
    const holder = new Client({ connectionString: h.db.url });
    await holder.connect();
    try {
      await holder.query("begin");
      await holder.query("delete from certificate_authority where id = $1", [parent!.id]);
      let settled = false;
      const child = expectRpcError(createChild(h, "orphan", "parent"));
      void child.then(
        () => {
          settled = true;
        },
        () => {
          settled = true;
        },
      );
      await waitFor("the child's insert to wait for the parent's row (or to finish)", async () => {
        if (settled) return true;
        const [w] = await h.db.query<{ n: string }>(
          `select count(*) as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'`,
        );
        return Number(w!.n) > 0;
      });
      await holder.query("commit");
      const err = await child;
      expect(err).toMatchObject({
        code: status.NOT_FOUND,
        reason: "CERTIFICATE_AUTHORITY_NOT_FOUND",
      });
      expect(err.message).toContain("parent certificate authority was deleted");
    } finally {
      await holder.end();
    }
    expect(await h.db.query("select id from certificate_authority where slug = 'orphan'")).toEqual(
      [],
    );
    expect(h.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
  });
});
