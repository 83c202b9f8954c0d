/**
 * Credential changes between two server processes on one database (store/credential-changes.ts).
 * Each process caches token rows for 5 s; until stop 41 of 2026-12-06 a token revoked through
 * one process kept working through the other until its cached row expired. Now the revocation
 * is announced (NOTIFY after its commit) and the other process drops the row as it hears it:
 * the test waits for that state (the change counted as received by B), never for a duration,
 * and B's next call with the token is UNAUTHENTICATED.
 */

import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import { decodeCredentialChange, encodeCredentialChange } from "../../src/store/credential-changes";
import { rpcError } from "../certificates/helpers";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { waitFor } from "../support/wait";

describe("credential changes between two processes on one database", () => {
  let a: TestCertmint;
  let b: TestCertmint;

  beforeAll(async () => {
    a = await startTestCertmint();
    // The same database and data directory (the same admin token and key-encryption key).
    b = await startTestCertmint({ DATABASE_URL: a.db.url, CERTMINT_DATA_DIR: a.dataDir });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  const received = (h: TestCertmint, kind: string) =>
    h.running.credentialChangesReceived().get(kind) ?? 0;
  const listProfiles = (clients: TestCertmint["profiles"]) =>
    call(clients, "listCertificateProfiles", { pageSize: 1, pageToken: "" });

  it("a token revoked through A is refused by B as soon as B hears of it", async () => {
    // Both processes' listeners are connected.
    await waitFor("both credential listeners", async () => {
      const [row] = await a.db.query<{ n: string }>(
        `select count(*) as n from pg_stat_activity
          where datname = current_database() and query = 'LISTEN "certmint_credentials"'`,
      );
      return Number(row!.n) >= 2;
    });
    const created = await call(
      a.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug: "short-lived", role: Role.ROLE_AUDITOR },
      }),
    );
    const secret = created.secret;
    const onB = b.clientsAs(secret);
    // Cached by B.
    await listProfiles(onB.profiles);

    const revokedBefore = received(b, "token-revoked");
    await call(a.accessTokens, "revokeAccessToken", { accessToken: "short-lived" });
    await waitFor("B to hear of the revocation", async () => {
      return received(b, "token-revoked") > revokedBefore;
    });
    const err = await rpcError(listProfiles(onB.profiles));
    expect(err.code).toBe(status.UNAUTHENTICATED);
  });

  it("encodes every change so that another build reads it back, and ignores unknown ones", () => {
    for (const change of [
      { kind: "token-revoked", tokenId: "0193e3b2-0000-7000-8000-000000000001" },
      { kind: "token-created" },
      {
        kind: "certificate-revoked",
        fingerprintSha256: "ab".repeat(32),
        caId: "0193e3b2-0000-7000-8000-000000000002",
        certificateAuthority: false,
      },
      {
        kind: "certificate-revoked",
        fingerprintSha256: "cd".repeat(32),
        certificateAuthority: true,
      },
    ] as const) {
      expect(decodeCredentialChange(encodeCredentialChange(change))).toEqual(change);
    }
    expect(decodeCredentialChange("x something")).toBeUndefined();
    expect(decodeCredentialChange("")).toBeUndefined();
  });
});
