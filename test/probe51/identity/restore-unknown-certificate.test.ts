/**
 * Probe 51 (IDENTITY): a certificate certmint's own CA signed but certmint's records do not hold,
 * presented as an mTLS client certificate. README "Client certificate bindings": a certificate
 * certmint issued authenticates only as its own token (its owner, or an admin's certificate made
 * after the binding), while "certificates of outside CAs are trusted as their CA issued them".
 * README "Backups, and what a restore means": a restore loses what happened after the backup,
 * "certificates issued since are unknown to it". So after a restore, a certificate an issuer
 * requested after the backup, for a name bound to an admin token, is signed by a certmint CA and
 * unknown to certmint's records. It must not become the admin: certmint's CAs sign only through
 * certmint, so a certificate of theirs that certmint does not know has no owner to vouch for it.
 *
 * The compiled server, a real `pg_dump -Fc` of its database and a `pg_restore` into a new one
 * (as probe50's pg-dump-restore does), then the server started on the restore with mTLS.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest } from "../../../gen/ts/certmint/v1/access_token_service";
import { type LiveCertmint, Role, startLive, token } from "../../probe49/api/live";
import { call, expectRpcError } from "../../support/harness";
import type { ClientCert } from "../../support/mtls-server";
import { TempDir } from "../../support/openssl";
import { createTestDatabase, type TestDatabase } from "../../support/postgres";
import {
  bindDnsName,
  createSvcPki,
  issueForNames,
  type MtlsProcess,
  PROFILE,
  startMtlsProcess,
} from "./svc-pki";

const ADMIN_NAME = "ops.svc.example";

function pgTool(command: string, args: string[]) {
  const r = spawnSync(command, args, { encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stderr: r.stderr };
}

describe("probe51 identity: after a restore, a certmint-signed certificate certmint does not know", () => {
  const dir = new TempDir();
  let live: LiveCertmint | undefined;
  let restored: TestDatabase | undefined;
  let onRestore: MtlsProcess | undefined;
  /** Requested by the issuer before the dump, and after it. */
  let before: ClientCert;
  let after: ClientCert;

  const createAdminOver = (server: MtlsProcess, cert: ClientCert, slug: string) =>
    call(
      server.over(cert).accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({ accessToken: { slug, role: Role.ROLE_ADMIN } }),
    );

  beforeAll(async () => {
    live = await startLive();
    const rootPem = await createSvcPki(live);
    await bindDnsName(live, "ops-admin", Role.ROLE_ADMIN, ADMIN_NAME);
    const issuer = await token(live, "team", Role.ROLE_ISSUER, [PROFILE]);

    before = await issueForNames(issuer.clients, [ADMIN_NAME]);
    // The backup, taken while the server serves (README: pg_dump reads one snapshot).
    const dumpFile = join(dir.path, "certmint.dump");
    const dump = pgTool("pg_dump", ["-Fc", "-f", dumpFile, live.db.url]);
    expect(dump.status, dump.stderr).toBe(0);
    after = await issueForNames(issuer.clients, [ADMIN_NAME]);

    // Before any restore: both are the issuer's, and neither is the admin.
    const first = await startMtlsProcess({
      databaseUrl: live.db.url,
      kek: live.kek,
      dataDir: live.server.dataDir,
      clientCaPem: rootPem,
    });
    try {
      for (const cert of [before, after]) {
        expect(await expectRpcError(createAdminOver(first, cert, "pre-restore"))).toMatchObject({
          code: status.UNAUTHENTICATED,
          reason: "CLIENT_CERTIFICATE_NOT_BOUND",
        });
      }
    } finally {
      await first.stop();
    }

    // The restore: the original goes away, its backup comes back in a new database.
    const kek = live.kek;
    await live.stop();
    live = undefined;
    restored = await createTestDatabase({ prefix: "certmint_p51rest" });
    const run = pgTool("pg_restore", [
      "--no-owner",
      "--exit-on-error",
      "-d",
      restored.url,
      dumpFile,
    ]);
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: "" });
    // Another machine: a data directory of its own (certmint creates it).
    onRestore = await startMtlsProcess({
      databaseUrl: restored.url,
      kek,
      dataDir: join(dir.path, "data-restored"),
      clientCaPem: rootPem,
    });
  }, 300_000);

  afterAll(async () => {
    await onRestore?.stop();
    await live?.stop();
    await restored?.drop();
    dir.remove();
  });

  it("the issuer's certificate from before the backup is still not the admin", async () => {
    expect(await expectRpcError(createAdminOver(onRestore!, before, "by-before"))).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "CLIENT_CERTIFICATE_NOT_BOUND",
    });
    expect(await restored!.query("select 1 from access_token where slug = 'by-before'")).toEqual(
      [],
    );
  });

  it("the issuer's certificate from after the backup, unknown to the restore, is not the admin either", async () => {
    const outcome = await createAdminOver(onRestore!, after, "by-after").then(
      (res) => ({ code: status.OK, reason: "", created: res.accessToken?.slug }),
      async (err) => {
        const e = await expectRpcError(Promise.reject(err));
        return { code: e.code, reason: e.reason ?? "" };
      },
    );
    expect(outcome, JSON.stringify(outcome)).toMatchObject({ code: status.UNAUTHENTICATED });
    expect(await restored!.query("select 1 from access_token where slug = 'by-after'")).toEqual([]);
  });
});
