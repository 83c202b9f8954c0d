/**
 * Helpers of the stop-50 outside probe of an operator's data lifecycle (backups, restores, KEK
 * rotation, moving the embedded data directory, upgrades): the compiled rotation command as
 * `make rotate-kek` runs it, the CRL and OCSP answers of a live server read with openssl, and
 * the sealed key bytes of a database.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import { join } from "node:path";
import { expect } from "vitest";
import { openssl, opensslOk, type TempDir } from "../../support/openssl";
import { ROOT } from "../../support/server-process";

/** The compiled rotation command (`make rotate-kek` and `npm run rotate-kek` run it). */
export const ROTATE_ENTRY = join(ROOT, "dist", "src", "kek-rotation", "main.js");

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A started rotation: its process, and its outcome once it ends. */
export function startRotation(
  env: Record<string, string>,
  args: string[],
): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [ROTATE_ENTRY, ...args], {
    cwd: ROOT,
    env: { ...process.env, CERTMINT_LOG_FORMAT: "json", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += d;
  });
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const done = new Promise<Run>((resolve) =>
    child.on("close", (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done };
}

export const rotate = (env: Record<string, string>, args: string[]) =>
  startRotation(env, args).done;

/** The CRL of `caId` from the publication port, verified by openssl against `caFile`. */
export async function fetchCrl(
  base: string,
  caId: string,
  caFile: string,
  tmp: TempDir,
): Promise<{ text: string; number: bigint }> {
  const res = await fetch(`${base}/crl/${caId}.crl`);
  expect(res.status).toBe(200);
  const file = tmp.file(`crl-${caId}.der`, Buffer.from(await res.arrayBuffer()));
  const verified = openssl(["crl", "-inform", "DER", "-in", file, "-CAfile", caFile, "-noout"]);
  expect(verified.stdout + verified.stderr).toMatch(/verify OK/);
  const text = opensslOk(["crl", "-inform", "DER", "-in", file, "-noout", "-text"]);
  const number = /X509v3 CRL Number:\s*\n\s*(\S+)/.exec(text)![1]!;
  return { text, number: BigInt(number) };
}

/** What the OCSP responder at `url` says of `leafPem` (issued by `issuerPem`): good, revoked, ... */
export function ocspStatus(
  url: string,
  issuerPem: string,
  leafPem: string,
  caFile: string,
  tmp: TempDir,
): string {
  const out = openssl([
    "ocsp",
    "-issuer",
    tmp.file("ocsp-issuer.pem", issuerPem),
    "-cert",
    tmp.file("ocsp-leaf.pem", leafPem),
    "-url",
    url,
    "-CAfile",
    caFile,
    "-no_nonce",
  ]);
  const said = out.stdout + out.stderr;
  expect(said).toMatch(/Response verify OK/);
  const m = /ocsp-leaf\.pem: (\w+)/.exec(said);
  return m ? m[1]! : said;
}

/** A query on a database (PostgreSQL, or an embedded one opened by the test). */
export type Query = <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;

/** Every sealed key of the database, by row: the bytes as stored. */
export async function sealedKeys(query: Query): Promise<Map<string, Buffer>> {
  const rows = await query<{ k: string; v: Buffer }>(
    `select 'ca ' || id as k, sealed_private_key as v from certificate_authority
     union all select 'request ' || id, sealed_private_key from certificate_request where sealed_private_key is not null
     union all select 'certificate ' || id, sealed_private_key from certificate where sealed_private_key is not null
     union all select 'check', sealed from kek_check`,
  );
  return new Map(rows.map((r) => [r.k, Buffer.from(r.v)]));
}

/**
 * Whether `bytes` are a private key in the clear: PEM text anywhere, or the whole value a DER
 * PKCS#8, SEC1 or PKCS#1 key that OpenSSL parses.
 */
export function holdsPlainKey(bytes: Buffer): boolean {
  if (bytes.toString("latin1").includes("PRIVATE KEY")) return true;
  for (const type of ["pkcs8", "sec1", "pkcs1"] as const) {
    try {
      createPrivateKey({ key: bytes, format: "der", type });
      return true;
    } catch {
      // not this encoding
    }
  }
  return false;
}
