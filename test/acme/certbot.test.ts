import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/server-process";
import { type AcmeServer, startAcmeServer, stateDir, verifyBundle } from "./helpers";

/**
 * certbot (PyPI, pinned in the Makefile, installed by `make certbot` into .tools/certbot) in
 * standalone mode with http-01 against certmint: obtain, renew, revoke (issue 16).
 * CERTBOT overrides the path of the certbot executable.
 */
const CERTBOT = process.env.CERTBOT ?? join(ROOT, ".tools", "certbot", "bin", "certbot");

/**
 * Runs certbot; on a failure its output ends with the tail of certbot's own log (each ACME
 * request, response and poll, with times), so a failure seen once on a busy machine can be read
 * afterwards (a renewal once ran into certbot's 90 s polling deadline under scripts/busy).
 */
function certbot(args: string[], caFile: string): Promise<{ code: number; output: string }> {
  const logsDir = args[args.indexOf("--logs-dir") + 1];
  const withLog = (code: number, output: string) => {
    const file = logsDir && join(logsDir, "letsencrypt.log");
    if (code === 0 || !file || !existsSync(file)) return output;
    const tail = readFileSync(file, "utf8").split("\n").slice(-150).join("\n");
    return `${output}\n--- the end of ${file}:\n${tail}`;
  };
  return new Promise((resolve, reject) => {
    const child = spawn(CERTBOT, args, {
      stdio: ["ignore", "pipe", "pipe"],
      // certbot talks to the directory over HTTPS through requests: trust the listener's CA.
      env: { ...process.env, REQUESTS_CA_BUNDLE: caFile },
    });
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, output: withLog(code ?? 1, output) }));
  });
}

describe("ACME with certbot (standalone, http-01)", () => {
  let s: AcmeServer;

  beforeAll(async () => {
    if (!existsSync(CERTBOT)) {
      throw new Error(`${CERTBOT} is missing: run \`make certbot\` (make test depends on it)`);
    }
    s = await startAcmeServer();
  });
  afterAll(async () => {
    await s?.h.stop();
  });

  it("obtains, renews and revokes a certificate", async () => {
    const dir = stateDir();
    const common = [
      "--non-interactive",
      "--server",
      s.directory(),
      "--config-dir",
      join(dir, "config"),
      "--work-dir",
      join(dir, "work"),
      "--logs-dir",
      join(dir, "logs"),
    ];
    const obtain = [
      "certonly",
      ...common,
      "--standalone",
      "--agree-tos",
      "--register-unsafely-without-email",
      "--http-01-address",
      "127.0.0.1",
      "--http-01-port",
      String(s.httpPort),
      "--cert-name",
      "web",
      "-d",
      "certbot.acme.localhost",
      "-d",
      "www.certbot.acme.localhost",
    ];
    const first = await certbot(obtain, s.tlsCaFile);
    expect(first.code, first.output).toBe(0);
    const live = join(dir, "config", "live", "web");
    const cert1 = verifyBundle(readFileSync(join(live, "fullchain.pem"), "utf8"), s.rootPem);
    expect(cert1.subjectAltName).toBe("DNS:certbot.acme.localhost, DNS:www.certbot.acme.localhost");

    const renewed = await certbot([...obtain, "--force-renewal"], s.tlsCaFile);
    expect(renewed.code, renewed.output).toBe(0);
    const cert2 = verifyBundle(readFileSync(join(live, "fullchain.pem"), "utf8"), s.rootPem);
    expect(cert2.serialNumber).not.toBe(cert1.serialNumber);

    const revoked = await certbot(
      [
        "revoke",
        ...common,
        "--cert-path",
        join(live, "cert.pem"),
        "--reason",
        "superseded",
        "--no-delete-after-revoke",
      ],
      s.tlsCaFile,
    );
    expect(revoked.code, revoked.output).toBe(0);
    const [row] = await s.h.db.query<{ revoked_at: Date | null; revocation_reason: string }>(
      `select revoked_at, revocation_reason from certificate where serial_number = $1`,
      [cert2.serialNumber.toLowerCase()],
    );
    expect(row?.revoked_at).toBeInstanceOf(Date);
    expect(row?.revocation_reason).toBe("SUPERSEDED");
  });
});
