/**
 * Transport security of the gRPC port (issue 6): TLS from files, reloaded while the server
 * runs, and optional mTLS. The credentials hand every update to the http2 server's
 * setSecureContext (grpc-js calls it for each watcher), which applies to new TLS handshakes
 * only, so connections and calls in flight keep the context they started with.
 */
import type { X509Certificate } from "node:crypto";
import type { SecureContextOptions } from "node:tls";
import { ServerCredentials } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { ClientCrls } from "../auth/client-crls";
import { type Config, ENV, isLoopbackHost, type TlsConfig } from "../config";
import { checkOwnedFile } from "../safe-path";
import {
  checkTlsFiles,
  describeCertificate,
  readTlsFiles,
  readTlsFilesSync,
  sameBytes,
  sameTlsFiles,
  type TlsMaterial,
} from "./tls-files";

/**
 * What the gRPC port negotiates (RFC 9325, BCP 195, sections 4.1-4.2): TLS 1.3 when the client
 * offers it (the highest version both sides speak wins), else TLS 1.2 with forward secrecy
 * (ECDHE) and an AEAD cipher only, for ECDSA and RSA server keys alike. Refused: static-RSA key
 * transport (no forward secrecy), every CBC suite (SHA-1 and SHA-2 MACs: Lucky13 and
 * POODLE-style padding oracles), and finite-field DHE (weak-group downgrades; no current gRPC
 * client needs it). The TLS 1.3 suites are listed too: a cipher string without them would
 * leave Node's defaults, and naming them keeps the whole policy in one place. The server's
 * order wins (honorCipherOrder), so AES-GCM is preferred where the client also offers CBC.
 */
export const TLS_POLICY = {
  minVersion: "TLSv1.2",
  ciphers: [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
  ].join(":"),
  honorCipherOrder: true,
} as const satisfies SecureContextOptions;

/**
 * The credentials to bind the gRPC port with. Without TLS: plaintext (config.ts already
 * refused a non-loopback address unless CERTMINT_ALLOW_PLAINTEXT=true, warned about here).
 * With TLS the files are read and checked now: a TlsFileError stops the start-up with its
 * one-line message.
 */
export function serverCredentials(config: Config, logger: Logger): ServerCredentials {
  return tlsTransport(config, logger).credentials;
}

/** The gRPC port's credentials and the client CA bundle they currently trust. */
export interface TlsTransport {
  readonly credentials: ServerCredentials;
  /**
   * The PEM bytes of CERTMINT_TLS_CLIENT_CA_FILE as last (re)loaded; undefined without mTLS.
   * The same Buffer until the file changes (client certificate chains are rebuilt from it:
   * src/auth/ca-directory.ts).
   */
  clientCaBundle(): Buffer | undefined;
  /**
   * The CRLs of CERTMINT_TLS_CLIENT_CRL_FILE as last (re)loaded, checked against the bundle
   * (ClientCrls.NONE without it); the same object until the files change.
   */
  clientCrls(): ClientCrls;
  /**
   * The certificate served now: the one loaded at start-up or by the last reload (its notAfter
   * is a metric: server/metrics.ts); undefined without TLS.
   */
  servingCertificate(): X509Certificate | undefined;
}

export function tlsTransport(config: Config, logger: Logger): TlsTransport {
  if (config.tls === undefined) {
    if (!isLoopbackHost(config.listen.host)) {
      logger.warn(
        { host: config.listen.host },
        `plaintext on a non-loopback address (${ENV.allowPlaintext}=true): calls, certificates and generated private keys cross the network unencrypted`,
      );
    }
    return {
      credentials: ServerCredentials.createInsecure(),
      clientCaBundle: () => undefined,
      clientCrls: () => ClientCrls.NONE,
      servingCertificate: () => undefined,
    };
  }
  const credentials = TlsFileCredentials.open(config.tls, logger);
  return {
    credentials,
    clientCaBundle: () => credentials.clientCaBundle(),
    clientCrls: () => credentials.clientCrls(),
    servingCertificate: () => credentials.servingCertificate(),
  };
}

/** For checks whose warnings were already logged at start-up. */
const SILENT = { warn: () => undefined };

/** The secure-context options of one checked set of files, with the cipher policy. */
function contextOptionsOf(material: TlsMaterial): SecureContextOptions {
  const { cert, key, ca } = material.files;
  // Node's setSecureContext resets every option it is not given (ciphers included), so each
  // update carries the whole policy.
  return { cert, key, ...(ca === undefined ? {} : { ca }), ...TLS_POLICY };
}

/**
 * grpc-js server credentials over the three files, with the cipher policy above. grpc-js's own
 * certificate-provider credentials take no cipher settings (only the process-wide
 * GRPC_SSL_CIPHER_SUITES variable, read when grpc-js loads), so certmint extends
 * ServerCredentials, grpc-js's documented base class, directly. Unlike grpc-js's
 * FileWatcherCertificateProvider, every change is checked before it is handed on: a
 * half-written rotation (new certificate, old key) or a missing file keeps the previous,
 * working pair and is logged once, where FileWatcherCertificateProvider would pass it on and
 * the server would drop new connections until the files were whole again.
 */
