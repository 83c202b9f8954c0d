import type { KeyObject } from "node:crypto";
import { Worker } from "node:worker_threads";

/**
 * One worker thread that generates RSA keys (about 150 ms of CPU each at 2048 bits, seconds at
 * 4096), at the lowest scheduling priority, so a burst of server-generated RSA keys yields the
 * cores to signing and gRPC work instead of competing with them (bench/issue measures the p99
 * of CSR requests while RSA keys are generated). The worker generates synchronously on its own
 * thread: the libuv pool is shared with the main thread and is not reniced. KeyObjects cross
 * threads by structured clone; key bytes never leave the process. The pool in front of it
 * (key-generator.ts) gives it one key at a time.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { generateKeyPairSync } = require("node:crypto");
try { require("node:os").setPriority(19); } catch {}
parentPort.on("message", ({ bits }) => {
  try {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: bits, publicExponent: 0x10001 });
    parentPort.postMessage({ publicKey, privateKey });
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message) });
  }
});
`;

type Result = { publicKey?: KeyObject; privateKey?: KeyObject; error?: string };

export class RsaKeygenWorker {
  private readonly worker: Worker;
  private pending?: { resolve(r: Result): void; reject(e: Error): void };
  /** False once the thread failed or was closed: the pool starts another. */
  alive = true;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    this.worker.on("message", (msg: Result) => {
      const p = this.pending;
      this.pending = undefined;
      // Idle, the thread holds nothing open; busy, it keeps the process alive (ref in run).
      this.worker.unref();
      p?.resolve(msg);
    });
    const fail = (err: Error) => {
      this.alive = false;
      const p = this.pending;
      this.pending = undefined;
      p?.reject(err);
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) =>
      fail(new Error(`the RSA key generation worker exited (${code})`)),
    );
    this.worker.unref();
  }

  /** Generates one RSA key pair of `bits`; one call at a time. */
  async run(bits: number): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
    if (this.pending) throw new Error("the RSA key generation worker is busy");
    const msg = await new Promise<Result>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.ref();
      this.worker.postMessage({ bits });
    });
    if (msg.error || !msg.publicKey || !msg.privateKey) {
      throw new Error(msg.error ?? "RSA key generation failed");
    }
    return { publicKey: msg.publicKey, privateKey: msg.privateKey };
  }

  close(): Promise<number> {
    this.alive = false;
    return this.worker.terminate();
  }
}
