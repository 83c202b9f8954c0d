import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";

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
 */
const QUESTION = "certmint:metrics?";
const ANSWER = "certmint:metrics";
/** A worker's event loop answers within this, or the scrape fails (a busy loop, not a dead one). */
const ANSWER_TIMEOUT_MS = 10_000;

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

/** In a worker: answers the supervisor's questions with `registry` (the process's metrics). */
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
}

/** In the supervisor: the exposition of every worker's metrics and its own, summed. */
export class ClusterMetrics {
  private next = 0;

  constructor(private readonly own: Registry) {}

  async exposition(): Promise<{ contentType: string; body: string }> {
    const parts = await Promise.all([
      this.own.getMetricsAsJSON(),
      ...Object.values(cluster.workers ?? {}).flatMap((worker) =>
        worker?.isConnected() ? [this.ask(worker)] : [],
      ),
    ]);
    const registry = AggregatorRegistry.aggregate(parts.filter((p) => p !== undefined));
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  /** One worker's metrics; undefined when it exits before answering (its share is gone). */
  private ask(worker: Worker): Promise<Metrics | undefined> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        worker.off("message", onMessage);
        worker.off("exit", onExit);
      };
      const onMessage = (message: Answer) => {
        if (message?.type !== ANSWER || message.id !== id) return;
        done();
        if (message.error !== undefined)
          reject(new Error(`worker ${worker.process.pid}: ${message.error}`));
        else resolve(message.metrics);
      };
      const onExit = () => {
        done();
        resolve(undefined);
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(`worker ${worker.process.pid} did not answer within ${ANSWER_TIMEOUT_MS} ms`),
        );
      }, ANSWER_TIMEOUT_MS);
      worker.on("message", onMessage);
      worker.on("exit", onExit);
      worker.send({ type: QUESTION, id } satisfies Question);
    });
  }
}
