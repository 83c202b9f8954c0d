/**
 * Probe 49 (HTTP): the COMPILED server (dist/src/main.js, as `make run` starts it) on its own
 * PostgreSQL database, with the publication port (CRLs, CA certificates, OCSP) and the ACME
 * listener (HTTPS) on ephemeral ports, a root CA and an API profile on it (one certificate
 * issued over gRPC), and an ACME profile "web-acme". Black box: only the ports, the gRPC API
 * and PostgreSQL rows are used.
 */

import { request as httpRequest } from "node:http";
import { connect, type Socket } from "node:net";
import { acmeSettings, createAcmeProfile } from "../../acme/helpers";
import { attrRequest } from "../../certificates/helpers";
import { createRootAndProfile } from "../../support/fixtures";
import { type CertmintClients, call, makeClients } from "../../support/harness";
import { createTestDatabase, type TestDatabase } from "../../support/postgres";
import { type ServerProcess, startServerProcess } from "../../support/server-process";
import { stopOnDatabase } from "../live";

export interface LiveServer {
  db: TestDatabase;
  server: ServerProcess;
  admin: CertmintClients;
  publicationPort: number;
  acmePort: number;
  /** The CA file that the ACME listener's certificate chains to. */
  acmeCaFile: string;
  caId: string;
  caPem: string;
  profile: string;
  /** A certificate issued on `profile` over gRPC. */
  leafPem: string;
  leafSerialHex: string;
  leafId: string;
  stop(): Promise<void>;
}

export async function startLiveServer(env: Record<string, string> = {}): Promise<LiveServer> {
  const db = await createTestDatabase({ migrated: true });
  const acme = await acmeSettings();
  const server = await startServerProcess({
    ...acme.env,
    DATABASE_URL: db.url,
    CERTMINT_PUBLICATION_LISTEN: "127.0.0.1:0",
    CERTMINT_PUBLIC_BASE_URL: "http://pki.test.internal",
    CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR: "0",
    ...env,
  });
  const out = server.output();
  const publicationPort = Number(
    /"port":(\d+)[^\n]*"msg":"publishing CRLs, CA certificates and OCSP over HTTP"/.exec(out)?.[1],
  );
  const acmePort = Number(/"port":(\d+),"tls":true,"msg":"serving ACME"/.exec(out)?.[1]);
  if (!publicationPort || !acmePort) {
    await server.stop();
    throw new Error(`ports not found in the server's log:\n${out}`);
  }
  const token = server.adminToken();
  const { root, profile } = await createRootAndProfile(server, db, token, {
    root: "root",
    profile: "web",
  });
  const admin = makeClients(server.address, token);
  await createAcmeProfile(admin, "web-acme");
  const issued = await call(
    admin.certificates,
    "issueCertificate",
    attrRequest(profile, { cn: "probe.example.com", dns: ["probe.example.com"] }),
  );
  const cert = issued.certificate!;
  return {
    db,
    server,
    admin,
    publicationPort,
    acmePort,
    acmeCaFile: acme.tlsCaFile,
    caId: root.id,
    caPem: root.certificatePem,
    profile,
    leafPem: cert.certificatePem,
    leafSerialHex: cert.serialNumber,
    leafId: cert.certificateId,
    stop: () => stopOnDatabase([admin], { server, db }),
  };
}

export interface PlainAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One plain-HTTP request on a connection of its own (node:http, so only well-formed requests). */
export function plainRequest(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string | number>; body?: Buffer } = {},
): Promise<PlainAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        agent: false,
        headers: options.headers ?? {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/**
 * Raw bytes on a new plain TCP connection; resolves with everything the server sent once it
 * closes the connection (or `until` matches what arrived, then the test closes it).
 */
export function rawExchange(
  port: number,
  write: (socket: Socket) => void,
  until?: (received: string) => boolean,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = "";
    const socket = connect({ host: "127.0.0.1", port }, () => write(socket));
    socket.on("data", (d: Buffer) => {
      received += d.toString("latin1");
      if (until?.(received)) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.on("error", (err) => (received ? resolve(received) : reject(err)));
    socket.on("close", () => resolve(received));
  });
}
