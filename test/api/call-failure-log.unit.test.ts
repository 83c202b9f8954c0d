import pino from "pino";
import { describe, expect, it } from "vitest";
import { logCallFailure } from "../../src/api/call-failure-log";
import { CertmintError } from "../../src/errors";

/** A logger whose lines land in an array, parsed. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: "debug" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { logger, lines };
}

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe("logCallFailure: one log line per failed call, unary and streaming alike", () => {
  it("an outage is logged at warn by its cause alone, never the driver's message (it can quote SQL)", () => {
    const { logger, lines } = capturingLogger();
    const err = new Error("select secret_column from x", {
      cause: withCode("connect ECONNREFUSED", "ECONNREFUSED"),
    });
    expect(logCallFailure(logger, err, "/m", "r1")).toEqual({ outage: "ECONNREFUSED" });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 40,
      msg: "database unavailable",
      cause: "ECONNREFUSED",
      method: "/m",
      requestId: "r1",
    });
    expect(JSON.stringify(lines[0])).not.toContain("secret_column");
  });

  it("a transaction that lost a race (a deadlock) is logged at warn as a conflict, not as an unhandled error", () => {
    const { logger, lines } = capturingLogger();
    const err = withCode("deadlock detected on update certificate set secret_column", "40P01");
    expect(
      logCallFailure(logger, err, "/certmint.v1.CertificateService/WatchCertificates", "r2"),
    ).toEqual({
      conflict: "40P01",
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, msg: "transaction conflict", cause: "40P01" });
    expect(JSON.stringify(lines[0])).not.toContain("secret_column");
  });

  it("any other thrown error is a bug: logged at error with its type and stack", () => {
    const { logger, lines } = capturingLogger();
    expect(logCallFailure(logger, new TypeError("x is undefined"), "/m", "r3")).toEqual({});
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, msg: "unhandled error in handler" });
    expect((lines[0].err as { type: string; stack: string }).type).toBe("TypeError");
  });

  it("a CertmintError is the caller's answer: nothing is logged", () => {
    const { logger, lines } = capturingLogger();
    expect(
      logCallFailure(
        logger,
        new CertmintError("not_found", "CERTIFICATE_NOT_FOUND", "no such certificate"),
        "/m",
        "r4",
      ),
    ).toEqual({});
    expect(lines).toEqual([]);
  });
});
