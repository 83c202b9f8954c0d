/**
 * smallstep step-ca (built by `make bench-tools`) as its docs set it up for a PostgreSQL
 * backend: ca.json with `"db": {"type": "postgresql", "dataSource": ..., "database": ...}`
 * (step-ca creates the database and its key-value tables itself, smallstep/nosql), the
 * bench's P-256 intermediate as its signing key, and one JWK provisioner. Clients call
 * `POST /1.0/sign {"csr", "ott"}` over TLS (step-ca serves nothing else) with a one-time token:
 * a JWT signed by the provisioner's key, made here as the step CLI makes it
 * (`step ca token`): iss = provisioner name, aud = the sign URL, sub = the CSR's CN, sans = its
 * SANs, a fresh jti (step-ca stores every used token to refuse a replay: one more durable write
 * per issuance), iat after the CA started, a 5-minute validity.
 */
import { spawn } from "node:child_process";
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { freePort, type PostgresInstance } from "../common/postgres";
import { toolPath } from "../common/tools";
import type { Pki } from "./pki";

const PROVISIONER = "bench";
export const STEPCA_DATABASE = "stepca";

export interface StepCa {
  pid: number;
  signUrl: string;
  /** A fresh request body for one CSR: {"csr", "ott"}. */
  body(csr: { name: string; pem: string }): string;
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

/** RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order. */
function thumbprint(jwk: { crv: string; kty: string; x: string; y: string }): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return b64url(createHash("sha256").update(canonical).digest());
}

function ott(key: KeyObject, kid: string, aud: string, csr: { name: string }): string {
  const now = Math.ceil(Date.now() / 1000); // never before the CA's start (step-ca refuses that)
  const header = b64url(JSON.stringify({ alg: "ES256", kid, typ: "JWT" }));
  const payload = b64url(
    JSON.stringify({
      iss: PROVISIONER,
      aud,
      sub: csr.name,
      sans: [csr.name],
      jti: randomBytes(16).toString("hex"),
      iat: now,
      nbf: now,
      exp: now + 300,
    }),
  );
  const signature = sign("sha256", Buffer.from(`${header}.${payload}`), {
    key,
    dsaEncoding: "ieee-p1363", // JWS ES256 (RFC 7518 3.4): r || s
  });
  return `${header}.${payload}.${b64url(signature)}`;
}

function get(url: string, ca: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { ca, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", () => resolve(0));
    req.end();
  });
}

export async function startStepCa(opts: {
  dir: string;
  pki: Pki;
  pg: PostgresInstance;
  cpu?: number;
}): Promise<StepCa> {
  const port = await freePort();
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" }) as {
    crv: string;
    kty: string;
    x: string;
    y: string;
  };
  const kid = thumbprint(jwk);
  const config = {
    root: opts.pki.rootCert,
    crt: opts.pki.intermediateCert,
    key: opts.pki.intermediateKey,
    address: `127.0.0.1:${port}`,
    dnsNames: ["127.0.0.1"],
    logger: { format: "text" },
    db: {
      type: "postgresql",
      dataSource: `${opts.pg.url("")}?sslmode=disable`,
      database: STEPCA_DATABASE,
    },
    authority: {
      provisioners: [
        {
          type: "JWK",
          name: PROVISIONER,
          key: { ...jwk, use: "sig", alg: "ES256", kid },
          claims: { defaultTLSCertDuration: "24h", maxTLSCertDuration: "24h" },
        },
      ],
    },
  };
  const configFile = join(opts.dir, "ca.json");
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const logFile = join(opts.dir, "step-ca.log");
  const fd = openSync(logFile, "w");
  const stepCa = toolPath("step-ca");
  const [cmd, args] =
    opts.cpu === undefined
      ? [stepCa, [configFile]]
      : ["taskset", ["-c", String(opts.cpu), stepCa, configFile]];
  const child = spawn(cmd, args, { stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  process.once("exit", () => child.kill("SIGKILL"));
  const root = readFileSync(opts.pki.rootCert);
  const base = `https://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while ((await get(`${base}/health`, root)) !== 200) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`step-ca did not start:\n${readFileSync(logFile, "utf8")}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const signUrl = `${base}/1.0/sign`;
  return {
    pid: child.pid!,
    signUrl,
    body: (csr) => JSON.stringify({ csr: csr.pem, ott: ott(privateKey, kid, signUrl, csr) }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
