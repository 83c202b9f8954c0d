import type { Client } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateRootCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { type CertmintClients, call, makeClients } from "../support/harness";
import { type ServerProcess, START_LIMIT_MS, startServerProcess } from "../support/server-process";
import {
  acmeSettings,
  createAcmeProfile,
  lastLine,
  legoOk,
  readState,
  requireLego,
  stateDir,
  trustForLego,
  verifyBundle,
} from "./helpers";
import { AcmeTestClient } from "./jws-client";

/**
 * ACME on the embedded database (make run without DATABASE_URL): the migration applies on
 * PGlite, and its one session carries accounts, orders, validations and finalize (issue 16).
 */
describe("ACME on the embedded database", { timeout: 2 * START_LIMIT_MS }, () => {
  let server: ServerProcess;
  let c: CertmintClients;
  let settings: Awaited<ReturnType<typeof acmeSettings>>;
  let directory: string;
  let rootPem: string;

  beforeAll(async () => {
    requireLego();
    settings = await acmeSettings();
    server = await startServerProcess({ ...settings.env, DATABASE_URL: "" });
    const port = /"port":(\d+),"tls":true,"msg":"serving ACME"/.exec(server.output())?.[1];
    expect(port).toBeDefined();
    directory = `https://127.0.0.1:${port}/acme/web-acme/directory`;
    trustForLego(settings.tlsCaFile);
    c = makeClients(server.address, server.adminToken());
    const root = await call(
      c.authorities,
      "createRootCertificateAuthority",
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug: "root",
        subject: { commonName: "Embedded Root" },
      }),
    );
    rootPem = root.certificateAuthority!.certificatePem;
    await createAcmeProfile(c, "web-acme");
  }, 2 * START_LIMIT_MS);
  afterAll(async () => {
    for (const client of Object.values(c ?? {})) (client as Client).close();
    await server?.stop();
  });

  it("issues to lego over http-01 and refuses a replayed nonce", async () => {
    const dir = stateDir();
    const base = ["-server", directory, "-dir", dir];
    expect(lastLine(await legoOk([...base, "register"]))).toContain("/acme/web-acme/account/");
    await legoOk([
      ...base,
      "-domains",
      "embedded.acme.localhost",
      "-http-port",
      String(settings.httpPort),
      "obtain",
    ]);
    verifyBundle(readState(dir, "cert.pem"), rootPem);

    const client = new AcmeTestClient(directory, settings.tlsCaFile);
    await client.register();
    const body = await client.jws(client.dir.newOrder!, {
      identifiers: [{ type: "dns", value: "twice.acme.localhost" }],
    });
    expect((await client.http("POST", client.dir.newOrder!, body)).status).toBe(201);
    const replay = await client.http("POST", client.dir.newOrder!, body);
    expect(replay.json.type).toBe("urn:ietf:params:acme:error:badNonce");
  });
});
