/**
 * Reads and checks the TLS files of the gRPC port: the server certificate (with any
 * intermediates), its private key, the optional client CA bundle and the optional CRLs of its
 * CAs. Every problem is a
 * TlsFileError with one line naming the variable and the file, never the file's contents.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from "node:fs";
import { open } from "node:fs/promises";
import { createSecureContext } from "node:tls";
import { ClientCrlError, ClientCrls } from "../auth/client-crls";
import { ENV, type TlsConfig } from "../config";

/** The bytes of the files, as read. */
export interface TlsFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
  readonly crl?: Buffer;
  /**
   * The key file's permission bits (mode & 0o777), from an fstat of the descriptor its bytes
   * were read through: the mode judged is the mode of the file whose key is served. Until
   * stop 43 of 2026-12-06 the path was stat'ed and then read again by path, so a file renamed
   * into place between the two was loaded with another file's mode judged.
   */
  readonly keyMode: number;
}

/** Files checked to form a usable certificate and key (and CA bundle). */
export interface TlsMaterial {
  readonly files: TlsFiles;
  /** The server certificate: the first one in the certificate file. */
  readonly leaf: X509Certificate;
  /** Certificates in the certificate file (leaf and intermediates). */
  readonly chainLength: number;
  /** The CAs whose client certificates are accepted. */
  readonly clientCas: readonly X509Certificate[];
  /** The CRLs of those CAs (CERTMINT_TLS_CLIENT_CRL_FILE); NONE without the file. */
  readonly clientCrls: ClientCrls;
}

export class TlsFileError extends Error {
  override readonly name = "TlsFileError";
}

export type Which = "cert" | "key" | "ca" | "crl";
const VARIABLE: Record<Which, string> = {
  cert: ENV.tlsCertFile,
  key: ENV.tlsKeyFile,
  ca: ENV.tlsClientCaFile,
  crl: ENV.tlsClientCrlFile,
};

function pathOf(config: TlsConfig, which: Which): string {
  switch (which) {
    case "cert":
      return config.certFile;
    case "key":
      return config.keyFile;
    case "ca":
      return config.clientCaFile ?? "";
    case "crl":
      return config.clientCrlFile ?? "";
  }
}

/** The variable that named the file (the ACME listener's own pair has its own). */
export function tlsVariable(config: TlsConfig, which: Which): string {
  if (which === "cert") return config.variables?.certFile ?? VARIABLE.cert;
  if (which === "key") return config.variables?.keyFile ?? VARIABLE.key;
  return VARIABLE[which];
}

const named = (config: TlsConfig, which: Which) =>
  `${tlsVariable(config, which)} (${pathOf(config, which)})`;

function unreadable(config: TlsConfig, which: Which, err: unknown): TlsFileError {
  const code = (err as NodeJS.ErrnoException).code ?? "unknown error";
  return new TlsFileError(`${named(config, which)} cannot be read (${code})`);
}

/**
 * The most each file may hold: far above any real one, so that a path that became a huge file
 * is refused instead of read into memory.
 */
const MAX_BYTES: Record<Which, number> = {
  cert: 4 << 20,
  key: 1 << 20,
  ca: 16 << 20,
  crl: 128 << 20,
};

/**
 * Opened without blocking and checked through the descriptor before anything is read: a
 * regular file (a FIFO would block the read for good, holding every later reload; a device
 * such as /dev/zero would be read without end), no larger than MAX_BYTES. The key's mode comes
 * from the same descriptor (TlsFiles.keyMode). Until a review of stop 43 of 2026-12-06 a key
 * path pointing at /dev/zero was read until memory ran out.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

function checkedStats(config: TlsConfig, which: Which, stats: Stats): void {
  if (!stats.isFile()) throw new TlsFileError(`${named(config, which)} is not a regular file`);
  if (stats.size > MAX_BYTES[which]) {
    throw new TlsFileError(
      `${named(config, which)} is ${stats.size} bytes, more than the ${MAX_BYTES[which]} such a file may hold`,
    );
  }
}

interface FileRead {
  bytes: Buffer;
  mode: number;
}

function readFileSyncChecked(config: TlsConfig, which: Which): FileRead {
  let fd: number;
  try {
    fd = openSync(pathOf(config, which), OPEN_FLAGS);
  } catch (err) {
    throw unreadable(config, which, err);
  }
  try {
    const stats = fstatSync(fd);
    checkedStats(config, which, stats);
    return { bytes: readFileSync(fd), mode: stats.mode & 0o777 };
  } catch (err) {
    if (err instanceof TlsFileError) throw err;
    throw unreadable(config, which, err);
  } finally {
    closeSync(fd);
  }
}

async function readFileChecked(config: TlsConfig, which: Which): Promise<FileRead> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(pathOf(config, which), OPEN_FLAGS);
  } catch (err) {
    throw unreadable(config, which, err);
  }
  try {
    const stats = await handle.stat();
    checkedStats(config, which, stats);
    return { bytes: await handle.readFile(), mode: stats.mode & 0o777 };
  } catch (err) {
    if (err instanceof TlsFileError) throw err;
    throw unreadable(config, which, err);
  } finally {
    await handle.close();
  }
}

export function readTlsFilesSync(config: TlsConfig): TlsFiles {
  const read = (which: Which) => readFileSyncChecked(config, which).bytes;
  const key = readFileSyncChecked(config, "key");
  return {
    cert: read("cert"),
    key: key.bytes,
    keyMode: key.mode,
    ...(config.clientCaFile === undefined ? {} : { ca: read("ca") }),
    ...(config.clientCrlFile === undefined ? {} : { crl: read("crl") }),
  };
}

export async function readTlsFiles(config: TlsConfig): Promise<TlsFiles> {
  const read = async (which: Which) => (await readFileChecked(config, which)).bytes;
  const [cert, key, ca, crl] = await Promise.all([
    read("cert"),
    readFileChecked(config, "key"),
    config.clientCaFile === undefined ? undefined : read("ca"),
    config.clientCrlFile === undefined ? undefined : read("crl"),
  ]);
  return {
    cert,
    key: key.bytes,
    keyMode: key.mode,
    ...(ca === undefined ? {} : { ca }),
    ...(crl === undefined ? {} : { crl }),
  };
}

/** Equal bytes, or both absent. */
export const sameBytes = (a: Buffer | undefined, b: Buffer | undefined): boolean =>
  a === undefined || b === undefined ? a === b : a.equals(b);

