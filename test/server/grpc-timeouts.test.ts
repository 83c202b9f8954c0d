/**
 * grpc-timeout read as gRPC defines it, and a deadline of any length kept whole
 * (src/server/grpc-timeouts.ts). Until stop 52 of 2026-12-07 grpc-js read "-1S" or "1S1" as
 * whatever part matched, and a deadline more than 24.8 days ahead ended the call at once (an
 * outside probe, TRANSPORT F1 and F2; test/probe52/transport/ has its live-server tests).
 */
import { Metadata, type ServiceError } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ListCertificateAuthoritiesRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { grpcServerCallClass } from "../../src/server/grpc-internals";
import { grpcTimeoutMs, installGrpcTimeouts, MAX_TIMER_MS } from "../../src/server/grpc-timeouts";
import { startTestCertmint, type TestCertmint } from "../support/harness";

const DAY_MS = 86_400_000;

describe("grpc-timeout", () => {
  it("is installed on the grpc-js version package.json pins", () => {
    expect(installGrpcTimeouts()).toBe(true);
  });

  it("is 1 to 8 digits and a unit, nothing else", () => {
    expect(grpcTimeoutMs("1S")).toBe(1000);
    expect(grpcTimeoutMs("99999999H")).toBe(99_999_999 * 3_600_000);
    expect(grpcTimeoutMs("2592000S")).toBe(30 * DAY_MS);
    expect(grpcTimeoutMs("500m")).toBe(500);
    expect(grpcTimeoutMs("1000000n")).toBe(1);
    for (const bad of ["-1S", "123456789S", "1S1", "1 S", " 1S", "1", "S", "1s", "1.5S", ""]) {
      expect(grpcTimeoutMs(bad), bad).toBeUndefined();
    }
  });

  describe("the deadline timer of a call", () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    /** grpc-js's call, as much of it as handleTimeoutHeader touches. */
    function fakeCall() {
      installGrpcTimeouts();
      const cls = grpcServerCallClass<{ handleTimeoutHeader(h: string): void }>(
        "handleTimeoutHeader",
      )!;
      const statuses: Array<{ code: number; details: string }> = [];
      const call = {
        deadline: Infinity,
        deadlineTimer: null as ReturnType<typeof setTimeout> | null,
        sendStatus: (s: { code: number; details: string }) => statuses.push(s),
      };
      return {
        call,
        statuses,
        handle: (h: string) => cls.prototype.handleTimeoutHeader.call(call, h),
      };
    }

    it("60 days ahead: the deadline is 60 days away, and the call ends then, not before", () => {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date", "performance"] });
      const { call, statuses, handle } = fakeCall();
      const start = Date.now();
      handle(`${60 * 24}H`);
      expect(call.deadline - start).toBe(60 * DAY_MS);
      vi.advanceTimersByTime(MAX_TIMER_MS + 1);
      vi.advanceTimersByTime(60 * DAY_MS - MAX_TIMER_MS - 2);
      expect(statuses).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(statuses).toEqual([{ code: 4, details: "Deadline exceeded", metadata: null }]);
    });

    it("a timer grpc-js clears (the call ended) is the one running, also after it was re-armed", () => {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date", "performance"] });
      const { call, statuses, handle } = fakeCall();
      handle("99999999H");
      vi.advanceTimersByTime(MAX_TIMER_MS * 3);
      clearTimeout(call.deadlineTimer!);
      vi.advanceTimersByTime(99_999_999 * 3_600_000);
      expect(statuses).toEqual([]);
    });

    it("a malformed value gets grpc-js's refusal, which transport-statuses.ts rewords", async () => {
      const { call, statuses, handle } = fakeCall();
      handle("1S1");
      await new Promise((resolve) => process.nextTick(resolve));
      expect(statuses).toEqual([
        { code: 13, details: 'Invalid grpc-timeout value "1S1"', metadata: null },
      ]);
      expect(call.deadline).toBe(Infinity);
    });
  });

  describe("on a server", () => {
    let h: TestCertmint;
    beforeAll(async () => {
      h = await startTestCertmint();
    });
    afterAll(async () => {
      await h?.stop();
    });

    it.each([30, 60, 365])(
      "a unary call with a deadline %i days ahead is answered",
      async (days) => {
        const err = await new Promise<ServiceError | null>((resolve) => {
          h.authorities.listCertificateAuthorities(
            ListCertificateAuthoritiesRequest.fromPartial({}),
            new Metadata(),
            { deadline: Date.now() + days * DAY_MS },
            (e) => resolve(e),
          );
        });
        expect(err ? `${err.code} ${err.details}` : "answered").toBe("answered");
      },
    );
  });
});
