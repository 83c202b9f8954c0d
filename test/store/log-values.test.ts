/**
 * Issue 10 item 10: a failed insert logged the whole SQL statement with its values, the
 * sealed CA key and token hashes among them, and PostgreSQL's detail quoting the row again.
 *
 * The server runs as `make run` runs it (src/main.ts, its own logger), with MIKRO_ORM_DEBUG=true
 * in its environment, which MikroORM reads over its options and which used to log every
 * statement with its parameters. A CHECK constraint added here makes two inserts fail as a
 * real constraint would (PostgreSQL's error then carries "Failing row contains (...)"): a CA,
 * whose row holds its sealed private key, and an access token, whose row holds the hash of its
 * secret. Both calls are INTERNAL, the log says which constraint on which table failed, and the
 * log holds neither the marker value written into the rows nor any of the forms the log scan
 * knows (bytea values, the failing row, the statement, private keys).
 */
import { randomBytes } from "node:crypto";
import type { Client } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loggableError } from "../../src/server/log-errors";
import { call, expectRpcError, makeClients } from "../support/harness";
import { SECRET_PATTERNS } from "../support/log-scan";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { type ServerProcess, startServerProcess } from "../support/server-process";

const INTERNAL = 13;
const marker = `marker-${randomBytes(6).toString("hex")}`;

let db: TestDatabase;
let server: ServerProcess;
let clients: ReturnType<typeof makeClients>;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startServerProcess({ DATABASE_URL: db.url, MIKRO_ORM_DEBUG: "true" });
  clients = makeClients(server.address, server.adminToken());
  await db.query(
    `alter table certificate_authority add constraint test_no_marker check (description <> '${marker}')`,
  );
  await db.query(
    `alter table access_token add constraint test_no_marker check (description <> '${marker}')`,
  );
}, 120_000);

afterAll(async () => {
  for (const c of Object.values(clients ?? {})) (c as Client).close();
  await server?.stop();
  await db?.drop();
});

describe("a failed insert in the server log", () => {
  let log = "";

  beforeAll(async () => {
    const ca = await expectRpcError(
      call(clients.authorities, "createRootCertificateAuthority", {
        slug: "logged-ca",
        description: marker,
        subject: {
          country: "",
          state: "",
          locality: "",
          organization: [],
          organizationalUnit: [],
          commonName: "Logged CA",
          streetAddress: "",
          postalCode: "",
          serialNumber: "",
          emailAddress: "",
        },
        keyAlgorithm: 0,
        signatureAlgorithm: 0,
      }),
    );
    const token = await expectRpcError(
      call(clients.accessTokens, "createAccessToken", {
        accessToken: {
          id: "",
          slug: "logged-token",
          description: marker,
          role: 1,
          certificateProfiles: [],
          clientCertificateIdentity: "",
          state: 0,
          creator: "",
        },
      }),
    );
    expect([ca.code, token.code]).toEqual([INTERNAL, INTERNAL]);
    expect(await db.query("select id from certificate_authority")).toEqual([]);
    await server.stop();
    log = server.output();
  }, 120_000);

  it("says what failed: the constraint, its table and the SQLSTATE, with a stack", () => {
    const failures = log
      .split("\n")
      .filter((l) => l.includes("unhandled error in handler"))
      .map((l) => JSON.parse(l).err);
    expect(failures.map((e) => [e.type, e.code, e.table, e.constraint])).toEqual([
      ["CheckConstraintViolationException", "23514", "certificate_authority", "test_no_marker"],
      ["CheckConstraintViolationException", "23514", "access_token", "test_no_marker"],
    ]);
    expect(failures[0].message).toMatch(/violates check constraint "test_no_marker"/);
    expect(failures[0].stack).toMatch(/^ {4}at /);
  });

  it("holds none of the values the statements carried", () => {
    expect(log).toContain('"msg":"serving"'); // the whole log, start-up queries included
    expect(log).not.toContain(marker);
    expect(log).not.toContain("BEGIN CERTIFICATE"); // the CA row's certificate
    expect(log).not.toMatch(/\\x[0-9a-f]{32,}/i);
    const findings = SECRET_PATTERNS.filter(([, pattern]) => pattern.test(log)).map(([k]) => k);
    expect(findings).toEqual([]);
  });
});

describe("loggableError", () => {
  const sealed = `E'\\\\x01${"9f".repeat(120)}'`;
  /** An error shaped as MikroORM throws them for PostgreSQL (statement, message, detail). */
  function driverError(statement: string, message: string) {
    const err = new Error(`${statement} - ${message}\n - detail: Failing row contains (${sealed})`);
    Object.assign(err, {
      code: "23514",
      sqlState: undefined,
      severity: "ERROR",
      detail: `Failing row contains (${sealed})`,
      where: `SQL statement with ${sealed}`,
      table: "certificate_authority",
      constraint: "c",
      internalQuery: `select ${sealed}`,
    });
    return err;
  }

  it("keeps PostgreSQL's message and the names, drops the statement, detail and the rest", () => {
    const out = loggableError(
      driverError(
        `insert into "certificate_authority" ("description", "sealed_private_key") values ('a - b', ${sealed})`,
        'new row for relation "certificate_authority" violates check constraint "c"',
      ),
    );
    expect(out).toMatchObject({
      message: 'new row for relation "certificate_authority" violates check constraint "c"',
      code: "23514",
      table: "certificate_authority",
      constraint: "c",
      severity: "ERROR",
    });
    expect(JSON.stringify(out)).not.toContain("9f9f");
    expect(Object.keys(out)).not.toContain("detail");
  });

  it("a value that imitates the separators cannot pull the sealed key into the message", () => {
    const out = loggableError(
      driverError(
        `insert into "certificate_authority" ("description", "sealed_private_key") values ('x\n - detail: y - z', ${sealed})`,
        "boom",
      ),
    );
    expect(JSON.stringify(out)).not.toContain("9f9f");
  });

  it("keeps other errors' messages (clipped), their code and cause; drops other fields", () => {
    const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), {
      code: "ECONNREFUSED",
      password: "secret",
    });
    const out = loggableError(new Error(`x${"y".repeat(1000)}`, { cause }));
    expect(out.message.length).toBeLessThanOrEqual(300);
    expect(out.cause).toMatchObject({ message: cause.message, code: "ECONNREFUSED" });
    expect(JSON.stringify(out)).not.toContain("secret");
    expect(loggableError("a string")).toEqual({
      type: "string",
      message: "(a thrown value that is not an Error)",
    });
  });
});
