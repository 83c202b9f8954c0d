/**
 * A PostgreSQL PANIC inside the embedded database (src/store/embedded-panic.ts).
 *
 * Found by an outside probe (2026-12-05): with the data directory made read-only under load,
 * PGlite raised a PANIC when it needed a new WAL segment, and the server was wedged for good.
 * Every call waited 60 s and was then UNAVAILABLE, health stayed SERVING, restoring the modes
 * changed nothing, and a SIGTERM took 139 s and exited 0. Now the server stops by itself at
 * the PANIC, exits 1 and logs why, without calling into PGlite again. The next start on the
 * same files serves every certificate an answered call got.
 *
 * The WAL directory alone is made read-only, the way the probe's whole data directory was. A
 * service user (not root) is subject to the modes: the server runs without root's override
 * (withoutFileOverride).
 */
import { chmodSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PanicScanner } from "../../src/store/embedded-panic";
import { type ServerProcess, START_LIMIT_MS, startServerProcess } from "../support/server-process";
import { waitFor } from "../support/wait";
import { asDeployment, setUpIssuance } from "./disk-full-support";
import { codeName, issueUnderLoad, replayAll } from "./outage-support";

/** A backend message: type, Int32 length (counting itself), body. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, "ascii");
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const errorResponse = (severity: string, text: string) =>
  message(
    "E",
    Buffer.concat([
      Buffer.from(`S${severity}\0V${severity}\0C58P01\0M${text}\0`, "utf8"),
      Buffer.from([0]),
    ]),
  );
/** A DataRow of one text column. */
const dataRow = (text: string) => {
  const value = Buffer.from(text, "utf8");
  const count = Buffer.alloc(6);
  count.writeInt16BE(1, 0);
  count.writeInt32BE(value.length, 2);
  return message("D", Buffer.concat([count, value]));
};

describe("the PANIC scanner", () => {
  const stream = Buffer.concat([
    dataRow("a name with VPANIC\0 in it is data, not a severity"),
    errorResponse("ERROR", "duplicate key"),
    message("Z", Buffer.from("I")),
    errorResponse("PANIC", 'could not create file "pg_wal/xlogtemp.42": Permission denied'),
  ]);

  it("finds the PANIC however the stream is cut, and nothing before it", () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const scanner = new PanicScanner();
      scanner.feed(stream.subarray(0, cut));
      const before = scanner.panic;
      scanner.feed(stream.subarray(cut));
      expect(scanner.panic, `cut at ${cut}`).toBe(
        'could not create file "pg_wal/xlogtemp.42": Permission denied',
      );
      if (cut < stream.length - 1) expect(before, `cut at ${cut}`).toBeUndefined();
    }
  });

  it("an ERROR, and data that spells PANIC, are not one", () => {
    const scanner = new PanicScanner();
    scanner.feed(Buffer.concat([dataRow("SPANIC\0VPANIC\0"), errorResponse("ERROR", "x")]));
    expect(scanner.panic).toBeUndefined();
  });
});

const unprivileged = process.getuid?.() === 0;

describe("a PANIC of the embedded database, on the compiled server", {
  timeout: 4 * START_LIMIT_MS,
}, () => {
  let server: ServerProcess | undefined;
  let walDir = "";
  afterAll(async () => {
    if (walDir) chmodTree(walDir, true);
    await server?.stop("SIGKILL");
  });

  it("stops the server with exit code 1 and the cause logged; the next start serves what was answered", async () => {
    server = await startServerProcess(
      { DATABASE_URL: "", CERTMINT_LOG_FORMAT: "json", CERTMINT_RENEWAL_ENABLED: "false" },
      { unprivileged },
    );
    const token = server.adminToken();
    const profile = await setUpIssuance(server.address, token);
    const d = asDeployment(server, token, profile);
    const exited = new Promise<number | null>((resolve) => server!.child.on("exit", resolve));
    let code: number | null | undefined;
    void exited.then((c) => {
      code = c;
    });

    const load = issueUnderLoad(d, { clients: 3, tag: "panic", deadlineMs: 30_000 });
    await load.untilMoreOk("issuance before the WAL directory is made read-only", 20);
    walDir = join(server.dataDir, "pglite", "pg_wal");
    chmodTree(walDir, false);
    // The next WAL segment cannot be created: a PANIC, and the server stops by itself.
    await waitFor("the server to stop after the PANIC", () => code !== undefined, 3 * 60_000);
    const codes = await load.stop();
    expect(code).toBe(1);
    for (const name of Object.keys(codes)) expect(["OK", "UNAVAILABLE"]).toContain(name);

    const lines = server
      .output()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { level: number; msg: string; err?: { message?: string } });
    const fatal = lines.find((l) => l.level === 60);
    expect(fatal?.msg).toBe("the embedded database stopped: certmint stops; start it again");
    expect(fatal?.err?.message).toContain("PostgreSQL PANIC");

    // Started again on the same files (the modes restored): every answered certificate is there.
    chmodTree(walDir, true);
    const answered = [...load.ledger.outcomes].flatMap(([id, o]) =>
      "ok" in o ? [[id, o.ok.certificate!.certificateId] as const] : [],
    );
    expect(answered.length).toBeGreaterThanOrEqual(20);
    server = await startServerProcess(
      {
        DATABASE_URL: "",
        CERTMINT_DATA_DIR: server.dataDir,
        CERTMINT_LOG_FORMAT: "json",
        CERTMINT_RENEWAL_ENABLED: "false",
      },
      { unprivileged },
    );
    const again = await replayAll(
      asDeployment(server, token, profile),
      answered.map(([id]) => id),
    );
    for (const [id, certificateId] of answered) expect(again.get(id), id).toBe(certificateId);
    expect(codeName({ code: 0, details: "" })).toBe("OK");
    expect(await server.stop()).toBe(0);
  });
});

/** Takes write permission away from a directory tree (or gives it back to its owner). */
function chmodTree(dir: string, writable: boolean): void {
  const walk = (path: string) => {
    const st = statSync(path);
    chmodSync(path, writable ? st.mode | 0o200 : st.mode & ~0o222);
    if (st.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(dir);
}
