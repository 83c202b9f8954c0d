import { randomBytes } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateProfile,
  EnrollmentMethod,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import { cliSession } from "../cli/cli";
import { createProfileRows } from "../support/fixtures";
import { call, expectRpcError } from "../support/harness";
import {
  type AcmeServer,
  lastLine,
  lego,
  legoOk,
  readState,
  requireLego,
  startAcmeServer,
  stateDir,
  trustForLego,
  verifyBundle,
} from "./helpers";

const ACME = "urn:ietf:params:acme:error:";

/**
 * External Account Binding (RFC 8555 7.3.4): an admin makes keys with
 * CreateAcmeExternalAccountKey; a profile with acme.require_external_account_binding accepts
 * only accounts bound with one of its keys, each key once.
 */
describe("ACME External Account Binding", () => {
  let s: AcmeServer;
  const count = async (table: string) =>
    Number((await s.h.db.query<{ n: string }>(`select count(*) as n from ${table}`))[0]!.n);

  beforeAll(async () => {
    requireLego();
    s = await startAcmeServer();
    trustForLego(s.tlsCaFile);
    const updated = await call(s.h.profiles, "updateCertificateProfile", {
      certificateProfile: CertificateProfile.fromPartial({
        slug: "web-acme",
        acme: { requireExternalAccountBinding: true },
      }),
      updateMask: ["acme.require_external_account_binding"],
    });
    expect(updated.certificateProfile!.acme).toEqual({ requireExternalAccountBinding: true });
  });
  afterAll(async () => {
    await s?.h.stop();
  });

  const base = (dir: string) => ["-server", s.directory(), "-dir", dir];

  it("refuses an account without a binding (externalAccountRequired), writing nothing", async () => {
    const accounts = await count("acme_account");
    const r = await lego([...base(stateDir()), "register"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${ACME}externalAccountRequired`);
    expect(await count("acme_account")).toBe(accounts);
  });

  it("binds an account with an admin's key, once; a wrong MAC or a used key is refused", async () => {
    const key = await call(s.h.profiles, "createAcmeExternalAccountKey", {
      certificateProfile: "web-acme",
    });
    expect(key.hmacKey).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits, base64url
    const accounts = await count("acme_account");

    const forged = await lego([
      ...base(stateDir()),
      "-eab-kid",
      key.keyId,
      "-eab-hmac",
      randomBytes(32).toString("base64url"),
      "register",
    ]);
    expect(forged.code).not.toBe(0);
    expect(forged.stderr).toContain(`${ACME}unauthorized`);
    expect(await count("acme_account")).toBe(accounts);

    // As README "ACME" shows it: the HMAC key in the environment, where `ps` does not show it.
    const dir = stateDir();
    const url = lastLine(
      await legoOk([...base(dir), "-eab-kid", key.keyId, "register"], {
        LEGO_EAB_HMAC: key.hmacKey,
      }),
    );
    const id = url.split("/").at(-1)!;
    const [row] = await s.h.db.query<{ eab_key_id: string }>(
      `select eab_key_id from acme_account where id = $1`,
      [id],
    );
    expect(row?.eab_key_id).toBe(key.keyId);
    const [bound] = await s.h.db.query<{ account_id: string }>(
      `select account_id from acme_eab_key where key_id = $1`,
      [key.keyId],
    );
    expect(bound?.account_id).toBe(id);

    // The bound account issues as any other.
    await legoOk([
      ...base(dir),
      "-domains",
      "bound.acme.localhost",
      "-http-port",
      String(s.httpPort),
      "obtain",
    ]);
    verifyBundle(readState(dir, "cert.pem"), s.rootPem);

    // The key is spent: a second account cannot use it.
    const reused = await lego([
      ...base(stateDir()),
      "-eab-kid",
      key.keyId,
      "-eab-hmac",
      key.hmacKey,
      "register",
    ]);
    expect(reused.code).not.toBe(0);
    expect(reused.stderr).toContain("bound to another account");
    expect(await count("acme_account")).toBe(accounts + 1);
    // Without the HMAC key, nothing about the key is learned: not that it is bound (until stop
    // 48 of 2026-12-06 "bound" was answered before the MAC was checked).
    const guessed = await lego([
      ...base(stateDir()),
      "-eab-kid",
      key.keyId,
      "-eab-hmac",
      randomBytes(32).toString("base64url"),
      "register",
    ]);
    expect(guessed.code).not.toBe(0);
    expect(guessed.stderr).toContain("MAC does not verify");
    expect(guessed.stderr).not.toContain("bound");
  });

  it("the CLI sets the requirement and makes keys that bind an account", async () => {
    const cli = cliSession(s.h.address, s.h.dataDir);
    try {
      const off = await cli.json<{ acme: unknown }>([
        "profile",
        "update",
        "web-acme",
        "--no-acme-require-eab",
      ]);
      expect(off.acme).toEqual({}); // proto3 JSON leaves false out
      const on = await cli.json<{ acme: unknown }>([
        "profile",
        "update",
        "web-acme",
        "--acme-require-eab",
      ]);
      expect(on.acme).toEqual({ requireExternalAccountBinding: true });
      const key = await cli.json<{ keyId: string; hmacKey: string }>([
        "profile",
        "acme-key",
        "web-acme",
      ]);
      const dir = stateDir();
      await legoOk([...base(dir), "-eab-kid", key.keyId, "-eab-hmac", key.hmacKey, "register"]);
      const [bound] = await s.h.db.query<{ account_id: string | null }>(
        `select account_id from acme_eab_key where key_id = $1`,
        [key.keyId],
      );
      expect(bound?.account_id).toBeTruthy();
    } finally {
      cli.remove();
    }
  });

  it("makes keys only for ACME profiles, and ACME settings only on them", async () => {
    await createProfileRows(s.h, { slug: "api-only" });
    const keys = await count("acme_eab_key");
    const err = await expectRpcError(
      call(s.h.profiles, "createAcmeExternalAccountKey", { certificateProfile: "api-only" }),
    );
    expect({ code: err.code, reason: err.reason }).toEqual({
      code: status.FAILED_PRECONDITION,
      reason: "PROFILE_NOT_ACME",
    });
    expect(await count("acme_eab_key")).toBe(keys);
    const missing = await expectRpcError(
      call(s.h.profiles, "createAcmeExternalAccountKey", { certificateProfile: "nope" }),
    );
    expect(missing.code).toBe(status.NOT_FOUND);

    const setting = await expectRpcError(
      call(s.h.profiles, "updateCertificateProfile", {
        certificateProfile: CertificateProfile.fromPartial({
          slug: "api-only",
          enrollmentMethod: EnrollmentMethod.ENROLLMENT_METHOD_API,
          acme: { requireExternalAccountBinding: true },
        }),
        updateMask: ["acme"],
      }),
    );
    expect(setting.violations.map((v) => [v.field, v.reason])).toEqual([
      ["certificate_profile.acme.require_external_account_binding", "ACME_SETTING_WITHOUT_ACME"],
    ]);
  });
});
