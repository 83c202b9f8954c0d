/**
 * An admin's ACME lists and revocations on the embedded database (PGlite, one session): every
 * read of a revocation goes through its transaction (src/acme/admin), or it would wait for the
 * session its own transaction holds.
 */
import type { Client } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateRootCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  AcmeAccountStatus,
  ListAcmeAccountsRequest,
  ListAcmeExternalAccountKeysRequest,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import { type CertmintClients, call, makeClients } from "../support/harness";
import { type ServerProcess, START_LIMIT_MS, startServerProcess } from "../support/server-process";
import { registerWithEab } from "./admin-helpers";
import { acmeSettings, createAcmeProfile } from "./helpers";

describe("an admin's ACME keys and accounts on the embedded database", {
  timeout: 2 * START_LIMIT_MS,
}, () => {
  let server: ServerProcess;
  let c: CertmintClients;
  let settings: Awaited<ReturnType<typeof acmeSettings>>;
  let directory: string;

  beforeAll(async () => {
    settings = await acmeSettings();
    server = await startServerProcess({ ...settings.env, DATABASE_URL: "" });
    const port = /"port":(\d+),"tls":true,"msg":"serving ACME"/.exec(server.output())?.[1];
    expect(port).toBeDefined();
    directory = `https://127.0.0.1:${port}/acme/web-acme/directory`;
    c = makeClients(server.address, server.adminToken());
    await call(
      c.authorities,
      "createRootCertificateAuthority",
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug: "root",
        subject: { commonName: "Embedded Root" },
      }),
    );
    await createAcmeProfile(c, "web-acme");
  }, 2 * START_LIMIT_MS);
  afterAll(async () => {
    for (const client of Object.values(c ?? {})) (client as Client).close();
    await server?.stop();
  });

  it("lists, revokes a bound key with its account, revokes an account, and refuses both after", async () => {
    const key = await call(c.profiles, "createAcmeExternalAccountKey", {
      certificateProfile: "web-acme",
    });
    const bound = await registerWithEab(directory, settings.tlsCaFile, key);
    expect(bound.r.status, bound.r.text).toBe(201);
    const other = await call(c.profiles, "createAcmeExternalAccountKey", {
      certificateProfile: "web-acme",
    });
    const second = await registerWithEab(directory, settings.tlsCaFile, other);
    expect(second.r.status, second.r.text).toBe(201);

    const keys = await call(
      c.profiles,
      "listAcmeExternalAccountKeys",
      ListAcmeExternalAccountKeysRequest.fromPartial({
        certificateProfile: "web-acme",
        pageSize: 1,
      }),
    );
    expect(keys.acmeExternalAccountKeys.map((k) => [k.keyId, k.acmeAccountId])).toEqual([
      [key.keyId, bound.accountId],
    ]);
    const rest = await call(
      c.profiles,
      "listAcmeExternalAccountKeys",
      ListAcmeExternalAccountKeysRequest.fromPartial({
        certificateProfile: "web-acme",
        pageSize: 1,
        pageToken: keys.nextPageToken,
      }),
    );
    expect(rest.acmeExternalAccountKeys.map((k) => k.keyId)).toEqual([other.keyId]);

    const revokedKey = await call(c.profiles, "revokeAcmeExternalAccountKey", { keyId: key.keyId });
    expect(revokedKey.revokedAcmeAccount?.status).toBe(
      AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED,
    );
    const revokedAccount = await call(c.profiles, "revokeAcmeAccount", {
      acmeAccount: second.accountId!,
    });
    expect(revokedAccount.acmeAccount?.status).toBe(AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED);

    const accounts = await call(
      c.profiles,
      "listAcmeAccounts",
      ListAcmeAccountsRequest.fromPartial({ certificateProfile: "web-acme" }),
    );
    expect(accounts.acmeAccounts.map((a) => [a.id, a.status])).toEqual([
      [bound.accountId, AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED],
      [second.accountId, AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED],
    ]);
    for (const { c: client } of [bound, second]) {
      const order = await client.newOrder(["refused.acme.localhost"]);
      expect(order.status, order.text).toBe(401);
    }
  });
});
