/**
 * The drain delay of a graceful stop (CERTMINT_SHUTDOWN_DRAIN_DELAY_MS). At SIGTERM health turns
 * NOT_SERVING at once, but whoever routes connections to this process learns of it late: in
 * Kubernetes the pod is removed from its Service's endpoints while it already stops, and every
 * kube-proxy, ingress and client-side balancer applies that removal seconds later; a load
 * balancer sees NOT_SERVING at its next health check. Meanwhile they keep opening connections
 * here. Without a delay the port closed at once and those connections were refused (the clients
 * saw UNAVAILABLE). With one the server goes on accepting and serving, NOT_SERVING, for the
 * delay; then it stops accepting, sends GOAWAY and lets the calls in flight finish within
 * CERTMINT_SHUTDOWN_GRACE_MS (app.ts), as grpc-go's GracefulStop behind a preStop sleep, or
 * Envoy's drain, do. A second SIGTERM/SIGINT during the delay ends it (main.ts, supervisor.ts).
 */
export class DrainDelay {
  private end?: () => void;
  private skipped = false;

  constructor(readonly ms: number) {}

  /** Resolves once the delay is over: elapsed, or skipped (before it started or meanwhile). */
  wait(): Promise<"elapsed" | "skipped"> {
    if (this.skipped) return Promise.resolve("skipped");
    if (this.ms <= 0) return Promise.resolve("elapsed");
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.end = undefined;
        resolve("elapsed");
      }, this.ms);
      this.end = () => {
        clearTimeout(timer);
        this.end = undefined;
        resolve("skipped");
      };
    });
  }

  /** Ends the delay now (and any later wait at once); true when a delay was under way. */
  skip(): boolean {
    this.skipped = true;
    const end = this.end;
    end?.();
    return end !== undefined;
  }
}

/** The supervisor's message to its workers: a second signal ended the drain delay. */
export const SKIP_DRAIN_DELAY = "certmint:skip-drain-delay";

export function isSkipDrainDelay(message: unknown): boolean {
  return (message as { type?: unknown } | undefined)?.type === SKIP_DRAIN_DELAY;
}
