/**
 * TLS files served while the server runs, re-read and checked before each change is served: the
 * gRPC port's (server/tls.ts) and the ACME listener's (acme/http/server.ts), one rule for both.
 * Every change is checked before it is handed on: a half-written rotation (new certificate, old
 * key), a missing file, a file another user owns, a key file that has become readable by others,
 * or a certificate that is not valid now keeps the previous, working pair, logged once. Until
 * stop 52 of 2026-12-07 the ACME listener had a reload of its own that checked less: a
 * certificate renewed before its key threw out of a timer and ended the process (gRPC port
 * included), and a key readable by others was served (an outside probe, LOCAL F2 and F3).
 */
import type { Logger } from "pino";
import { ENV, type TlsConfig } from "../config";
import { checkOwnedFile } from "../safe-path";
import {
  checkTlsFiles,
  describeCertificate,
  readTlsFiles,
  sameBytes,
  sameTlsFiles,
  type TlsMaterial,
  tlsVariable,
} from "./tls-files";

/** For checks whose warnings were already logged at start-up. */
const SILENT = { warn: () => undefined };

export class WatchedTlsFiles {
  private reading = false;
  /** The problem last logged, so that a lasting bad state is logged once, not every interval. */
  private lastProblem: string | undefined;
  /** The group and other permission bits of the key file the served key was read from. */
  private keyFileShared = 0;

  /**
   * `current`: the files as read and checked at start-up; `apply` serves a changed set;
   * `label` starts each log message ("ACME listener: "; none for the gRPC port). Logs the
   * start-up warnings (not valid now, stale CRLs, a key file others may read).
   */
  constructor(
    private readonly config: TlsConfig,
    private readonly logger: Logger,
    public current: TlsMaterial,
    private readonly apply: (material: TlsMaterial) => void,
    private readonly label = "",
  ) {
    this.warnIfNotValidNow();
    this.warnIfCrlsStale();
    this.keyFileShared = this.warnIfKeyFileIsShared();
  }

