/**
 * Security review: a client certificate stops authenticating when it expires, also on a
 * connection (or a watch) opened while it was valid. TLS checks the dates once, in the
 * handshake; before, calls on a connection made with a certificate that has since expired
 * kept authenticating as its binding until the connection's maximum age. The TLS server here
 * reads a clock the test moves, so the certificate expires for certmint while the handshake
 * (the system clock) still accepts it.
 */
import { type Client, credentials, status } from "@grpc/grpc-js";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClientCertificateIdentityType,
  CreateAccessTokenRequest,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import { type RunningCertmint, startCertmint } from "../../src/app";
import { loadConfig } from "../../src/config";
import { presetSpec } from "../../src/issuance/policy-engine";
import { attrRequest } from "../certificates/helpers";
import { MovableClock } from "../renewal/helpers";
import { createProfileRows, createRoot } from "../support/fixtures";
import {
  type CertmintClients,
  call,
  decodeError,
  expectRpcError,
  makeClients,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { TempDir } from "../support/openssl";
import { waitFor } from "../support/wait";
import { WatchStream } from "../support/watch-stream";
import { type Issued, makeCa, makeLeaf } from "../tls/pki";

describe("a client certificate that expires while its connection is open", () => {
  const dir = new TempDir();
  const clock = new MovableClock();
  let h: TestCertmint;
  let tls: RunningCertmint;
  let serverCa: Issued;
  let client: { certPem: string; keyPem: string };
  const opened: CertmintClients[] = [];

  const list = (c: CertmintClients) =>
    call(c.authorities, "listCertificateAuthorities", { pageSize: 0, pageToken: "", status: 0 });

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "clients-root");
    const spec = presetSpec("TLS_CLIENT");
    spec.sans.dns = { allowed: ["**.example.com"], denied: [], required: false };
    await createProfileRows(h, { slug: "clients", caId: root.id, spec });
    const issued = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("clients", { dns: ["job.example.com"], ttlSeconds: 3600 }),
    );
    client = { certPem: issued.certificate!.certificatePem, keyPem: issued.privateKeyPem };
    await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug: "job",
          role: Role.ROLE_AUDITOR,
          clientCertificateBinding: {
            identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_DNS_SAN,
            value: "job.example.com",
            certificateAuthority: "clients-root",
          },
        },
        ttl: { seconds: String(30 * 86_400), nanos: 0 },
      }),
    );
    serverCa = makeCa(dir, "server CA");
    const server = makeLeaf(dir, serverCa, "certmint", "server");
    const config = loadConfig({
      CERTMINT_LISTEN: "127.0.0.1:0",
      DATABASE_URL: h.db.url,
      CERTMINT_DATA_DIR: h.dataDir,
      CERTMINT_SHUTDOWN_GRACE_MS: "1000",
      CERTMINT_WATCH_KEEPALIVE_MS: "200",
      CERTMINT_TLS_CERT_FILE: server.certFile,
      CERTMINT_TLS_KEY_FILE: server.keyFile,
      CERTMINT_TLS_CLIENT_CA_FILE: dir.file("clients-root.pem", root.certificatePem),
      CERTMINT_TLS_REQUIRE_CLIENT_CERT: "true",
    });
    tls = await startCertmint(config, pino({ level: "silent" }), { now: clock.now });
  });
  afterAll(async () => {
    for (const set of opened) for (const c of Object.values(set)) (c as Client).close();
    await tls?.shutdown();
    await h?.stop();
    dir.remove();
  });

  it("calls on the open connection, and its watch, are UNAUTHENTICATED (CLIENT_CERTIFICATE_EXPIRED) once it has expired", async () => {
    const c = makeClients(
      `127.0.0.1:${tls.port}`,
      undefined,
      credentials.createSsl(
        Buffer.from(serverCa.certPem),
        Buffer.from(client.keyPem),
        Buffer.from(client.certPem),
      ),
    );
    opened.push(c);
    expect((await list(c)).certificateAuthorities).toHaveLength(1);
    const w = new WatchStream(c, {});
    await waitFor("the watch open", () => w.open);

    clock.advance(2 * 3600);
    const err = await expectRpcError(list(c));
    expect(err).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "CLIENT_CERTIFICATE_EXPIRED",
    });
    await waitFor("the watch to end", () => w.error !== undefined);
    expect(decodeError(w.error)).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "CLIENT_CERTIFICATE_EXPIRED",
    });
  });
});
