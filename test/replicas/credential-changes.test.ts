/**
 * Credential changes between two server processes on one database (store/credential-changes.ts).
 * Each process caches token rows for 5 s; until stop 41 of 2026-12-06 a token revoked through
 * one process kept working through the other until its cached row expired. Now the revocation
 * is announced (NOTIFY after its commit) and the other process drops the row as it hears it:
 * the test waits for that state (the change counted as received by B), never for a duration,
 * and B's next call with the token is UNAUTHENTICATED.
 */

import { randomBytes } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import { MessageAuthenticator } from "../../src/signer";
import { decodeCredentialChange, encodeCredentialChange } from "../../src/store/credential-changes";
import { rpcError } from "../certificates/helpers";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { waitFor } from "../support/wait";

const mac = new MessageAuthenticator(randomBytes(32), "credential-changes");
const otherMac = new MessageAuthenticator(randomBytes(32), "credential-changes");

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
    await call(a.accessTokens, "revokeAccessToken", {
      revokeCreatedTokens: false,
      accessToken: "short-lived",
    });
    await waitFor("B to hear of the revocation", async () => {
      return received(b, "token-revoked") > revokedBefore;
    });
    const err = await rpcError(listProfiles(onB.profiles));
    expect(err.code).toBe(status.UNAUTHENTICATED);
    // A applied its own revocation when it made it, and skips its announcement: applied again,
    // a certificate revocation's dropped the CRL signed meanwhile, and a fetch right after the
    // revocation got yet another one (a busy test run, stop 41).
    await waitFor("A's listener to have had the same round", async () => {
      const created = await call(
        b.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: { slug: `marker-${Date.now()}`, role: Role.ROLE_AUDITOR },
        }),
      );
      return created.secret !== "" && received(a, "token-created") > 0;
    });
    expect(received(a, "token-revoked")).toBe(0);
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
      const payload = encodeCredentialChange(change, mac);
      expect(decodeCredentialChange(payload, mac)).toEqual(change);
      // Another database's key, or a payload altered: not a change.
      expect(decodeCredentialChange(payload, otherMac)).toBeUndefined();
      expect(decodeCredentialChange(payload.replace(/^./, "x"), mac)).toBeUndefined();
    }
    expect(decodeCredentialChange("x something", mac)).toBeUndefined();
    expect(decodeCredentialChange("", mac)).toBeUndefined();
  });

  it("ignores and counts a change another database user sends unsigned", async () => {
    // A review of stop 41: anyone who may connect may NOTIFY on any channel of the database.
    const rejectedBefore = received(b, "rejected");
    const revokedBefore = received(b, "token-revoked");
    await a.db.query("select pg_notify('certmint_credentials', $1)", [
      "c " + "ab".repeat(32) + " 0193e3b2-0000-7000-8000-000000000009 1",
    ]);
    await waitFor("B to count the forged change", async () => {
      return received(b, "rejected") > rejectedBefore;
    });
    expect(received(b, "token-revoked")).toBe(revokedBefore);
    expect(received(b, "certificate-revoked")).toBe(0);
    expect(
      b.logs.some((l) =>
        String(l.msg).includes("that certmint did not sign: another database user"),
      ),
    ).toBe(true);
  });
});
