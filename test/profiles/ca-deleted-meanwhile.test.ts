/**
 * CreateCertificateProfile and UpdateCertificateProfile naming a CA that DeleteCertificateAuthority
 * deletes meanwhile are NOT_FOUND CERTIFICATE_AUTHORITY_NOT_FOUND "(deleted meanwhile)", as a
 * policy deleted meanwhile is, and as the call is answered had it come after the deletion. Until
 * stop 45 of 2026-12-06 the profile's write hit the CA's foreign key and was answered INTERNAL
 * (an outside probe). Deterministic: the test deletes the CA in a transaction it holds open,
 * waits until the call's write waits for that row, then commits.
 */
import { status } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificatePolicyPreset as Preset } from "../../gen/ts/certmint/v1/certificate_policy_service";
import { countRows, createPolicyRpc, webPolicy } from "../policies/helpers";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import { waitFor } from "../support/wait";
import { byCa, createProfileRpc, createRootCa, profileMessage } from "./helpers";

describe("a profile's CA deleted while the profile is written", () => {
  let h: TestCertmint;
  let holder: Client;

  beforeAll(async () => {
    h = await startTestCertmint();
    await createPolicyRpc(h, webPolicy("web"), Preset.CERTIFICATE_POLICY_PRESET_TLS_SERVER);
    holder = new Client({ connectionString: h.db.url });
    await holder.connect();
  });
  afterAll(async () => {
    await holder?.end();
    await h?.stop();
  });

  /** Runs `write` while the test's open transaction holds the CA deleted, then commits it. */
  async function withCaDeleting<T>(caId: string, write: () => Promise<T>): Promise<T> {
    await holder.query("begin");
    try {
      await holder.query("delete from certificate_authority where id = $1", [caId]);
      let settled = false;
      const pending = write();
      void pending.then(
        () => {
          settled = true;
        },
        () => {
          settled = true;
        },
      );
      await waitFor("the profile's write to wait for the CA's row (or to end)", async () => {
        if (settled) return true;
        const [w] = await h.db.query<{ n: string }>(
          `select count(*) as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'
              and position('"certificate_profile"' in query) > 0`,
        );
        return Number(w!.n) > 0;
      });
      await holder.query("commit");
      return await pending;
    } catch (err) {
      await holder.query("rollback").catch(() => undefined);
      throw err;
    }
  }

  it("CreateCertificateProfile is NOT_FOUND and stores nothing", async () => {
    const ca = await createRootCa(h, "going");
    const err = await withCaDeleting(ca.id, () =>
      expectRpcError(
        call(h.profiles, "createCertificateProfile", {
          certificateProfile: profileMessage({
            slug: "on-going",
            certificatePolicy: "web",
            issuer: byCa("going"),
          }),
        }),
      ),
    );
    expect(err).toMatchObject({
      code: status.NOT_FOUND,
      reason: "CERTIFICATE_AUTHORITY_NOT_FOUND",
    });
    expect(err.message).toBe('no certificate authority "going" (deleted meanwhile)');
    expect(await countRows(h, "certificate_profile", "slug = 'on-going'")).toBe(0);
    expect(await countRows(h, "certificate_authority", `id = '${ca.id}'`)).toBe(0);
  });

  it("UpdateCertificateProfile moving a profile onto it is NOT_FOUND and changes nothing", async () => {
    const stays = await createRootCa(h, "stays");
    const going = await createRootCa(h, "going-too");
    const profile = await createProfileRpc(h, {
      slug: "mover",
      certificatePolicy: "web",
      issuer: byCa("stays"),
    });
    const err = await withCaDeleting(going.id, () =>
      expectRpcError(
        call(h.profiles, "updateCertificateProfile", {
          certificateProfile: profileMessage({
            slug: "mover",
            certificatePolicy: "web",
            issuer: byCa(going.id),
          }),
          updateMask: ["certificate_authority"],
        }),
      ),
    );
    expect(err).toMatchObject({
      code: status.NOT_FOUND,
      reason: "CERTIFICATE_AUTHORITY_NOT_FOUND",
    });
    expect(err.message).toBe(`no certificate authority "${going.id}" (deleted meanwhile)`);
    const [row] = await h.db.query<{ ca_id: string; version: number }>(
      "select ca_id, version from certificate_profile where slug = 'mover'",
    );
    expect(row).toEqual({ ca_id: stays.id, version: 1 });
    expect(profile.etag).toBe('"1"');
  });
});