class TlsFileCredentials extends ServerCredentials {
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  /** The problem last logged, so that a lasting bad state is logged once, not every interval. */
  private lastProblem: string | undefined;
  /** The group and other permission bits of the key file the served key was read from. */
  private keyFileShared = 0;

  /** Reads and checks the files (a TlsFileError stops the start-up) and logs what is served. */
  static open(config: TlsConfig, logger: Logger): TlsFileCredentials {
    const material = checkTlsFiles(config, readTlsFilesSync(config));
    return new TlsFileCredentials(config, logger, material);
  }

  private constructor(
    private readonly config: TlsConfig,
    private readonly logger: Logger,
    private current: TlsMaterial,
  ) {
    // With a client CA bundle the server requests a client certificate; with requireClientCert
    // it refuses the handshake without a valid one. test/tls covers each case.
    super(
      {
        requestCert: config.clientCaFile !== undefined,
        rejectUnauthorized: config.requireClientCert,
        ...TLS_POLICY,
      },
      contextOptionsOf(current),
    );
    logger.info(
      {
        ...describeCertificate(current.leaf),
        chainLength: current.chainLength,
        clientCas: current.clientCas.map((c) => describeCertificate(c).subject),
        clientCrls: current.clientCrls.size,
        requireClientCert: config.requireClientCert,
        reloadIntervalMs: config.reloadIntervalMs,
      },
      "TLS enabled",
    );
    this.warnIfNotValidNow();
    this.warnIfCrlsStale();
    this.keyFileShared = this.warnIfKeyFileIsShared();
  }

  /** A bound port watches the credentials: poll the files while any does. */
  override _addWatcher(watcher: Parameters<ServerCredentials["_addWatcher"]>[0]): void {
    super._addWatcher(watcher);
    if (this.timer !== undefined) return;
    // The timer never keeps the process alive.
    this.timer = setInterval(() => void this.reload(), this.config.reloadIntervalMs);
    this.timer.unref();
  }

  override _removeWatcher(watcher: Parameters<ServerCredentials["_removeWatcher"]>[0]): void {
    super._removeWatcher(watcher);
    if (this.getWatcherCount() > 0 || this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  clientCaBundle(): Buffer | undefined {
    return this.current.files.ca;
  }

  clientCrls(): ClientCrls {
    return this.current.clientCrls;
  }

  servingCertificate(): X509Certificate {
    return this.current.leaf;
  }

  _equals(other: ServerCredentials): boolean {
    return other === this;
  }

  private async reload(): Promise<void> {
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
          `${ENV.tlsCertFile}=${this.config.certFile} now holds a certificate that is not valid now (notBefore ${notBefore}, notAfter ${notAfter})`,
        );
      }
      this.current = next;
      this.lastProblem = undefined;
      this.keyFileShared = keyFileShared;
      if (!sameBytes(files.crl, previous.files.crl)) {
        this.logger.info({ clientCrls: this.current.clientCrls.size }, "TLS client CRLs reloaded");
        this.warnIfCrlsStale();
      }
      if (!sameBytes(files.ca, previous.files.ca)) {
        this.logger.info(
          { clientCas: this.current.clientCas.map((c) => describeCertificate(c).subject) },
          "TLS client CA bundle reloaded",
        );
      }
      if (identityChanged) {
        this.logger.info(
          { ...describeCertificate(this.current.leaf), chainLength: this.current.chainLength },
          "TLS certificate reloaded",
        );
        this.warnIfNotValidNow();
      }
      this.updateSecureContextOptions(contextOptionsOf(this.current));
    } catch (err) {
      // TlsFileError messages name the variable and file, never their contents.
      const problem = err instanceof Error ? err.message : String(err);
      if (problem !== this.lastProblem) {
        this.lastProblem = problem;
        this.logger.warn(
          { problem, serving: describeCertificate(this.current.leaf).serial },
          "TLS files changed but cannot be used: still serving the previous certificate",
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
      [ENV.tlsCertFile, this.config.certFile],
      [ENV.tlsKeyFile, this.config.keyFile],
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
        `${ENV.tlsKeyFile}=${this.config.keyFile} has become readable by group or others (mode ${mode.toString(8).padStart(4, "0")}): not loading it; make it 0600 or 0400`,
      );
    }
    return shared;
  }

  private warnIfNotValidNow(): void {
    if (validNow(this.current.leaf)) return;
    const { notBefore, notAfter, subject } = describeCertificate(this.current.leaf);
    const now = Date.now();
    if (Date.parse(notAfter) <= now) {
      this.logger.warn({ subject, notAfter }, "the TLS certificate has expired");
    } else if (Date.parse(notBefore) > now) {
      this.logger.warn({ subject, notBefore }, "the TLS certificate is not valid yet");
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
        "the TLS key file is readable by group or others: make it 0600 or 0400",
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