export const sameTlsFiles = (a: TlsFiles, b: TlsFiles): boolean =>
  sameBytes(a.cert, b.cert) &&
  sameBytes(a.key, b.key) &&
  sameBytes(a.ca, b.ca) &&
  sameBytes(a.crl, b.crl);

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function certificates(config: TlsConfig, which: Which, pem: Buffer): X509Certificate[] {
  const blocks = pem.toString("latin1").match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    throw new TlsFileError(`${named(config, which)} holds no PEM certificate`);
  }
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new TlsFileError(`${named(config, which)}: certificate ${i + 1} is malformed`);
    }
  });
}

function privateKey(config: TlsConfig, pem: Buffer): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    // Node's messages never quote the key, but ours say what to do instead.
    if ((err as NodeJS.ErrnoException).code === "ERR_MISSING_PASSPHRASE") {
      throw new TlsFileError(
        `${named(config, "key")} is encrypted: certmint needs an unencrypted PEM key (protect the file with mode 0600)`,
      );
    }
    throw new TlsFileError(`${named(config, "key")} is not a PEM private key`);
  }
}

/**
 * Checks that the files can serve TLS: the certificate file holds certificates, the key is
 * the private key of the first one, the CA bundle holds certificates, each CRL is signed by
 * one of them, and Node's TLS accepts them together (what setSecureContext will do).
 */
export function checkTlsFiles(config: TlsConfig, files: TlsFiles): TlsMaterial {
  const chain = certificates(config, "cert", files.cert);
  const leaf = chain[0]!;
  const key = privateKey(config, files.key);
  if (!leaf.checkPrivateKey(key)) {
    throw new TlsFileError(
      `${named(config, "key")} does not match the certificate in ${named(config, "cert")} (subject ${subjectLine(leaf.subject)})`,
    );
  }
  const clientCas = files.ca === undefined ? [] : certificates(config, "ca", files.ca);
  try {
    createSecureContext({ cert: files.cert, key: files.key, ca: files.ca });
  } catch (err) {
    // OpenSSL's reason (e.g. "ee key too small"), never the key.
    const reason = err instanceof Error ? err.message : "unknown error";
    throw new TlsFileError(
      `${named(config, "cert")} and ${tlsVariable(config, "key")} are not usable for TLS: ${reason}`,
    );
  }
  return {
    files,
    leaf,
    chainLength: chain.length,
    clientCas,
    clientCrls: crls(config, files, clientCas),
  };
}

function crls(config: TlsConfig, files: TlsFiles, cas: readonly X509Certificate[]): ClientCrls {
  if (files.crl === undefined) return ClientCrls.NONE;
  try {
    return ClientCrls.load(files.crl, cas);
  } catch (err) {
    if (err instanceof ClientCrlError)
      throw new TlsFileError(`${named(config, "crl")}: ${err.message}`);
    throw err;
  }
}

/**
 * "CN=a\nO=b" (Node's form) as "CN=a, O=b". Node gives undefined for an empty name: a SAN-only
 * certificate (RFC 5280 4.1.2.6, what certmint issues when no subject is asked for) has one.
 */
const subjectLine = (name: string | undefined) => (name ? name.split("\n").join(", ") : "(empty)");

/** What the logs say about a certificate: never anything secret. */
export function describeCertificate(cert: X509Certificate) {
  return {
    subject: subjectLine(cert.subject),
    issuer: subjectLine(cert.issuer),
    serial: cert.serialNumber.toLowerCase(),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    subjectAltName: cert.subjectAltName,
    fingerprintSha256: cert.fingerprint256.replace(/:/g, "").toLowerCase(),
  };
}
