/**
 * The `grpc-timeout` header read as gRPC defines it (PROTOCOL-HTTP2.md: TimeoutValue, 1 to 8
 * ASCII digits, then TimeoutUnit, one of H M S m u n), with a deadline of any length kept.
 *
 * grpc-js 1.14.7 (server-interceptors.js, handleTimeoutHeader) got both wrong (an outside probe
 * of stop 52 of 2026-12-07, TRANSPORT F1 and F2):
 *  - its pattern is not anchored, so "-1S", "123456789S" (9 digits), "1S1" and "1 S" were read
 *    as whatever part of them matched, instead of refused;
 *  - it turned the duration into a 32-bit integer (`| 0`) and armed one setTimeout with it. Node
 *    fires a timer longer than 2^31-1 ms (24.8 days) after 1 ms, and the 32 bits wrap past
 *    2^32 ms: a deadline 25 to 49 days ahead ended the call DEADLINE_EXCEEDED at once, and 60
 *    days became about 10. A watch sidecar that sets a deadline of weeks got a terminal
 *    DEADLINE_EXCEEDED instead of its usual reconnect at the connection's maximum age.
 * Here a malformed value gets grpc-js's own refusal ("Invalid grpc-timeout value", which
 * transport-statuses.ts answers INVALID_ARGUMENT GRPC_TIMEOUT_INVALID), and a valid one its
 * whole deadline (getDeadline, which api/unary.ts checks), with a timer re-armed in steps
 * setTimeout can hold until the deadline is reached. A shorter deadline runs as before: one
 * timer, grpc-js's DEADLINE_EXCEEDED.
 *
 * This replaces handleTimeoutHeader of grpc-js's internal call class, in the version
 * package.json pins, as inflated-requests.ts replaces decompressMessage; the timer is kept in
 * the call's own `deadlineTimer`, which grpc-js clears when the call ends. If the class or the
 * method is not found, nothing is replaced: test/server/grpc-timeouts.test.ts fails then.
 */
import { status } from "@grpc/grpc-js";
import { grpcServerCallClass } from "./grpc-internals";

/** A whole TimeoutValue and TimeoutUnit, nothing around or between them. */
const TIMEOUT = /^(\d{1,8})([HMSmun])$/;

const UNIT_MS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/** setTimeout's longest delay; Node fires a longer one after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

interface StatusObject {
  code: number;
  details: string;
  metadata: null;
}

interface GrpcServerCall {
  deadline: number;
  deadlineTimer: ReturnType<typeof setTimeout> | null;
  sendStatus(s: StatusObject): void;
  handleTimeoutHeader?: (this: GrpcServerCall, header: string) => void;
}

/** The milliseconds `header` asks for, or undefined when it is not a gRPC timeout. */
export function grpcTimeoutMs(header: string): number | undefined {
  const match = TIMEOUT.exec(header);
  return match ? Number(match[1]) * UNIT_MS[match[2]!]! : undefined;
}

let installed: boolean | undefined;

/** Installs the strict reading and the long deadlines; true when in place. Idempotent. */
export function installGrpcTimeouts(): boolean {
  if (installed !== undefined) return installed;
  const cls = grpcServerCallClass<GrpcServerCall>("handleTimeoutHeader");
  if (!cls) {
    installed = false;
    return false;
  }
  cls.prototype.handleTimeoutHeader = function handleTimeoutHeader(
    this: GrpcServerCall,
    header: string,
  ): void {
    const text = String(header);
    const timeoutMs = grpcTimeoutMs(text);
    if (timeoutMs === undefined) {
      // grpc-js's own refusal, sent as it sends it: after its constructor has finished.
      process.nextTick(() =>
        this.sendStatus({
          code: status.INTERNAL,
          details: `Invalid grpc-timeout value "${text}"`,
          metadata: null,
        }),
      );
      return;
    }
    this.deadline = Date.now() + timeoutMs;
    // Counted on the monotonic clock, as timers are: a step of the wall clock moves neither.
    const endsAt = performance.now() + timeoutMs;
    const arm = (): void => {
      const left = endsAt - performance.now();
      this.deadlineTimer =
        left > MAX_TIMER_MS
          ? setTimeout(arm, MAX_TIMER_MS)
          : setTimeout(
              () => {
                this.sendStatus({
                  code: status.DEADLINE_EXCEEDED,
                  details: "Deadline exceeded",
                  metadata: null,
                });
              },
              Math.max(0, left),
            );
    };
    arm();
  };
  installed = true;
  return true;
}
