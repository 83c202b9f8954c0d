/**
 * An outside probe of the server as users first run it (`make run`: the compiled server on the
 * embedded database, no DATABASE_URL), with request bytes no generated client would send.
 *
 * A google.protobuf.Timestamp lies in [0001-01-01T00:00:00Z, 9999-12-31T23:59:59.999999999Z]
 * (its definition in timestamp.proto). A filter outside that range, e.g. seconds
 * = 2^63-1, used to reach the database as an Invalid Date ("RangeError: Invalid time value") or
 * as a year PostgreSQL does not read, and the call failed with INTERNAL. It is the caller's
 * mistake: INVALID_ARGUMENT naming the field, and the server keeps serving.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient } from "../support/raw-client";
import {
  checkHealth,
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../support/server-process";

const AUDIT = "/certmint.v1.AuditService/ListAuditRecords";
const CERTIFICATES = "/certmint.v1.CertificateService/ListCertificates";

/** A request whose only field `field` is a Timestamp of `seconds` and `nanos`. */
const withTimestamp = (field: number, seconds: string, nanos = 0) => {
  const ts = new BinaryWriter().tag(1, WireType.Varint).int64(seconds);
  if (nanos !== 0) ts.tag(2, WireType.Varint).int32(nanos);
  return new BinaryWriter().tag(field, WireType.LengthDelimited).bytes(ts.finish()).finish();
};

describe("an embedded server probed with out-of-range timestamps", {
  timeout: 2 * START_LIMIT_MS,
}, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "certmint-probe-"));
  let server: ServerProcess;
  let raw: RawClient;

  beforeAll(async () => {
    server = await startServerProcess({ DATABASE_URL: "", CERTMINT_DATA_DIR: dataDir });
    raw = new RawClient(server.address, server.adminToken());
  }, START_LIMIT_MS + 60_000);
  afterAll(async () => {
    raw?.close();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const cases: Array<[string, string, number, string, string, number?]> = [
    ["ListAuditRecords start_time 2^63-1 s", AUDIT, 7, "start_time", "9223372036854775807"],
    ["ListAuditRecords end_time -2^63 s", AUDIT, 8, "end_time", "-9223372036854775808"],
    ["ListAuditRecords start_time year 10000", AUDIT, 7, "start_time", "253402300800"],
    ["ListAuditRecords end_time before year 1", AUDIT, 8, "end_time", "-62135596801"],
    [
      "ListCertificates expires_before 2^63-1 s",
      CERTIFICATES,
      6,
      "expires_before",
      "9223372036854775807",
    ],
    [
      "ListCertificates expires_before year 5000000",
      CERTIFICATES,
      6,
      "expires_before",
      "5000000000000",
    ],
    // Found by an outside probe (2026-12-05): nanos out of its range was taken as time.
    ["ListCertificates expires_before nanos -1", CERTIFICATES, 6, "expires_before.nanos", "0", -1],
    ["ListAuditRecords start_time nanos 2e9", AUDIT, 7, "start_time.nanos", "0", 2_000_000_000],
  ];
  it.each(cases)(
    "%s is INVALID_ARGUMENT on the field, not INTERNAL",
    async (_, path, field, name, seconds, nanos) => {
      const out = await raw.call(path, withTimestamp(field, seconds, nanos));
      expect(out.error?.code).toBe(3);
      // nanos is refused by the first look at the request's bytes (api/request-check.ts), with
      // the other field rules; seconds once decoded (api/convert/time.ts).
      expect(out.error?.reason).toBe(
        nanos === undefined ? "TIMESTAMP_INVALID" : "REQUEST_FIELD_INVALID",
      );
      expect(out.error?.violations.map((v) => [v.field, v.reason])).toEqual([
        [name, "TIMESTAMP_INVALID"],
      ]);
      expect(out.error?.message).not.toMatch(/Invalid time value|RangeError|internal/i);
    },
  );

  it("accepts the Timestamp range's own ends, and keeps serving", async () => {
    for (const seconds of ["-62135596800", "253402300799"]) {
      expect((await raw.call(CERTIFICATES, withTimestamp(6, seconds))).error).toBeUndefined();
      expect((await raw.call(AUDIT, withTimestamp(7, seconds))).error).toBeUndefined();
    }
    expect(
      (await raw.call(CERTIFICATES, withTimestamp(6, "0", 999_999_999))).error,
    ).toBeUndefined();
    expect(await checkHealth(server.address)).toBe("SERVING");
  });
});
