/**
 * A second certmint server that requires client certificates (mTLS), on a test harness's
 * database and data directory, and clients of it that present a client certificate.
 *
 * The server's own certificate comes from an openssl CA (test/tls/pki.ts) the clients trust;
 * the client CA bundle is whatever the test passes (certmint's own CAs, an outside CA, or both).
 */
import { type Client, credentials } from "@grpc/grpc-js";
import pino from "pino";
import { type RunningCertmint, startCertmint } from "../../src/app";
import { loadConfig } from "../../src/config";
import { type Issued, makeCa, makeLeaf } from "../tls/pki";
import { startLogged } from "../tls/server";
import { type CertmintClients, makeClients, type TestCertmint } from "./harness";
import type { TempDir } from "./openssl";

/** A client certificate and its key, as PEM. */
export interface ClientCert {
  certPem: string;
  keyPem: string;
}

/** Makes clients that trust `serverCa`, and closes every one it made. */
export interface MtlsClients {
  /** Clients of `address` over TLS, presenting `cert` (if any) and sending `token` (if any). */
  at(address: string, cert?: ClientCert, token?: string): CertmintClients;
  /** Closes every client made so far. */
  closeAll(): void;
}

export function mtlsClients(serverCa: Issued): MtlsClients {
  const opened: CertmintClients[] = [];
  return {
    at(address, cert, token) {
      const c = makeClients(
        address,
        token,
        credentials.createSsl(
          Buffer.from(serverCa.certPem),
          cert ? Buffer.from(cert.keyPem) : null,
          cert ? Buffer.from(cert.certPem) : null,
        ),
      );
      opened.push(c);
      return c;
    },
    closeAll() {
      for (const set of opened) for (const c of Object.values(set)) (c as Client).close();
    },
  };
}

export interface MtlsServer {
  running: RunningCertmint;
  port: number;
  address: string;
  /** The CA of the server's certificate, which clients trust. */
  serverCa: Issued;
  /** Clients of this server presenting `cert` (if any) and sending `token` (if any). */
  over(cert?: ClientCert, token?: string): CertmintClients;
  /** Clients of another address (also TLS with `serverCa`'s certificate), closed by stop(). */
  clientsAt(address: string, cert?: ClientCert, token?: string): CertmintClients;
  /** Closes every client made, then shuts the server down (not the harness, not `dir`). */
  stop(): Promise<void>;
}

export interface MtlsServerOptions {
  /** The server certificate (and the CA clients trust), when the test made them already. */
  server?: { ca: Issued; leaf: Issued };
  /** More environment for the server. */
  env?: Record<string, string>;
  /** The server's clock: then it runs with a silent logger, its log not captured. */
  now?: () => Date;
}

/**
 * Starts certmint on `h`'s database and data directory with TLS, requiring a client
 * certificate verified against `clientCaPem` (one or more PEM certificates), written to `dir`.
 */
export async function startMtlsServer(
  h: TestCertmint,
  dir: TempDir,
  clientCaPem: string,
  options: MtlsServerOptions = {},
): Promise<MtlsServer> {
  const serverCa = options.server?.ca ?? makeCa(dir, "certmint server CA");
  const leaf = options.server?.leaf ?? makeLeaf(dir, serverCa, "certmint", "server");
  const env = {
    CERTMINT_DATA_DIR: h.dataDir,
    CERTMINT_TLS_CERT_FILE: leaf.certFile,
    CERTMINT_TLS_KEY_FILE: leaf.keyFile,
    CERTMINT_TLS_CLIENT_CA_FILE: dir.file("client-cas.pem", clientCaPem),
    CERTMINT_TLS_REQUIRE_CLIENT_CERT: "true",
    ...options.env,
  };
  let running: RunningCertmint;
  if (options.now) {
    const config = loadConfig({
      CERTMINT_LISTEN: "127.0.0.1:0",
      DATABASE_URL: h.db.url,
      CERTMINT_SHUTDOWN_GRACE_MS: "1000",
      ...env,
    });
    running = await startCertmint(config, pino({ level: "silent" }), { now: options.now });
  } else {
    running = (await startLogged(h.db.url, env)).running;
  }
  const address = `127.0.0.1:${running.port}`;
  const clients = mtlsClients(serverCa);
  return {
    running,
    port: running.port,
    address,
    serverCa,
    over: (cert, token) => clients.at(address, cert, token),
    clientsAt: (at, cert, token) => clients.at(at, cert, token),
    async stop() {
      clients.closeAll();
      await running.shutdown();
    },
  };
}
