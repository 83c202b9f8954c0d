/**
 * Probe 52 (LOCAL): the ACME listener's TLS files (README "Configuration":
 * CERTMINT_ACME_TLS_CERT_FILE / CERTMINT_ACME_TLS_KEY_FILE, default the gRPC pair, "re-read like
 * the gRPC port's"), held to what README "TLS and mTLS" promises for the gRPC port's pair: a key
 * file readable by group or others is warned about at start-up and, once it has become so, not
 * loaded by a reload; files that cannot be used together are logged, and the previous pair is
 * kept. A renewal job that writes the certificate and then the key passes through that state
 * on every rotation.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { type ServerOnDatabase, startOnFreshDatabase, stopOnDatabase } from "../../probe49/live";
import { logLines } from "../../support/server-process";
import { waitFor } from "../../support/wait";

/** A self-signed P-256 pair for localhost in `dir` (key 0600); returns its paths. */
function makePair(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-subj",
      `/CN=${name}`,
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-days",
      "2",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { stdio: "ignore" },
  );
  chmodSync(key, 0o600);
  return { cert, key };
}

/** The subject CN of the certificate the TLS port at `port` presents. */
function servedName(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const cn = socket.getPeerCertificate().subject?.CN;
      socket.end();
      resolve(String(cn));
    });
    socket.on("error", reject);
  });
}

/** The ACME port, from the `serving ACME` line. */
function acmePort(live: ServerOnDatabase): number {
  const line = logLines(live.server).find((l) => l.msg === "serving ACME");
  if (!line) throw new Error(`no "serving ACME" line:\n${live.server.output()}`);
  return Number(line.port);
}

/** A file swap that is atomic: a new entry renamed over the old one. */
function replaceWith(path: string, from: string): void {
  const tmp = `${path}.new`;
  execFileSync("cp", [from, tmp]);
  renameSync(tmp, path);
}

describe("probe52 local: the ACME listener's TLS files", () => {
  let live: ServerOnDatabase | undefined;
  let dir: string;

  afterEach(async () => {
    if (live) await stopOnDatabase([], live);
    live = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** The server with a gRPC pair and `acme` env; TLS files re-read every 200 ms. */
  async function start(acme: Record<string, string>) {
    const grpc = makePair(dir, "grpc");
    live = await startOnFreshDatabase({
      CERTMINT_TLS_CERT_FILE: grpc.cert,
      CERTMINT_TLS_KEY_FILE: grpc.key,
      CERTMINT_TLS_RELOAD_INTERVAL_MS: "200",
      CERTMINT_ACME_LISTEN: "127.0.0.1:0",
      ...acme,
    });
    return { live, grpc };
  }

  const exited = () => live?.server.child.exitCode !== null;

  it("a certificate replaced before its key: the server keeps serving and logs it (own pair)", async () => {
    dir = mkdtempSync(join(tmpdir(), "p52-acme-tls-"));
    const pair = makePair(dir, "acme-one");
    const next = makePair(dir, "acme-two");
    const { live } = await start({
      CERTMINT_ACME_TLS_CERT_FILE: pair.cert,
      CERTMINT_ACME_TLS_KEY_FILE: pair.key,
    });
    const port = acmePort(live);
    expect(await servedName(port)).toBe("acme-one");
    // A renewal job's first step: the new certificate, its key not written yet.
    replaceWith(pair.cert, next.cert);
    await waitFor(
      "the ACME pair's mismatch to be logged, or the server to exit",
      () =>
        exited() ||
        logLines(live.server).some((l) => l.level === 40 && JSON.stringify(l).includes(pair.cert)),
    );
    expect(exited(), live.server.output().slice(-1500)).toBe(false);
    // The second step: the key. The new pair is served.
    replaceWith(pair.key, next.key);
    await waitFor("the new ACME pair to be loaded", async () => {
      if (exited()) throw new Error(live.server.output().slice(-1500));
      return (await servedName(port)) === "acme-two";
    });
  });

  it("a certificate replaced before its key: the server keeps serving (the shared gRPC pair)", async () => {
    dir = mkdtempSync(join(tmpdir(), "p52-acme-tls-"));
    const next = makePair(dir, "grpc-two");
    const { live, grpc } = await start({});
    const port = acmePort(live);
    expect(await servedName(port)).toBe("grpc");
    replaceWith(grpc.cert, next.cert);
    // The gRPC port logs it (README "TLS and mTLS"); the ACME listener reads the same files.
    await waitFor(
      "the gRPC port to log the unusable pair, or the server to exit",
      () => exited() || live.server.output().includes("TLS files changed but cannot be used"),
    );
    replaceWith(grpc.key, next.key);
    await waitFor("the new pair on the ACME port", async () => {
      if (exited()) throw new Error(live.server.output().slice(-1500));
      return (await servedName(port)) === "grpc-two";
    });
    expect(exited()).toBe(false);
  });

  it("a key file readable by others is warned about at start-up, as the gRPC port's is", async () => {
    dir = mkdtempSync(join(tmpdir(), "p52-acme-tls-"));
    const pair = makePair(dir, "acme-open");
    chmodSync(pair.key, 0o644);
    const { live } = await start({
      CERTMINT_ACME_TLS_CERT_FILE: pair.cert,
      CERTMINT_ACME_TLS_KEY_FILE: pair.key,
    });
    acmePort(live); // started: its start-up checks are behind it
    const warned = logLines(live.server).filter(
      (l) => l.level === 40 && JSON.stringify(l).includes(pair.key),
    );
    expect(warned.length, live.server.output().slice(0, 3000)).toBeGreaterThan(0);
  });

  it("a key file that has become readable by others is not loaded by a reload", async () => {
    dir = mkdtempSync(join(tmpdir(), "p52-acme-tls-"));
    // The pair through a directory link, so that both files change in one rename.
    const one = mkdtempSync(join(dir, "v1-"));
    const two = mkdtempSync(join(dir, "v2-"));
    makePair(one, "acme");
    makePair(two, "acme");
    chmodSync(join(two, "acme.key"), 0o644);
    const current = join(dir, "current");
    symlinkSync(one, current);
    const { live } = await start({
      CERTMINT_ACME_TLS_CERT_FILE: join(current, "acme.crt"),
      CERTMINT_ACME_TLS_KEY_FILE: join(current, "acme.key"),
    });
    const port = acmePort(live);
    const before = await servedFingerprint(port);
    symlinkSync(two, `${current}.new`);
    renameSync(`${current}.new`, current);
    await waitFor(
      "a reload of the ACME pair or a warning about its key",
      () =>
        live.server.output().includes("ACME listener: TLS certificate reloaded") ||
        logLines(live.server).some(
          (l) => l.level === 40 && JSON.stringify(l).includes(join(current, "acme.key")),
        ),
    );
    expect(live.server.output()).not.toContain("ACME listener: TLS certificate reloaded");
    expect(await servedFingerprint(port)).toBe(before);
  });
});

/** The SHA-256 fingerprint of the certificate the TLS port at `port` presents. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fp);
    });
    socket.on("error", reject);
  });
}
