import cluster from "node:cluster";
import type { Logger } from "pino";
import type { RunningCertmint, StartOptions } from "../app";
import { answerMetricsQuestions } from "./cluster-metrics";
import { isSkipDrainDelay } from "./drain";
import { SharedLimitsClient } from "./shared-limits-client";

/**
 * The worker side of CERTMINT_PROCESSES > 1 (server/supervisor.ts is the other): a worker is
 * a whole certmint (app.ts) that tells its supervisor when it serves and answers its metrics
 * questions instead of serving /metrics itself.
 */
export function isWorkerProcess(): boolean {
  return cluster.isWorker;
}

/** What a worker reports once it serves: the supervisor's banner and its log read it. */
export interface ServingReport {
  type: typeof SERVING;
  pid: number;
  address: string;
  publicationPort?: number;
  acmePort?: number;
  adminTokenCreated: boolean;
}

const SERVING = "certmint:serving";

export function isServingReport(message: unknown): message is ServingReport {
  return (message as ServingReport | undefined)?.type === SERVING;
}

/**
 * startCertmint's options in a worker (app.ts StartOptions.worker): its limits on callers are
 * kept by the supervisor for all `processes` workers (server/shared-limits-authority.ts).
 */
export function workerStartOptions(
  processes: number,
  logger: Logger,
): Pick<StartOptions, "worker"> {
  return {
    worker: {
      shareMetrics: (metrics) => answerMetricsQuestions(metrics.registry),
      limits: new SharedLimitsClient(processes, logger),
    },
  };
}

export function reportServing(running: RunningCertmint): void {
  const report: ServingReport = {
    type: SERVING,
    pid: process.pid,
    address: running.address,
    publicationPort: running.publicationPort,
    acmePort: running.acmePort,
    adminTokenCreated: running.adminTokenCreated,
  };
  process.send?.(report);
}

/**
 * The supervisor's second signal during the drain delay (server/drain.ts): sent as a message,
 * since a worker usually gets every signal twice (main.ts) and cannot tell a second wish from
 * the same signal delivered to it again.
 */
export function onSkipDrainDelay(skip: () => void): void {
  process.on("message", (message: unknown) => {
    if (isSkipDrainDelay(message)) skip();
  });
}
