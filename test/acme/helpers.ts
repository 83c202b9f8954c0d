import { spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CertificatePolicy,
  CertificatePolicyPreset,
} from "../../gen/ts/certmint/v1/certificate_policy_service";
import {
  CertificateProfile,
  EnrollmentMethod,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import { createRoot } from "../support/fixtures";
import {
  type CertmintClients,
  call,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { opensslOk, TempDir } from "../support/openssl";
import { unusedPort } from "../support/ports";
import { ROOT } from "../support/server-process";
import { makeCa, makeLeaf } from "../tls/pki";

/**
 * The lego client (test/clients/lego: the lego ACME library, pinned, built by `make lego`
 * into .tools/bin). LEGO_CLIENT overrides the path.
 */
export const LEGO_CLIENT = process.env.LEGO_CLIENT ?? join(ROOT, ".tools", "bin", "lego-client");

export function requireLego(): void {
  if (!existsSync(LEGO_CLIENT)) {
    throw new Error(`${LEGO_CLIENT} is missing: run \`make lego\` (make test depends on it)`);
  }
}

/** A challenge port the ACME client binds later (support/ports.ts). */
export const freePort = unusedPort;

export interface AcmeServer {
  h: TestCertmint;
  /** The CA file of the ACME listener's HTTPS certificate (clients trust it). */
  tlsCaFile: string;
  /** The root CA certificate (PEM) the ACME profile's certificates chain to. */
  rootPem: string;
  directory(profile?: string): string;
  httpPort: number;
  tlsPort: number;
}

/**
 * certmint with the ACME listener on over HTTPS (a test CA's certificate for 127.0.0.1, clients
 * trust that CA; the gRPC port stays plaintext on loopback), challenges validated on loopback only
 * (CERTMINT_ACME_VALIDATION_NETWORKS=127.0.0.0/8) at ports the test's clients serve, and an
 * ACME profile "web-acme" whose policy allows names under acme.localhost except
 * denied.acme.localhost (names under .localhost resolve to loopback, RFC 6761 6.3).
 */
export async function startAcmeServer(env: Record<string, string> = {}): Promise<AcmeServer> {
  const settings = await acmeSettings();
  const h = await startTestCertmint({ ...settings.env, ...env });
  const { httpPort, tlsPort, tlsCaFile: caFile } = settings;
  const root = await createRoot(h, "root");
  await createAcmeProfile(h, "web-acme");
  return {
    h,
    tlsCaFile: caFile,
    rootPem: root.certificatePem,
    directory: (profile = "web-acme") =>
      `https://127.0.0.1:${h.running.acmePort}/acme/${profile}/directory`,
    httpPort,
    tlsPort,
  };
}

/**
 * The ACME settings of a test server: HTTPS with a test CA's certificate for 127.0.0.1,
 * validation on loopback only, at challenge ports free now.
 */
export async function acmeSettings(): Promise<{
  env: Record<string, string>;
  httpPort: number;
  tlsPort: number;
  tlsCaFile: string;
}> {
  const httpPort = await freePort();
  const tlsPort = await freePort();
  const pki = new TempDir();
  const ca = makeCa(pki, "ACME listener test CA");
  const leaf = makeLeaf(pki, ca, "127.0.0.1", "server");
  return {
    env: {
      CERTMINT_ACME_LISTEN: "127.0.0.1:0",
      CERTMINT_ACME_TLS_CERT_FILE: leaf.certFile,
      CERTMINT_ACME_TLS_KEY_FILE: leaf.keyFile,
      CERTMINT_ACME_VALIDATION_NETWORKS: "127.0.0.0/8",
      CERTMINT_ACME_HTTP01_PORT: String(httpPort),
      CERTMINT_ACME_TLS_ALPN01_PORT: String(tlsPort),
    },
    httpPort,
    tlsPort,
    tlsCaFile: ca.certFile,
  };
}

/** A TLS-server policy for *.acme.localhost and an ACME profile over it, created over gRPC. */
export async function createAcmeProfile(
  h: Pick<CertmintClients, "policies" | "profiles">,
  slug: string,
  options: { requireApproval?: boolean } = {},
): Promise<void> {
  await call(h.policies, "createCertificatePolicy", {
    certificatePolicy: CertificatePolicy.fromPartial({
      slug: `${slug}-policy`,
      sanRules: {
        dns: {
          allowed: ["**.acme.localhost"],
          denied: ["denied.acme.localhost"],
          allowWildcardNames: true,
        },
      },
      subjectRules: { commonName: { allowed: ["*"] } },
      maxTtl: { seconds: String(90 * 86_400), nanos: 0 },
    }),
    preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
  });
  await call(h.profiles, "createCertificateProfile", {
    certificateProfile: CertificateProfile.fromPartial({
      slug,
      certificatePolicy: `${slug}-policy`,
      issuer: { $case: "certificateAuthority", value: "root" },
      enrollmentMethod: EnrollmentMethod.ENROLLMENT_METHOD_ACME,
      requireApproval: options.requireApproval ?? false,
    }),
  });
}

export interface LegoResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CA lego trusts for the ACME listener's HTTPS (LEGO_CA_CERTIFICATES). */
let legoCaFile: string | undefined;
export function trustForLego(caFile: string): void {
  legoCaFile = caFile;
}

/**
 * Runs the lego client with `args` (asynchronously: certmint serves in this process), `env`
 * added to its environment (LEGO_EAB_HMAC: the EAB key, kept out of argv).
 */
export function lego(args: string[], env: Record<string, string> = {}): Promise<LegoResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(LEGO_CLIENT, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...(legoCaFile ? { LEGO_CA_CERTIFICATES: legoCaFile } : {}), ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Like lego(), failing with the client's output when it does not succeed. */
export async function legoOk(args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await lego(args, env);
  if (r.code !== 0)
    throw new Error(`lego-client ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The client's result line (lego logs on stdout before it). */
export const lastLine = (stdout: string) => stdout.trim().split("\n").at(-1) ?? "";

export const stateDir = () => mkdtempSync(join(tmpdir(), "certmint-acme-client-"));

/** `openssl verify` of a PEM bundle (leaf first) against the root; returns the leaf. */
export function verifyBundle(bundlePem: string, rootPem: string): X509Certificate {
  const certs =
    bundlePem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (certs.length < 2)
    throw new Error(`expected the certificate and its chain, got ${certs.length}`);
  const dir = new TempDir();
  try {
    const rootFile = dir.file("root.pem", rootPem);
    const leafFile = dir.file("leaf.pem", `${certs[0]}\n`);
    const untrusted = dir.file("chain.pem", `${certs.slice(1).join("\n")}\n`);
    const out = opensslOk([
      "verify",
      "-x509_strict",
      "-purpose",
      "sslserver",
      "-CAfile",
      rootFile,
      "-untrusted",
      untrusted,
      leafFile,
    ]);
    if (!out.includes(": OK")) throw new Error(`openssl verify: ${out}`);
  } finally {
    dir.remove();
  }
  return new X509Certificate(certs[0]!);
}

export const readState = (dir: string, file: string) => readFileSync(join(dir, file), "utf8");
