import { createServer, type Server } from "node:http";
import type { Client } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateRootCertificateAuthorityRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import { ListCertificatesRequest } from "../../../gen/ts/certmint/v1/certificate_service";
import { acmeSettings, createAcmeProfile, verifyBundle } from "../../acme/helpers";
import { AcmeTestClient } from "../../acme/jws-client";
import { acmePortOf } from "../../probe51/acme/live-acme";
import { type CertmintClients, call, makeClients } from "../../support/harness";
import {
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../../support/server-process";
import { eachAtOnce, FleetClient } from "./fleet-client";

/**
 * Probe 53 (LOADACME), scenario 5: the embedded database (no DATABASE_URL: what `make run`
 * starts, PGlite, one connection) under a controller's 50 orders at once from one account
 * (the flow of controller-fleet.test.ts, retrying 429/503 after Retry-After as x/crypto/acme
 * does). Every order must end valid with a certificate that verifies, with no refusal the
 * client cannot get past (a serverInternal from a stalled or deadlocked connection would be one).
 */
const ORDERS = 50;

describe("a controller's orders at once on the embedded database", {
  timeout: 2 * START_LIMIT_MS,
}, () => {
  let server: ServerProcess;
  let admin: CertmintClients;
  let rootPem: string;
  let fleet: FleetClient;
  let challenges: Server;
  const keyAuths = new Map<string, string>();

  beforeAll(async () => {
    const settings = await acmeSettings();
    server = await startServerProcess({ ...settings.env, DATABASE_URL: "" });
    admin = makeClients(server.address, server.adminToken());
    const root = await call(
      admin.authorities,
      "createRootCertificateAuthority",
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug: "root",
        subject: { commonName: "Embedded Root" },
      }),
    );
    rootPem = root.certificateAuthority!.certificatePem;
    await createAcmeProfile(admin, "web-acme");
    challenges = createServer((req, res) => {
      const auth = keyAuths.get((req.url ?? "").split("/").at(-1) ?? "");
      if (auth === undefined) res.statusCode = 404;
      res.end(auth ?? "");
    });
    await new Promise<void>((r) => challenges.listen(settings.httpPort, "127.0.0.1", r));
    const directory = `https://127.0.0.1:${acmePortOf(server)}/acme/web-acme/directory`;
    fleet = new FleetClient(new AcmeTestClient(directory, settings.tlsCaFile), keyAuths);
    await fleet.register();
  }, 2 * START_LIMIT_MS);
  afterAll(async () => {
    await new Promise((r) => challenges?.close(r));
    for (const client of Object.values(admin ?? {})) (client as Client).close();
    await server?.stop();
  });

  it(`${ORDERS} orders at once all end valid, with only refusals the client gets past`, async () => {
    const names = (i: number) => [`e${i}.emb.acme.localhost`];
    const results = await eachAtOnce(
      Array.from({ length: ORDERS }, (_, i) => i),
      ORDERS,
      (i) => fleet.certificate(names(i)),
    );
    const errors = results.flatMap((r) => ("error" in r ? [r.error] : []));
    expect(errors, errors.slice(0, 5).join("\n")).toEqual([]);
    for (const r of fleet.refusals) {
      if (r.status === 400) expect(r.type).toBe("urn:ietf:params:acme:error:badNonce");
      else {
        expect([429, 503], JSON.stringify(r)).toContain(r.status);
        if (r.method !== "HEAD") expect(r.type).toBe("urn:ietf:params:acme:error:rateLimited");
        expect(r.retryAfter, JSON.stringify(r)).toBeDefined();
      }
    }
    results.forEach((r, i) => {
      const leaf = verifyBundle((r as { ok: { pem: string } }).ok.pem, rootPem);
      expect(leaf.subjectAltName).toBe(`DNS:${names(i)[0]}`);
    });
    // Every certificate in the inventory, through the API.
    const listed = await call(
      admin.certificates,
      "listCertificates",
      ListCertificatesRequest.fromPartial({ pageSize: 100 }),
    );
    expect(listed.certificates.length).toBe(ORDERS);
  });
});
