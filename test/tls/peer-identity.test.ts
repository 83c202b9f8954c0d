import { createHash } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import {
  type Client,
  credentials,
  makeGenericClientConstructor,
  Server,
  type ServiceDefinition,
} from "@grpc/grpc-js";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CallContext, unary } from "../../src/api/unary";
import { peerIdentity } from "../../src/auth/peer-identity";
import { loadConfig } from "../../src/config";
import { serverCredentials } from "../../src/server/tls";
import { TempDir } from "../support/openssl";
import { OWN_CONNECTION } from "../support/own-connection";
import { type Issued, makeCa, makeLeaf } from "./pki";

// A one-method service whose handler, wrapped by `unary` as every certmint handler is,
// returns what its CallContext says about the peer.
const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v ?? null)),
  deserialize: (b: Buffer) => JSON.parse(b.toString()),
};
const SERVICE: ServiceDefinition = {
  whoAmI: {
    path: "/test.Peer/WhoAmI",
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};
const PeerClient = makeGenericClientConstructor(SERVICE, "Peer");

function whoAmI(
  port: number,
  client?: Issued,
  ca?: Issued,
): Promise<ReturnType<typeof describePeer> | undefined> {
  const creds = ca
    ? credentials.createSsl(
        Buffer.from(ca.certPem),
        client ? Buffer.from(client.keyPem) : null,
        client ? Buffer.from(client.certPem) : null,
      )
    : credentials.createInsecure();
  const c = new PeerClient(`127.0.0.1:${port}`, creds, OWN_CONNECTION) as unknown as Client & {
    whoAmI(req: unknown, cb: (err: Error | null, res: unknown) => void): void;
  };
  return new Promise((resolve, reject) =>
    c.whoAmI({}, (err, res) => {
      c.close();
      if (err) reject(err);
      else
        resolve(((res as { peer: unknown }).peer ?? undefined) as ReturnType<typeof describePeer>);
    }),
  );
}

/** The peer as JSON: its DER as the DER's SHA-256. */
function describePeer(peer: CallContext["peerCertificate"]) {
  if (!peer) return null;
  const { der, ...rest } = peer;
  return { ...rest, derSha256: createHash("sha256").update(der).digest("hex") };
}

async function serve(env: Record<string, string>): Promise<{ server: Server; port: number }> {
  const logger = pino({ level: "silent" });
  const config = loadConfig({ CERTMINT_LISTEN: "127.0.0.1:0", ...env });
  const server = new Server();
  server.addService(SERVICE, {
    whoAmI: unary("WhoAmI", async (_req, ctx) => ({ peer: describePeer(ctx.peerCertificate) }), {
      logger,
      readiness: { ready: true },
      // Authentication is not under test here: every call is one admin.
      security: () => ({
        authenticate: async () => ({ id: "t", slug: "t", role: "ADMIN", profileIds: [] }),
        admit: () => undefined,
        authorize: () => undefined,
        tokenCreated: () => undefined,
        recordOutcome: async () => undefined,
        forgetCredential: () => undefined,
        auditRecordCommitted: async () => false,
      }),
    }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", serverCredentials(config, logger), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { server, port };
}

describe("the verified client certificate reaches handlers as CallContext.peerCertificate", () => {
  const dir = new TempDir();
  let ca: Issued;
  let client: Issued;
  let mtls: { server: Server; port: number };
  let plain: { server: Server; port: number };

  beforeAll(async () => {
    ca = makeCa(dir, "peer test CA");
    const serverCert = makeLeaf(dir, ca, "server", "server");
    client = makeLeaf(dir, ca, "batch-job", "client", [
      "URI:spiffe://prod.example/ns/batch/sa/job",
      "DNS:job.batch.internal",
    ]);
    mtls = await serve({
      CERTMINT_TLS_CERT_FILE: serverCert.certFile,
      CERTMINT_TLS_KEY_FILE: serverCert.keyFile,
      CERTMINT_TLS_CLIENT_CA_FILE: ca.certFile,
    });
    plain = await serve({});
  });
  afterAll(() => {
    mtls?.server.forceShutdown();
    plain?.server.forceShutdown();
    dir.remove();
  });

  it("gives subject, common name, URI and DNS SANs, serial and fingerprint", async () => {
    expect(await whoAmI(mtls.port, client, ca)).toEqual({
      subject: "CN=batch-job",
      commonName: "batch-job",
      uris: ["spiffe://prod.example/ns/batch/sa/job"],
      dnsNames: ["job.batch.internal"],
      serialNumber: client.serial,
      fingerprintSha256: client.fingerprint,
      derSha256: client.fingerprint,
    });
  });

  it("is absent over TLS without a client certificate, and over plaintext", async () => {
    expect(await whoAmI(mtls.port, undefined, ca)).toBeUndefined();
    expect(await whoAmI(plain.port)).toBeUndefined();
  });
});

describe("a verified client certificate the parser refuses", () => {
  it("presents no names and says why, so its refusal can name the reason", () => {
    const raw = Buffer.from("30030201ff", "hex"); // DER, but no certificate
    const identity = peerIdentity({
      sslPeerCertificate: {
        raw,
        fingerprint256: "unparsable",
        serialNumber: "0A",
      } as PeerCertificate,
    });
    expect(identity).toMatchObject({ uris: [], dnsNames: [], serialNumber: "0a" });
    expect(identity?.unreadable).toMatch(/\S/);
    expect(identity?.fingerprintSha256).toBe(createHash("sha256").update(raw).digest("hex"));
  });
});
