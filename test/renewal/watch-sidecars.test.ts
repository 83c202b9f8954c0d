/**
 * The example sidecars (examples/watch-sidecar: TypeScript with gen/ts, Go with gen/go), run
 * as a deployment would run them against a server process: each watches a certificate and,
 * when the server renews it (its profile's automatic renewal is switched on once both watch), writes the successor (with its chain) and its
 * new key (mode 0600) to its directory, with no other call to certmint.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createPrivateKey, createPublicKey, randomBytes, X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@grpc/grpc-js";
import { buildSync } from "esbuild";
import { describe, expect, it } from "vitest";
import { AccessToken, Role } from "../../gen/ts/certmint/v1/access_token_service";
import {
  RenewalKeySource,
  RenewCertificateRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import { type CertmintClients, call, makeClients } from "../support/harness";
import { openssl, TempDir } from "../support/openssl";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { issueCertificateDueForRenewal, renewAutomatically } from "../support/renewal-due";
import {
  ROOT,
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../support/server-process";
import { waitFor } from "../support/wait";

const EXAMPLES = join(ROOT, "examples", "watch-sidecar");

/** The TypeScript sidecar bundled into one file for node. */
function buildTsSidecar(outdir: string): string {
  const outfile = join(outdir, "watch-sidecar.js");
  buildSync({
    entryPoints: [join(EXAMPLES, "ts", "watch-sidecar.ts")],
    bundle: true,
    platform: "node",
    target: "node20",
    outfile,
    logLevel: "warning",
  });
  return outfile;
}

/** The first certificate of a PEM bundle. */
const firstCert = (pem: string) =>
  new X509Certificate(pem.slice(0, pem.indexOf("-----END CERTIFICATE-----") + 25));

