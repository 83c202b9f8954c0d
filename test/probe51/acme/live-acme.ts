/**
 * Probe 51 (ACME): the compiled server (dist/src/main.js) on a fresh database with its ACME
 * listener (HTTPS, validation on loopback at ephemeral challenge ports), the profile "web-acme"
 * (names under acme.localhost, test/acme/helpers.ts) and "open-acme" (any DNS name, IPv4 under
 * 127.0.0.0/8 and 10.0.0.0/8, ::1, wildcards), plus a test http-01 responder on 127.0.0.1 (and
 * on ::1 when `ipv6`). Black box: ports, gRPC
 * and PostgreSQL rows only.
 */
import { execFileSync } from "node:child_process";
import { type KeyObject, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import {
  CertificatePolicy,
  CertificatePolicyPreset,
} from "../../../gen/ts/certmint/v1/certificate_policy_service";
import {
  CertificateProfile,
  EnrollmentMethod,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { acmeSettings, createAcmeProfile } from "../../acme/helpers";
import { AcmeTestClient, type HttpResult, publicJwk, thumbprint } from "../../acme/jws-client";
import { stopOnDatabase } from "../../probe49/live";
import { createRootAndProfile } from "../../support/fixtures";
import { type CertmintClients, call, makeClients } from "../../support/harness";
import { createTestDatabase, type TestDatabase } from "../../support/postgres";
import { type ServerProcess, startServerProcess } from "../../support/server-process";
import { waitFor } from "../../support/wait";

export const ERR = "urn:ietf:params:acme:error:";

/** What the test's http-01 responder does with one request (default: the key authorization). */
export type Responder = (path: string, res: ServerResponse) => void;

export interface LiveAcme {
  /** The server's environment besides its database (a replica on the same database reuses it). */
  env: Record<string, string>;
  db: TestDatabase;
  server: ServerProcess;
  admin: CertmintClients;
  acmePort: number;
  httpPort: number;
  /** Where tls-alpn-01 connects (the test serves it). */
  tlsPort: number;
  caFile: string;
  /** Key authorizations the responder answers, by token. */
  keyAuths: Map<string, string>;
  /** Replaces the responder for what follows (undefined: key authorizations again). */
  respond(r: Responder | undefined): void;
  /** Paths the responder was asked for. */
  requested: string[];
  client(profile?: string, kind?: ConstructorParameters<typeof AcmeTestClient>[2]): AcmeTestClient;
  stop(): Promise<void>;
}

export async function startLiveAcme(
  env: Record<string, string> = {},
  options: { ipv6?: boolean } = {},
): Promise<LiveAcme> {
  const db = await createTestDatabase({ migrated: true });
  const acme = await acmeSettings();
  const serverEnv = {
    ...acme.env,
    CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR: "0",
    ...env,
  };
  const server = await startServerProcess({ ...serverEnv, DATABASE_URL: db.url });
  const acmePort = acmePortOf(server);
  if (!acmePort) {
    await server.stop();
    await db.drop();
    throw new Error(`ACME port not found in the server's log:\n${server.output()}`);
  }
  const token = server.adminToken();
  await createRootAndProfile(server, db, token, { root: "root", profile: "web" });
  const admin = makeClients(server.address, token);
  await createAcmeProfile(admin, "web-acme");
  await call(admin.policies, "createCertificatePolicy", {
    certificatePolicy: CertificatePolicy.fromPartial({
      slug: "open-acme-policy",
      sanRules: {
        dns: { allowed: ["**"], allowWildcardNames: true },
        ip: { allowed: ["127.0.0.0/8", "10.0.0.0/8", "::1/128"] },
      },
      subjectRules: { commonName: { allowed: ["*"] } },
      maxTtl: { seconds: String(90 * 86_400), nanos: 0 },
    }),
    preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
  });
  await call(admin.profiles, "createCertificateProfile", {
    certificateProfile: CertificateProfile.fromPartial({
      slug: "open-acme",
      certificatePolicy: "open-acme-policy",
      issuer: { $case: "certificateAuthority", value: "root" },
      enrollmentMethod: EnrollmentMethod.ENROLLMENT_METHOD_ACME,
    }),
  });
  const keyAuths = new Map<string, string>();
  const requested: string[] = [];
  let responder: Responder | undefined;
  const challengeServer: Server = createServer((req, res) => {
    const path = req.url ?? "";
    requested.push(path);
    if (responder) return responder(path, res);
    const auth = keyAuths.get(path.split("/").at(-1) ?? "");
    if (auth === undefined) res.statusCode = 404;
    res.end(auth ?? "");
  });
  await new Promise<void>((r) => challengeServer.listen(acme.httpPort, "127.0.0.1", r));
  const v6 = options.ipv6
    ? createServer(challengeServer.listeners("request")[0] as never)
    : undefined;
  if (v6) await new Promise<void>((r) => v6.listen(acme.httpPort, "::1", r));
  return {
    env: serverEnv,
    db,
    server,
    admin,
    acmePort,
    httpPort: acme.httpPort,
    tlsPort: acme.tlsPort,
    caFile: acme.tlsCaFile,
    keyAuths,
    requested,
    respond: (r) => {
      responder = r;
    },
    client: (profile = "web-acme", kind = "ES256") =>
      new AcmeTestClient(
        `https://127.0.0.1:${acmePort}/acme/${profile}/directory`,
        acme.tlsCaFile,
        kind,
      ),
    async stop() {
      await new Promise((r) => challengeServer.close(r));
      if (v6) await new Promise((r) => v6.close(r));
      await stopOnDatabase([admin], { server, db });
    },
  };
}

export interface OrderUrls {
  url: string;
  finalize: string;
  authzUrls: string[];
  order: HttpResult;
}

/** newOrder with typed identifiers; fails the test unless it is 201. */
/** The ACME port a server process logged it serves on. */
export function acmePortOf(server: ServerProcess): number {
  return Number(/"port":(\d+),"tls":true,"msg":"serving ACME"/.exec(server.output())?.[1]);
}

export async function order(
  c: AcmeTestClient,
  identifiers: Array<{ type: string; value: string }>,
): Promise<OrderUrls> {
  const r = await c.post(c.dir.newOrder!, { identifiers });
  expect(r.status, r.text).toBe(201);
  return {
    url: r.headers.location as string,
    finalize: r.json.finalize as string,
    authzUrls: r.json.authorizations as string[],
    order: r,
  };
}

/** The challenge of `type` of an authorization. */
export async function challengeOf(c: AcmeTestClient, authzUrl: string, type = "http-01") {
  const authz = await c.post(authzUrl, "");
  const ch = (authz.json.challenges as Array<{ type: string; url: string; token: string }>).find(
    (x) => x.type === type,
  );
  if (!ch) throw new Error(`no ${type} challenge in ${authz.text}`);
  return ch;
}

/** Answers and starts every authorization's http-01 challenge; waits for the order to be ready. */
export async function readyOrder(
  live: LiveAcme,
  c: AcmeTestClient,
  identifiers: Array<{ type: string; value: string }>,
): Promise<OrderUrls> {
  const o = await order(c, identifiers);
  for (const authzUrl of o.authzUrls) {
    const ch = await challengeOf(c, authzUrl);
    live.keyAuths.set(ch.token, `${ch.token}.${thumbprint(publicJwk(c.key.publicKey))}`);
    const started = await c.post(ch.url, {});
    expect(started.status, started.text).toBe(200);
  }
  await waitFor("the order to be ready", async () => {
    const s = (await c.post(o.url, "")).json.status;
    if (s === "invalid") throw new Error("the order became invalid");
    return s === "ready";
  });
  return o;
}

/** The status of an authorization once it is no longer pending. */
export async function settledAuthorization(c: AcmeTestClient, authzUrl: string) {
  let final: HttpResult | undefined;
  await waitFor("the authorization to settle", async () => {
    final = await c.post(authzUrl, "");
    return final.json.status !== "pending";
  });
  return final!;
}

/** A CSR (DER) made by openssl with `key` (or a new P-256 key) and the given extensions. */
export function csrDer(
  subject: string,
  sans: string[],
  options: { key?: KeyObject; newKey?: string[]; addext?: string[] } = {},
): { der: Buffer; keyPem: string } {
  const dir = mkdtempSync(join(tmpdir(), "certmint-probe51-csr-"));
  try {
    const keyFile = join(dir, "key.pem");
    const keyArgs = options.key
      ? (() => {
          writeFileSync(keyFile, options.key.export({ format: "pem", type: "pkcs8" }) as string);
          return ["-key", keyFile];
        })()
      : [
          ...(options.newKey ?? ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
          "-nodes",
          "-keyout",
          keyFile,
        ];
    execFileSync(
      "openssl",
      [
        "req",
        "-new",
        ...keyArgs,
        "-subj",
        subject,
        ...(sans.length ? ["-addext", `subjectAltName=${sans.join(",")}`] : []),
        ...(options.addext ?? []).flatMap((e) => ["-addext", e]),
        "-outform",
        "DER",
        "-out",
        join(dir, "csr.der"),
      ],
      { stdio: "ignore" },
    );
    return { der: readFileSync(join(dir, "csr.der")), keyPem: readFileSync(keyFile, "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Finalizes and waits for the order to be valid; returns the leaf certificate downloaded. */
export async function issued(c: AcmeTestClient, o: OrderUrls, csr: Buffer) {
  const r = await c.post(o.finalize, { csr: csr.toString("base64url") });
  expect(r.status, r.text).toBe(200);
  let certUrl = "";
  await waitFor("the order to be valid", async () => {
    const s = await c.post(o.url, "");
    certUrl = (s.json.certificate as string) ?? "";
    return s.json.status === "valid";
  });
  const pem = await c.post(certUrl, "");
  expect(pem.status, pem.text).toBe(200);
  const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem.text)![0];
  return { certUrl, leaf: new X509Certificate(first), pem: pem.text };
}

/** RFC 8555 6.7 / RFC 7807: a problem document of `type` with `status`, and a fresh nonce. */
export function expectProblem(r: HttpResult, type: string, status: number): void {
  expect([r.status, r.json.type], r.text).toEqual([status, `${ERR}${type}`]);
  expect(r.headers["content-type"]).toBe("application/problem+json");
  expect(r.json.status).toBe(status);
}

export const idOf = (url: string) => url.split("/").at(-1)!;
