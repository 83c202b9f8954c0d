/**
 * Security review: a client certificate stops authenticating when it expires, also on a
 * connection (or a watch) opened while it was valid. TLS checks the dates once, in the
 * handshake; before, calls on a connection made with a certificate that has since expired
 * kept authenticating as its binding until the connection's maximum age. The TLS server here
 * reads a clock the test moves, so the certificate expires for certmint while the handshake
 * (the system clock) still accepts it.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClientCertificateIdentityType,
  CreateAccessTokenRequest,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import { presetSpec } from "../../src/issuance/policy-engine";
import { attrRequest } from "../certificates/helpers";
import { MovableClock } from "../renewal/helpers";
import { createProfileRows, createRoot } from "../support/fixtures";
import {
  type CertmintClients,
  call,
  decodeError,
  expectRpcError,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { type ClientCert, type MtlsServer, startMtlsServer } from "../support/mtls-server";
import { TempDir } from "../support/openssl";
import { waitFor } from "../support/wait";
import { WatchStream } from "../support/watch-stream";

describe("a client certificate that expires while its connection is open", () => {
  const dir = new TempDir();
  const clock = new MovableClock();
  let h: TestCertmint;
  let tls: MtlsServer;
  let client: ClientCert;

  const list = (c: CertmintClients) =>
    call(c.authorities, "listCertificateAuthorities", { pageSize: 0, pageToken: "", status: 0 });

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "clients-root");
    const spec = presetSpec("TLS_CLIENT");
    spec.sans.dns = { allowed: ["**.example.com"], denied: [], required: false };
    await createProfileRows(h, { slug: "clients", caId: root.id, spec });
    // Bound first, then issued: an admin's certificate counts only for a binding made before it.
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
    const issued = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("clients", { dns: ["job.example.com"], ttlSeconds: 3600 }),
    );
    client = { certPem: issued.certificate!.certificatePem, keyPem: issued.privateKeyPem };
    tls = await startMtlsServer(h, dir, root.certificatePem, {
      env: { CERTMINT_WATCH_KEEPALIVE_MS: "200" },
      now: clock.now,
    });
  });
  afterAll(async () => {
    await tls?.stop();
    await h?.stop();
    dir.remove();
  });

  it("calls on the open connection, and its watch, are UNAUTHENTICATED (CLIENT_CERTIFICATE_EXPIRED) once it has expired", async () => {
    const c = tls.over(client);
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