describe("the example watch sidecars", { timeout: START_LIMIT_MS + 300_000 }, () => {
  it("write the server-renewed certificate and its new key (0600), in TypeScript and Go", async () => {
    const tmp = new TempDir();
    const work = mkdtempSync(join(tmpdir(), "certmint-sidecars-"));
    let db: TestDatabase | undefined;
    let server: ServerProcess | undefined;
    let c: CertmintClients | undefined;
    const sidecars: ChildProcess[] = [];
    const output: Record<string, string> = { ts: "", go: "" };
    const exits: Record<string, number | null | undefined> = {};
    try {
      db = await createTestDatabase({ migrated: true });
      server = await startServerProcess({
        DATABASE_URL: db.url,
        CERTMINT_KEK: randomBytes(32).toString("base64"),
        CERTMINT_RENEWAL_TICK_MS: "200",
      });
      c = makeClients(server.address, server.adminToken());
      const { root, issued } = await issueCertificateDueForRenewal(c, {
        rootName: "Sidecar Root",
        name: "side.example.com",
      });
      const original = new X509Certificate(issued.certificate!.certificatePem);

      const env = { ...process.env, CERTMINT_TOKEN: server.adminToken() };
      const dirs = { ts: mkdtempSync(join(work, "ts-")), go: mkdtempSync(join(work, "go-")) };
      const commands = {
        ts: { cmd: process.execPath, args: [buildTsSidecar(work)], cwd: ROOT, env: {} },
        go: {
          cmd: "go",
          args: ["run", "."],
          cwd: join(EXAMPLES, "go"),
          env: { GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local" },
        },
      };
      for (const lang of ["ts", "go"] as const) {
        const { cmd, args, cwd, env: extra } = commands[lang];
        const child = spawn(
          cmd,
          [...args, server.address, issued.certificate!.certificateId, dirs[lang]],
          { cwd, env: { ...env, ...extra } },
        );
        child.stdout?.on("data", (d) => {
          output[lang] += d;
        });
        child.stderr?.on("data", (d) => {
          output[lang] += d;
        });
        child.on("exit", (code) => {
          exits[lang] = code;
        });
        sidecars.push(child);
      }

      // Each sidecar has written the certificate as it is (its CURRENT event) and now waits for
      // a renewal; then the profile starts renewing automatically and the certificate is due.
      for (const lang of ["ts", "go"] as const) {
        await waitFor(
          `the ${lang} sidecar to receive the current certificate`,
          () => output[lang].includes("CERTIFICATE_EVENT_TYPE_CURRENT"),
          180_000,
        ).catch((err) => {
          throw new Error(`${err}\n${lang} sidecar output:\n${output[lang]}`);
        });
      }
      await renewAutomatically(c);
      for (const lang of ["ts", "go"] as const) {
        const certFile = join(dirs[lang], "cert.pem");
        await waitFor(
          `the ${lang} sidecar to write the renewed certificate`,
          () =>
            existsSync(certFile) &&
            firstCert(readFileSync(certFile, "utf8")).serialNumber !== original.serialNumber,
          180_000,
        ).catch((err) => {
          throw new Error(`${err}\n${lang} sidecar output:\n${output[lang]}`);
        });
        const pem = readFileSync(certFile, "utf8");
        const successor = firstCert(pem);
        expect(successor.subjectAltName).toBe("DNS:side.example.com");
        const verified = openssl([
          "verify",
          "-x509_strict",
          "-CAfile",
          tmp.file(`root-${lang}.pem`, root.certificatePem),
          tmp.file(`leaf-${lang}.pem`, pem),
        ]);
        expect(verified.stdout + verified.stderr).toMatch(/: OK/);
        // Its new key, next to it, readable by the owner only.
        const keyFile = join(dirs[lang], "key.pem");
        expect(statSync(keyFile).mode & 0o777).toBe(0o600);
        const key = createPrivateKey(readFileSync(keyFile, "utf8"));
        expect(createPublicKey(key).export({ type: "spki", format: "der" })).toEqual(
          successor.publicKey.export({ type: "spki", format: "der" }),
        );
        expect(readFileSync(join(dirs[lang], "cursor"), "utf8").trim()).toMatch(/^\d+$/);
        // The sidecar prints the event after writing its files: its line may still be on the way.
        await waitFor(`the ${lang} sidecar to print the RENEWED event`, () =>
          output[lang].includes("CERTIFICATE_EVENT_TYPE_RENEWED"),
        );
      }

      // Another admin renews the successor with a new key: the key is that token's, and the
      // sidecars (the first admin's) get the certificate without it. They must not write it
      // beside a key it does not match (found by an outside probe, 2026-12-05): each stops with
      // exit 1, its pair as it was.
      const pairs = Object.fromEntries(
        (["ts", "go"] as const).map((lang) => [
          lang,
          {
            cert: readFileSync(join(dirs[lang], "cert.pem"), "utf8"),
            key: readFileSync(join(dirs[lang], "key.pem"), "utf8"),
          },
        ]),
      );
      const successorId = (
        await call(c.certificates, "getCurrentCertificate", {
          certificate: issued.certificate!.certificateId,
        })
      ).certificate!.id;
      const other = await call(c.accessTokens, "createAccessToken", {
        accessToken: AccessToken.fromPartial({ slug: "other-admin", role: Role.ROLE_ADMIN }),
      });
      const otherClients = makeClients(server.address, other.secret);
      try {
        const moved = await call(
          otherClients.certificates,
          "renewCertificate",
          RenewCertificateRequest.fromPartial({
            certificateId: successorId,
            keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
          }),
        );
        expect(moved.privateKeyPem).toContain("PRIVATE KEY");
      } finally {
        for (const client of Object.values(otherClients)) (client as Client).close();
      }
      for (const lang of ["ts", "go"] as const) {
        await waitFor(
          `the ${lang} sidecar to stop`,
          () => exits[lang] !== undefined,
          120_000,
        ).catch((err) => {
          throw new Error(`${err}\n${lang} sidecar output:\n${output[lang]}`);
        });
        expect(exits[lang], output[lang]).toBe(1);
        expect(output[lang]).toMatch(/came without its key/);
        const cert = readFileSync(join(dirs[lang], "cert.pem"), "utf8");
        const key = readFileSync(join(dirs[lang], "key.pem"), "utf8");
        expect(cert).toBe(pairs[lang]!.cert);
        expect(key).toBe(pairs[lang]!.key);
        expect(firstCert(cert).checkPrivateKey(createPrivateKey(key))).toBe(true);
      }
    } finally {
      for (const s of sidecars) s.kill("SIGTERM");
      for (const client of Object.values(c ?? {})) (client as Client).close();
      await server?.stop();
      await db?.drop();
      tmp.remove();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
