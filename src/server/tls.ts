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
import {
  checkTlsFiles,
  describeCertificate,
  readTlsFilesSync,
  type TlsMaterial,
} from "./tls-files";
import { WatchedTlsFiles } from "./tls-reload";

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

  /** Reads and checks the files (a TlsFileError stops the start-up) and logs what is served. */
  static open(config: TlsConfig, logger: Logger): TlsFileCredentials {
    const material = checkTlsFiles(config, readTlsFilesSync(config));
    return new TlsFileCredentials(config, logger, material);
  }

  private readonly files: WatchedTlsFiles;

  private constructor(
    private readonly config: TlsConfig,
    logger: Logger,
    current: TlsMaterial,
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
    this.files = new WatchedTlsFiles(config, logger, current, (material) =>
      this.updateSecureContextOptions(contextOptionsOf(material)),
    );
  }

  /** A bound port watches the credentials: poll the files while any does. */
  override _addWatcher(watcher: Parameters<ServerCredentials["_addWatcher"]>[0]): void {
    super._addWatcher(watcher);
    if (this.timer !== undefined) return;
    // The timer never keeps the process alive.
    this.timer = setInterval(() => void this.files.reload(), this.config.reloadIntervalMs);
    this.timer.unref();
  }

  override _removeWatcher(watcher: Parameters<ServerCredentials["_removeWatcher"]>[0]): void {
    super._removeWatcher(watcher);
    if (this.getWatcherCount() > 0 || this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  clientCaBundle(): Buffer | undefined {
    return this.files.current.files.ca;
  }

  clientCrls(): ClientCrls {
    return this.files.current.clientCrls;
  }

  servingCertificate(): X509Certificate {
    return this.files.current.leaf;
  }

  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}
