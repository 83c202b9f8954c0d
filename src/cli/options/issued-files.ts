/**
 * Where an issued certificate goes: the certificate, its chain and, when certmint generated it,
 * the private key, each in a file (the key with mode 0600; on stdout only when asked with
 * --key-out -).
 */

import { X509Certificate } from "node:crypto";
import { basename, resolve } from "node:path";
import type { IssuedCertificate } from "../../../gen/ts/certmint/v1/certificate_service";
import type { Args } from "../args";
import { type OptionSection, UsageError } from "../command";
import { assertWritable, writeFileAtomically } from "../files";
import type { Invocation } from "../invocation";
import { joinPem } from "../views/print";

export const FILES_SECTION: OptionSection = {
  title: "Files (default: NAME.crt, NAME.chain.pem and NAME.key in the current directory)",
  specs: {
    "cert-out": { type: "string", value: "FILE", description: "the certificate (PEM)" },
    "chain-out": {
      type: "string",
      value: "FILE",
      description: "its chain, nearest CA first, ending with the root (PEM)",
    },
    "key-out": {
      type: "string",
      value: "FILE",
      description:
        "the private key certmint generated (PKCS #8 PEM, mode 0600); '-' prints it on stdout",
    },
    bundle: {
      type: "boolean",
      description:
        "the certificate file holds the certificate, then its chain without the root (what a TLS server sends)",
    },
    force: { type: "boolean", description: "replace files that exist (atomically)" },
  },
};

/** Where each file goes; a file without a path is not written. */
export interface OutputPaths {
  certificate?: string;
  chain?: string;
  /** "-" for stdout. */
  privateKey?: string;
}

/** A file name from a name: characters other than letters, digits, '.', '_' and '-' as "_". */
export function fileBase(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "") || "certificate";
}

/** The base name a certificate suggests: its CN, else its first SAN, else `fallback`. */
export function baseFromCertificate(certPem: string, fallback: string): string {
  const x = new X509Certificate(certPem);
  // Node leaves subject undefined for an empty name.
  const cn = (x.subject ?? "")
    .split("\n")
    .find((l) => l.startsWith("CN="))
    ?.slice(3);
  const san = x.subjectAltName?.split(", ")[0]?.replace(/^[A-Za-z ]+:/, "");
  return fileBase(cn || san || fallback);
}

/** The paths the file options name, the others from `base` (or none, without a base). */
export function outputPaths(args: Args, base: string | undefined): OutputPaths {
  const or = (name: string, suffix: string) =>
    args.string(name) ?? (base === undefined ? undefined : `${base}${suffix}`);
  return {
    certificate: or("cert-out", ".crt"),
    chain: or("chain-out", ".chain.pem"),
    privateKey: or("key-out", ".key"),
  };
}

/** Whether any file option was given (request status writes only when asked). */
export function filesAsked(args: Args): boolean {
  return ["cert-out", "chain-out", "key-out"].some((name) => args.given(name));
}

function refuseKeyOnJsonStdout(inv: Invocation, keyPath: string | undefined): void {
  if (keyPath === "-" && inv.output === "json") {
    throw new UsageError(
      "--key-out - prints the key on stdout, where --output json goes: give a file",
    );
  }
}

function refuseExisting(inv: Invocation, paths: ReadonlyArray<string | undefined>): void {
  const force = inv.args.flag("force") === true;
  for (const p of paths) if (p !== undefined) assertWritable(p, force);
}

/**
 * Refuses, before anything is issued, files that exist (without --force) and a key on stdout
 * where JSON goes: a certificate whose key cannot be saved would be issued for nothing.
 */
export function checkOutputs(inv: Invocation, paths: OutputPaths, withKey: boolean): void {
  refuseKeyOnJsonStdout(inv, paths.privateKey);
  refuseSameFile(paths, withKey);
  refuseExisting(inv, [paths.certificate, paths.chain, withKey ? paths.privateKey : undefined]);
}

const OPTION_OF: Record<keyof OutputPaths, string> = {
  certificate: "--cert-out",
  chain: "--chain-out",
  privateKey: "--key-out",
};

/**
 * Two outputs naming one file: the second write would replace the first, and a generated key,
 * returned once, would be lost under its certificate (until stop 49 of 2026-12-06 this was
 * found only after issuing, or with --force not at all: an outside probe). "-" (stdout) may be
 * shared.
 */
function refuseSameFile(paths: OutputPaths, withKey: boolean): void {
  const seen = new Map<string, keyof OutputPaths>();
  for (const what of ["certificate", "chain", "privateKey"] as const) {
    const path = paths[what];
    if (path === undefined || path === "-" || (what === "privateKey" && !withKey)) continue;
    const key = resolve(path);
    const before = seen.get(key);
    if (before !== undefined) {
      throw new UsageError(
        `${OPTION_OF[before]} and ${OPTION_OF[what]} name the same file ${path}: give each its own`,
      );
    }
    seen.set(key, what);
  }
}

function isSelfSigned(pem: string): boolean {
  const x = new X509Certificate(pem);
  return x.issuer === x.subject && x.verify(x.publicKey);
}

/** The certificate and the CAs above it, without the root: what a TLS server sends (RFC 8446 4.4.2). */
export function bundle(cert: IssuedCertificate): string {
  const chain = cert.certificateChainPem;
  const last = chain.at(-1);
  const intermediates = last !== undefined && isSelfSigned(last) ? chain.slice(0, -1) : chain;
  return joinPem([cert.certificatePem, ...intermediates]);
}

/** The files written: [what, path]. */
export type WrittenFiles = Array<[what: keyof OutputPaths, path: string]>;

/**
 * Writes the key (if any) first, so no certificate is left without its key, then the certificate
 * and its chain. The key for --key-out - is returned for the caller to print after its output.
 */
export function writeIssued(
  inv: Invocation,
  cert: IssuedCertificate,
  privateKeyPem: string,
  paths: OutputPaths,
): { files: WrittenFiles; keyForStdout?: string } {
  const force = inv.args.flag("force") === true;
  const files: WrittenFiles = [];
  const write = (what: keyof OutputPaths, content: string, secret: boolean) => {
    const path = paths[what];
    if (path === undefined || path === "-") return;
    writeFileAtomically(path, content, { secret, force });
    files.push([what, path]);
  };
  if (privateKeyPem) write("privateKey", privateKeyPem, true);
  write(
    "certificate",
    inv.args.flag("bundle") ? bundle(cert) : joinPem([cert.certificatePem]),
    false,
  );
  write("chain", joinPem(cert.certificateChainPem), false);
  const toStdout = privateKeyPem && paths.privateKey === "-";
  return toStdout ? { files, keyForStdout: privateKeyPem } : { files };
}

/** The base name of a CSR file: api.csr is "api". */
export function baseFromCsrFile(path: string): string {
  return fileBase(path === "-" ? "certificate" : basename(path).replace(/\.(csr|req|pem)$/i, ""));
}
