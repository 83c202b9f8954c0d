/**
 * openssl as the independent verifier in tests: run synchronously, never throwing on a non-zero
 * exit (so failures can be asserted), in temp directories; small parsers of its -text output.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs openssl synchronously; returns its exit code and output instead of throwing. */
export function openssl(args: string[], input?: string): RunResult {
  const r = spawnSync("openssl", args, {
    input,
    encoding: "utf8",
    maxBuffer: 16 << 20,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** Like openssl(), but fails with openssl's own output when the command does not succeed. */
export function opensslOk(args: string[], input?: string): string {
  const r = openssl(args, input);
  if (r.code !== 0) {
    throw new Error(`openssl ${args.join(" ")} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** A temp directory; `file()` writes content and returns the path. */
export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), "certmint-test-"));
  private n = 0;
  file(name: string, content: string | Uint8Array): string {
    const p = join(this.path, `${this.n++}-${name}`);
    writeFileSync(p, content);
    return p;
  }
  /** A fresh path in the directory, for openssl to write to. */
  out(name: string): string {
    return join(this.path, `${this.n++}-${name}`);
  }
  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/**
 * What openssl reads in a CRL (PEM): its thisUpdate (`-lastupdate`), nextUpdate and cRLNumber
 * (printed in hex: crlNumber=0x0A).
 */
export function crlFields(tmp: TempDir, pem: string): { last: Date; next: Date; number: bigint } {
  const out = opensslOk([
    "crl",
    "-noout",
    "-lastupdate",
    "-nextupdate",
    "-crlnumber",
    "-dateopt",
    "iso_8601",
    "-in",
    tmp.file("fields.crl", pem),
  ]);
  const get = (k: string) => {
    const m = new RegExp(`${k}=(\\S+) (\\S+)`).exec(out);
    if (!m) throw new Error(`no ${k} in ${out}`);
    return new Date(`${m[1]}T${m[2]}`);
  };
  const number = /crlNumber=(0x[0-9A-Fa-f]+)/.exec(out);
  if (!number) throw new Error(`no crlNumber in ${out}`);
  return { last: get("lastUpdate"), next: get("nextUpdate"), number: BigInt(number[1]!) };
}

/** The lines of the named X509v3 extension in `openssl x509|crl -text` output: header and body. */
export function extensionBlock(text: string, name: string): { critical: boolean; body: string } {
  const lines = text.split("\n");
  const i = lines.findIndex((l) => l.trim().startsWith(`${name}:`) || l.trim() === name);
  if (i < 0) throw new Error(`extension "${name}" not in:\n${text}`);
  const header = lines[i]!;
  const indent = header.search(/\S/);
  const body: string[] = [];
  for (const l of lines.slice(i + 1)) {
    if (l.trim() === "" || l.search(/\S/) <= indent) break;
    body.push(l.trim());
  }
  return { critical: /critical/.test(header), body: body.join("\n") };
}

/** Normalises a colon-separated hex key identifier as openssl prints it ("keyid:" prefix allowed). */
export const normHex = (s: string): string =>
  s
    .replace(/^keyid:/i, "")
    .replace(/[^0-9a-f]/gi, "")
    .toLowerCase();
