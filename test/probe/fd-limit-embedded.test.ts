/**
 * The compiled server on its embedded database (`make run`) at a low file-descriptor limit
 * (prlimit --nofile, util-linux), with clients holding HTTP/2 connections from many addresses
 * (src/server/fd-budget.ts). PGlite opens its files in this process: until the 2026-12-04 fault
 * review, the default cap of 1000 connections let such a flood take every descriptor; PGlite
 * then failed to create a file half-way ("could not create file base/5/16496_fsm: File exists",
 * SQLSTATE 58P02) and every IssueCertificate after it was INTERNAL, also once the connections had
 * closed, until a restart, while health said SERVING. Now the cap leaves room for the database
 * (at most EMBEDDED_MAX_FILES files open) and the threads.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { floodConnections, openDescriptors } from "../support/connection-flood";
import { generatedKeyRequest } from "../support/issue-request";
import {
  checkHealth,
  logLines,
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../support/server-process";
import { waitFor } from "../support/wait";
import { asDeployment, setUpIssuance } from "./disk-full-support";
import { codeName, issueOnce, newIssuer } from "./outage-support";

const NOFILE = 450;

describe("the embedded database at a low file-descriptor limit", {
  timeout: 2 * START_LIMIT_MS,
}, () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess(
      { DATABASE_URL: "", CERTMINT_LOG_FORMAT: "json", CERTMINT_RENEWAL_ENABLED: "false" },
      { nofile: NOFILE },
    );
  }, START_LIMIT_MS + 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it("keeps issuing through a flood of connections, and after it", async () => {
    const lowered = logLines(server).find((l) =>
      String(l.msg).startsWith("CERTMINT_MAX_CONNECTIONS is "),
    );
    expect(lowered).toMatchObject({ fileDescriptorLimit: NOFILE, ports: 1 });
    const token = server.adminToken();
    const d = asDeployment(server, token, await setUpIssuance(server.address, token));
    const clients = Array.from({ length: 4 }, () => newIssuer(d));
    for (const [i, c] of clients.entries()) {
      expect(codeName(await issueOnce(c, d.profile, `warm-${i}`, 60_000))).toBe("OK");
    }
    const port = Number(server.address.split(":").at(-1));
    const flood = floodConnections(port, NOFILE);
    try {
      await waitFor("every connection of the flood taken or closed", flood.settled);
      expect(openDescriptors(server.child.pid!)).toBeLessThan(NOFILE);
      const during = await Promise.all(
        clients.map((c, i) => issueOnce(c, d.profile, `flood-${i}`, 60_000)),
      );
      expect(during.map(codeName)).toEqual(clients.map(() => "OK"));
      const rsa = await new Promise<string>((resolve) =>
        clients[0]!.issueCertificate(
          generatedKeyRequest(d.profile, "rsa.example.com", {
            keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_RSA_2048,
          }),
          (err) => resolve(err ? `${err.code} ${err.details}` : "OK"),
        ),
      );
      expect(rsa).toBe("OK");
    } finally {
      flood.close();
    }
    const after = await Promise.all(
      clients.map((c, i) => issueOnce(c, d.profile, `after-${i}`, 60_000)),
    );
    expect(after.map(codeName)).toEqual(clients.map(() => "OK"));
    expect(await checkHealth(server.address)).toBe("SERVING");
    expect(logLines(server).filter((l) => l.msg === "unhandled error in handler")).toEqual([]);
    for (const c of clients) c.close();
  });
});