  /** Reads the files again and serves them if they changed and are usable; never throws. */
  async reload(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      this.checkOwners();
      const files = await readTlsFiles(this.config);
      const keyFileShared = this.checkKeyFileMode(files.keyMode);
      if (sameTlsFiles(files, this.current.files)) {
        this.lastProblem = undefined;
        return;
      }
      const previous = this.current;
      const next = checkTlsFiles(this.config, files);
      const identityChanged =
        !sameBytes(files.cert, previous.files.cert) || !sameBytes(files.key, previous.files.key);
      // A certificate that is not valid now (expired, or not yet valid) does not replace one
      // that is: every client would refuse the handshake. Until stop 41 of 2026-12-06 it was
      // served, with a warning (an outside probe: a renewal job that wrote back an old pair).
      // One that replaces an invalid certificate is served: nothing better is there.
      if (identityChanged && validNow(previous.leaf) && !validNow(next.leaf)) {
        const { notBefore, notAfter } = describeCertificate(next.leaf);
        throw new Error(
          `${tlsVariable(this.config, "cert")}=${this.config.certFile} now holds a certificate that is not valid now (notBefore ${notBefore}, notAfter ${notAfter})`,
        );
      }
      this.current = next;
      this.lastProblem = undefined;
      this.keyFileShared = keyFileShared;
      if (!sameBytes(files.crl, previous.files.crl)) {
        this.logger.info(
          { clientCrls: this.current.clientCrls.size },
          `${this.label}TLS client CRLs reloaded`,
        );
        this.warnIfCrlsStale();
      }
      if (!sameBytes(files.ca, previous.files.ca)) {
        this.logger.info(
          { clientCas: this.current.clientCas.map((c) => describeCertificate(c).subject) },
          `${this.label}TLS client CA bundle reloaded`,
        );
      }
      if (identityChanged) {
        this.logger.info(
          { ...describeCertificate(this.current.leaf), chainLength: this.current.chainLength },
          `${this.label}TLS certificate reloaded`,
        );
        this.warnIfNotValidNow();
      }
      this.apply(this.current);
    } catch (err) {
      // TlsFileError messages name the variable and file, never their contents.
      const problem = err instanceof Error ? err.message : String(err);
      if (problem !== this.lastProblem) {
        this.lastProblem = problem;
        this.logger.warn(
          { problem, serving: describeCertificate(this.current.leaf).serial },
          `${this.label}TLS files changed but cannot be used: still serving the previous certificate`,
        );
      }
    } finally {
      this.reading = false;
    }
  }

  /**
   * The start-up check of the files (data-dir.ts secureDataDir: each owned by root or by
   * certmint's user, on a path nobody else can change; src/safe-path.ts), made again before each
   * reload, so that files the next start would refuse are never served: until 2026-12-05
   * (probe39 F7) a file another user owned was loaded here, its owner could then serve the port
   * with a key of their choosing, and the next restart failed (exit 2). A refusal keeps the
   * previous files, logged once like any unusable change (reload's catch). A directory writable
   * by its group was a warning at start-up; it is not repeated at every interval.
   */
  private checkOwners(): void {
    const uid = process.geteuid?.();
    if (uid === undefined) return;
    const files: Array<[string, string | undefined]> = [
      [tlsVariable(this.config, "cert"), this.config.certFile],
      [tlsVariable(this.config, "key"), this.config.keyFile],
      [ENV.tlsClientCaFile, this.config.clientCaFile],
      [ENV.tlsClientCrlFile, this.config.clientCrlFile],
    ];
    for (const [name, file] of files) {
      if (file === undefined) continue;
      checkOwnedFile(
        file,
        `${name}=${file}`,
        uid,
        SILENT,
        "not loading it (certmint would refuse it at start-up)",
      );
    }
  }

  /**
   * The start-up check of the key file's mode (warnIfKeyFileIsShared), made again before each
   * reload: a key file that has become readable by group or others since the served key was
   * read from it (a renewal job that writes with the default umask, a chmod by mistake) is not
   * loaded, and the previous pair is kept, logged once like any unusable change (reload's
   * catch), until the file is 0600 or 0400 again. Until stop 42 of 2026-12-06 it was loaded
   * without a word (the mode was only checked at start-up). A server started on a shared key
   * file (warned about then) reloads files of that same mode, or it could never rotate; more
   * readable than that is refused too. The mode is the one of the file the key was read from
   * (TlsFiles.keyMode). Returns the file's group and other bits.
   */
  private checkKeyFileMode(mode: number): number {
    const shared = mode & 0o077;
    if ((shared & ~this.keyFileShared) !== 0) {
      throw new Error(
        `${tlsVariable(this.config, "key")}=${this.config.keyFile} has become readable by group or others (mode ${mode.toString(8).padStart(4, "0")}): not loading it; make it 0600 or 0400`,
      );
    }
    return shared;
  }

  private warnIfNotValidNow(): void {
    if (validNow(this.current.leaf)) return;
    const { notBefore, notAfter, subject } = describeCertificate(this.current.leaf);
    const now = Date.now();
    if (Date.parse(notAfter) <= now) {
      this.logger.warn({ subject, notAfter }, `${this.label}the TLS certificate has expired`);
    } else if (Date.parse(notBefore) > now) {
      this.logger.warn({ subject, notBefore }, `${this.label}the TLS certificate is not valid yet`);
    }
  }

  /** A CRL already past its nextUpdate refuses every client certificate of its CA. */
  private warnIfCrlsStale(): void {
    for (const { issuer, nextUpdate } of this.current.clientCrls.stale(new Date())) {
      this.logger.warn(
        { issuer, nextUpdate: nextUpdate?.toISOString() ?? null, file: this.config.clientCrlFile },
        `a CRL in ${ENV.tlsClientCrlFile} is past its nextUpdate: client certificates of its CA are refused until the file holds a current one`,
      );
    }
  }

  /** Returns the file's group and other permission bits. */
  private warnIfKeyFileIsShared(): number {
    const mode = this.current.files.keyMode;
    if ((mode & 0o077) !== 0) {
      this.logger.warn(
        { file: this.config.keyFile, mode: mode.toString(8).padStart(4, "0") },
        `${this.label}the TLS key file is readable by group or others: make it 0600 or 0400`,
      );
    }
    return mode & 0o077;
  }
}

/** Whether a certificate is within its validity period now (wall clock, as clients check it). */
function validNow(leaf: Parameters<typeof describeCertificate>[0]): boolean {
  const { notBefore, notAfter } = describeCertificate(leaf);
  const now = Date.now();
  return Date.parse(notBefore) <= now && now < Date.parse(notAfter);
}
