/** Sealing CA private keys at rest, and loading the key-encryption key. */
import { randomBytes, sign, verify } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertmintError } from "../../src/errors";
import type { KeyAlgorithm } from "../../src/model/pki";
import { loadOrCreateKek, openPrivateKey, sealPrivateKey } from "../../src/signer";
import { kekIdBytes } from "../../src/signer/key-wrap";
import { KeyPool, TempDir } from "./helpers";

const keys = new KeyPool();
let dir: TempDir;
beforeAll(async () => {
  dir = await TempDir.create();
});
afterAll(() => dir?.remove());

function failure(f: () => unknown): CertmintError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CertmintError);
    return e as CertmintError;
  }
  throw new Error("expected a failure");
}

describe("sealPrivateKey / openPrivateKey", () => {
  it.each(["EC_P256", "RSA_2048", "ED25519"] as KeyAlgorithm[])(
    "round-trips a %s key",
    async (alg) => {
      const { privateKey, publicKey } = await keys.get(alg);
      const kek = randomBytes(32);
      const sealed = sealPrivateKey(kek, privateKey, "ca/root-1");
      // Format version 2 since stop 44 of 2026-12-06: the KEK's id follows the version octet.
      expect(sealed[0]).toBe(2);
      expect(sealed.subarray(1, 9).equals(kekIdBytes(kek))).toBe(true);
      const opened = openPrivateKey(kek, sealed, "ca/root-1");
      expect(opened.equals(privateKey)).toBe(true);
      const data = Buffer.from("proof");
      const hash = alg === "ED25519" ? null : "sha256";
      expect(verify(hash, data, publicKey, sign(hash, data, opened))).toBe(true);
    },
  );

  it("never contains the PKCS#8 DER or PEM text, and uses a fresh nonce", async () => {
    const { privateKey } = await keys.get("EC_P256");
    const kek = randomBytes(32);
    const a = sealPrivateKey(kek, privateKey, "ca/x");
    const b = sealPrivateKey(kek, privateKey, "ca/x");
    const pkcs8 = privateKey.export({ type: "pkcs8", format: "der" });
    for (const sealed of [a, b]) {
      expect(sealed.includes(pkcs8)).toBe(false);
      expect(sealed.includes(pkcs8.subarray(pkcs8.length - 32))).toBe(false); // the raw scalar region
      expect(sealed.toString("latin1")).not.toContain("PRIVATE KEY");
      expect(sealed.length).toBe(1 + 8 + 12 + pkcs8.length + 16);
    }
    expect(a.subarray(9, 21).equals(b.subarray(9, 21))).toBe(false);
  });

  it("fails with KEY_UNWRAP_FAILED on a wrong KEK, another CA id, or any tampering", async () => {
    const { privateKey } = await keys.get("EC_P256");
    const kek = randomBytes(32);
    const sealed = sealPrivateKey(kek, privateKey, "ca/a");
    const attempts: Array<() => unknown> = [
      () => openPrivateKey(randomBytes(32), sealed, "ca/a"),
      () => openPrivateKey(kek, sealed, "ca/b"),
      ...[1, 10, 22, sealed.length - 1].map((i) => () => {
        const t = Buffer.from(sealed);
        t[i] = (t[i] ?? 0) ^ 0x40;
        return openPrivateKey(kek, t, "ca/a");
      }),
      () => openPrivateKey(kek, sealed.subarray(0, 20), "ca/a"),
      () => openPrivateKey(kek, Buffer.concat([Buffer.from([1]), sealed.subarray(1)]), "ca/a"),
      () => openPrivateKey(kek, Buffer.concat([Buffer.from([3]), sealed.subarray(1)]), "ca/a"),
    ];
    const pkcs8Hex = privateKey.export({ type: "pkcs8", format: "der" }).toString("hex");
    for (const attempt of attempts) {
      const e = failure(attempt);
      expect(e.reason).toBe("KEY_UNWRAP_FAILED");
      expect(e.kind).toBe("failed_precondition");
      expect(e.message).not.toContain(pkcs8Hex.slice(0, 16));
      expect(e.message).not.toMatch(/PRIVATE KEY/);
    }
  });

  it("refuses a KEK of the wrong size", async () => {
    const { privateKey } = await keys.get("EC_P256");
    expect(failure(() => sealPrivateKey(randomBytes(16), privateKey, "ca/a")).reason).toBe(
      "KEK_INVALID",
    );
  });
});

describe("loadOrCreateKek", () => {
  it("creates a missing key file with mode 0600 (and its directory), then reads it back", async () => {
    const file = join(dir.path, "nested", "dir", "kek");
    const created = await loadOrCreateKek({ file, createIfMissing: true });
    expect(created.created).toBe(true);
    expect(created.key.length).toBe(32);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir.path, "nested", "dir"))).mode & 0o777).toBe(0o700);
    const again = await loadOrCreateKek({ file, createIfMissing: true });
    expect(again.created).toBe(false);
    expect(again.key.equals(created.key)).toBe(true);
    expect((await readFile(file, "utf8")).trim()).toBe(created.key.toString("base64"));
  });

  it("reads 32 raw bytes, or 44 base64 characters, from a file", async () => {
    const raw = randomBytes(32);
    const rawFile = await dir.file("kek.raw", raw);
    expect((await loadOrCreateKek({ file: rawFile, createIfMissing: false })).key.equals(raw)).toBe(
      true,
    );
    const b64File = await dir.file("kek.b64", `  ${raw.toString("base64")}\n`);
    expect((await loadOrCreateKek({ file: b64File, createIfMissing: false })).key.equals(raw)).toBe(
      true,
    );
  });

  it("reads a base64 value", async () => {
    const raw = randomBytes(32);
    expect(
      (
        await loadOrCreateKek({ base64: raw.toString("base64"), createIfMissing: false })
      ).key.equals(raw),
    ).toBe(true);
  });

  it.each([
    [
      "a short key file",
      async () => ({ file: await dir.file("short", randomBytes(16)), createIfMissing: true }),
    ],
    [
      "a 33-byte key file",
      async () => ({ file: await dir.file("long", randomBytes(33)), createIfMissing: true }),
    ],
    [
      "a short base64 value",
      async () => ({ base64: randomBytes(16).toString("base64"), createIfMissing: false }),
    ],
    [
      "a missing file without createIfMissing",
      async () => ({ file: join(dir.path, "absent"), createIfMissing: false }),
    ],
    [
      "both a file and a base64 value",
      async () => ({
        file: "x",
        base64: randomBytes(32).toString("base64"),
        createIfMissing: false,
      }),
    ],
    ["no source at all", async () => ({ createIfMissing: true })],
  ])("refuses %s with a clear message", async (_name, source) => {
    const err = await loadOrCreateKek(await source()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CertmintError);
    expect((err as CertmintError).reason).toBe("KEK_INVALID");
    expect((err as CertmintError).kind).toBe("failed_precondition");
  });
});
