import cluster, { type Worker } from "node:cluster";
import type { Logger } from "pino";
import { AggregatorRegistry, Gauge, type Registry } from "prom-client";
import { throttledWarnings } from "./throttled-warnings";

/**
 * /metrics for all worker processes (CERTMINT_PROCESSES > 1): the supervisor asks every worker
 * for its registry over the cluster's IPC channel and sums them with prom-client's aggregation
 * (counters and histograms add up; gauges by the aggregator each declares in server/metrics.ts),
 * with the supervisor's own registry (its process metrics, the worker gauges) in the sum.
 *
 * prom-client's AggregatorRegistry#clusterMetrics is not used: it reads one registry per
 * worker process that must be set globally, cannot add the supervisor's own metrics, and
 * waits its full timeout for a worker that died after the question was sent; this asks each
 * worker once and stops waiting for one that exits.
 *
 * A worker answers from the start of its start-up (app.ts shares its metrics before it opens
 * the database), and says so (ANSWERING): only a worker that said so is asked, since a question
 * sent before its handler is in place is dropped and would be waited for in vain. A worker that
 * does not answer in time, or whose registry fails, leaves its share out of that scrape, never
 * the scrape itself: the others' series and the supervisor's are served, and
 * certmint_worker_metrics_missing names the worker left out (until stop 46 of 2026-12-06 a
 * worker still starting, at the first start, during migrations or after every replacement, was
 * asked, never answered, and the scrape failed with 500 after 10 s: an outside probe).
 */
const QUESTION = "certmint:metrics?";
const ANSWER = "certmint:metrics";
const ANSWERING = "certmint:metrics-answering";
/**
 * How long a scrape waits for a worker's answer: well under Prometheus' default scrape_timeout
 * (10 s), so a scrape with a worker stuck still arrives; above the 2 s a worker's own registry
 * may wait for its expiring-certificates query (server/metrics.ts), so a worker merely waiting
 * on its database is not left out.
 */
export const ANSWER_TIMEOUT_MS = 5_000;

type Metrics = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;
interface Question {
  type: typeof QUESTION;
  id: number;
}
interface Answer {
  type: typeof ANSWER;
  id: number;
  metrics?: Metrics;
  error?: string;
}
/** Why a worker's series are missing from a scrape (the label of certmint_worker_metrics_missing). */
type MissingReason = "starting" | "timeout" | "error";

/**
 * In a worker: answers the supervisor's questions with `registry` (the process's metrics), and
 * tells the supervisor it does (from then on it is asked).
 */
export function answerMetricsQuestions(registry: Registry): void {
  process.on("message", (message: Question) => {
    if (message?.type !== QUESTION) return;
    const reply = (answer: Omit<Answer, "type" | "id">) =>
      process.send?.({ type: ANSWER, id: message.id, ...answer });
    registry.getMetricsAsJSON().then(
      (metrics) => reply({ metrics }),
      (err: unknown) => reply({ error: err instanceof Error ? err.message : String(err) }),
    );
  });
  process.send?.({ type: ANSWERING });
}

/** In the supervisor: the exposition of every worker's metrics and its own, summed. */
export class ClusterMetrics {
  private next = 0;
  /** The workers that said they answer (answerMetricsQuestions). */
  private readonly answering = new WeakSet<Worker>();
  private readonly missing: Gauge<"pid" | "reason">;

  constructor(
    private readonly own: Registry,
    private readonly logger?: Logger,
  ) {
    // Registered before any worker is forked (supervisor.ts): no worker's word is missed.
    cluster.on("message", (worker: Worker, message: { type?: unknown } | undefined) => {
      if (message?.type === ANSWERING) this.answering.add(worker);
    });
    this.missing = new Gauge({
      name: "certmint_worker_metrics_missing",
      help:
        "1 for each worker process whose metrics this scrape lacks (its counters are missing from the sums until it answers), " +
        "by pid and reason: starting (not answering yet), timeout (no answer within 5 s), error (its registry failed)",
      labelNames: ["pid", "reason"],
      registers: [own],
    });
  }

  async exposition(): Promise<{ contentType: string; body: string }> {
    const workers = Object.values(cluster.workers ?? {}).flatMap((worker) =>
      worker?.isConnected() ? [worker] : [],
    );
    const answers = await Promise.all(workers.map((worker) => this.ask(worker)));
    // Set before the supervisor's own registry is read: this scrape's gaps, and only these.
    this.missing.reset();
    const parts: Metrics[] = [];
    answers.forEach((answer, i) => {
      if (answer === undefined) return;
      if ("metrics" in answer) parts.push(answer.metrics);
      else this.missing.set({ pid: String(workers[i]!.process.pid), reason: answer.missing }, 1);
    });
    parts.push(await this.own.getMetricsAsJSON());
    const registry = AggregatorRegistry.aggregate(parts);
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  /**
   * One worker's metrics, or why they are missing; undefined when it exits before answering
   * (its share is gone, and it is no longer a worker).
   */
  private ask(
    worker: Worker,
  ): Promise<{ metrics: Metrics } | { missing: MissingReason } | undefined> {
    if (!this.answering.has(worker)) return Promise.resolve({ missing: "starting" });
    const id = this.next++;
    const pid = worker.process.pid;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        worker.off("message", onMessage);
        worker.off("exit", onExit);
      };
      const onMessage = (message: Answer) => {
        if (message?.type !== ANSWER || message.id !== id) return;
        done();
        if (message.error !== undefined) {
          this.warn(pid, "error", { error: message.error }, "a worker's metrics failed: left out");
          resolve({ missing: "error" });
        } else if (message.metrics === undefined) {
          resolve({ missing: "error" });
        } else {
          resolve({ metrics: message.metrics });
        }
      };
      const onExit = () => {
        done();
        resolve(undefined);
      };
      const timer = setTimeout(() => {
        done();
        this.warn(
          pid,
          "timeout",
          { timeoutMs: ANSWER_TIMEOUT_MS },
          "a worker did not answer the metrics question in time: left out",
        );
        resolve({ missing: "timeout" });
      }, ANSWER_TIMEOUT_MS);
      worker.on("message", onMessage);
      worker.on("exit", onExit);
      worker.send({ type: QUESTION, id } satisfies Question);
    });
  }

  /** One warning per worker and reason per window: a worker stuck for hours is scraped often. */
  private warn(
    pid: number | undefined,
    reason: MissingReason,
    fields: Record<string, unknown>,
    message: string,
  ): void {
    if (!this.logger) return;
    throttledWarnings(this.logger).warn(
      this.logger,
      `worker metrics ${reason} ${pid}`,
      { pid, ...fields },
      message,
    );
  }
}
