/**
 * Transport security of the gRPC port (issue 6): TLS from files, reloaded while the server
 * runs, and optional mTLS. The reload rides on grpc-js's certificate-provider mechanism: the
 * server credentials hand every update to the http2 server's setSecureContext, which applies
 * to new TLS handshakes only, so connections and calls in flight keep the context they
 * started with.
 */
import { statSync } from "node:fs";
import { experimental, ServerCredentials } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { type Config, ENV, isLoopbackHost, type TlsConfig } from "../config";
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
}

export function tlsTransport(config: Config, logger: Logger): TlsTransport {
  if (config.tls === undefined) {
    if (!isLoopbackHost(config.listen.host)) {
      logger.warn(
        { host: config.listen.host },
        `plaintext on a non-loopback address (${ENV.allowPlaintext}=true): calls, certificates and generated private keys cross the network unencrypted`,
      );
    }
    return { credentials: ServerCredentials.createInsecure(), clientCaBundle: () => undefined };
  }
  const provider = new TlsFileProvider(config.tls, logger);
  // grpc-js 1.14 names these parameters (caCertificateProvider, identityCertificateProvider)
  // but hands them to a constructor taking (identity, ca): the first is the provider of the
  // server certificate, the second of the client CAs (null: no client certificate is
  // requested). With a CA provider the server requests a client certificate; with
  // requireClientCert it refuses the handshake without a valid one. test/tls covers each case.
  const credentials = experimental.createCertificateProviderServerCredentials(
    provider,
    config.tls.clientCaFile === undefined ? null : provider,
    config.tls.requireClientCert,
  );
  return { credentials, clientCaBundle: () => provider.clientCaBundle() };
}

type IdentityListener = experimental.IdentityCertificateUpdateListener;
type CaListener = experimental.CaCertificateUpdateListener;

/**
 * A grpc-js CertificateProvider over the three files. Unlike grpc-js's
 * FileWatcherCertificateProvider, it checks every change before handing it on: a half-written
 * rotation (new certificate, old key) or a missing file keeps the previous, working pair and
 * is logged once, where FileWatcherCertificateProvider would pass it on and the server would
 * drop new connections until the files were whole again.
 */
class TlsFileProvider implements experimental.CertificateProvider {
  private current: TlsMaterial;
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly caListeners = new Set<CaListener>();
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  /** The problem last logged, so that a lasting bad state is logged once, not every interval. */
  private lastProblem: string | undefined;

  constructor(
    private readonly config: TlsConfig,
    private readonly logger: Logger,
  ) {
    this.current = checkTlsFiles(config, readTlsFilesSync(config));
    logger.info(
      {
        ...describeCertificate(this.current.leaf),
        chainLength: this.current.chainLength,
        clientCas: this.current.clientCas.map((c) => describeCertificate(c).subject),
        requireClientCert: config.requireClientCert,
        reloadIntervalMs: config.reloadIntervalMs,
      },
      "TLS enabled",
    );
    this.warnIfNotValidNow();
    this.warnIfKeyFileIsShared();
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    this.startPolling();
    process.nextTick(listener, this.identityUpdate());
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
    this.stopPollingWhenUnused();
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    this.startPolling();
    process.nextTick(listener, this.caUpdate());
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
    this.stopPollingWhenUnused();
  }

  clientCaBundle(): Buffer | undefined {
    return this.current.files.ca;
  }

  private identityUpdate() {
    return { certificate: this.current.files.cert, privateKey: this.current.files.key };
  }

  private caUpdate() {
    const ca = this.current.files.ca;
    return ca === undefined ? null : { caCertificate: ca };
  }

  /** Polls while a bound port uses the credentials; the timer never keeps the process alive. */
  private startPolling(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.reload(), this.config.reloadIntervalMs);
    this.timer.unref();
  }

  private stopPollingWhenUnused(): void {
    if (this.identityListeners.size + this.caListeners.size > 0 || this.timer === undefined) {
      return;
    }
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async reload(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const files = await readTlsFiles(this.config);
      if (sameTlsFiles(files, this.current.files)) {
        this.lastProblem = undefined;
        return;
      }
      const previous = this.current;
      this.current = checkTlsFiles(this.config, files);
      this.lastProblem = undefined;
      const identityChanged =
        !sameBytes(files.cert, previous.files.cert) || !sameBytes(files.key, previous.files.key);
      if (!sameBytes(files.ca, previous.files.ca)) {
        this.logger.info(
          { clientCas: this.current.clientCas.map((c) => describeCertificate(c).subject) },
          "TLS client CA bundle reloaded",
        );
        for (const listener of this.caListeners) listener(this.caUpdate());
      }
      if (identityChanged) {
        this.logger.info(
          { ...describeCertificate(this.current.leaf), chainLength: this.current.chainLength },
          "TLS certificate reloaded",
        );
        this.warnIfNotValidNow();
        for (const listener of this.identityListeners) listener(this.identityUpdate());
      }
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

  private warnIfNotValidNow(): void {
    const { notBefore, notAfter, subject } = describeCertificate(this.current.leaf);
    const now = Date.now();
    if (Date.parse(notAfter) <= now) {
      this.logger.warn({ subject, notAfter }, "the TLS certificate has expired");
    } else if (Date.parse(notBefore) > now) {
      this.logger.warn({ subject, notBefore }, "the TLS certificate is not valid yet");
    }
  }

  private warnIfKeyFileIsShared(): void {
    const mode = statSync(this.config.keyFile).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      this.logger.warn(
        { file: this.config.keyFile, mode: mode.toString(8).padStart(4, "0") },
        "the TLS key file is readable by group or others: make it 0600 or 0400",
      );
    }
  }
}
