import type { KeyObject } from "node:crypto";
import { Worker } from "node:worker_threads";

/**
 * RSA key generation (about 150 ms of CPU each at 2048 bits, seconds at 4096) on a dedicated
 * worker thread that runs at the lowest scheduling priority, so a burst of server-generated
 * RSA keys yields the cores to signing and gRPC work instead of competing with them (bench/issue
 * measures the p99 of CSR requests while RSA keys are generated). The worker generates
 * synchronously on its own thread: the libuv pool is shared with the main thread and is not
 * reniced. KeyObjects cross threads by structured clone; key bytes never leave the process.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { generateKeyPairSync } = require("node:crypto");
try { require("node:os").setPriority(19); } catch {}
parentPort.on("message", ({ id, bits }) => {
  try {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: bits, publicExponent: 0x10001 });
    parentPort.postMessage({ id, publicKey, privateKey });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message) });
  }
});
`;

interface Pending {
  resolve(pair: { publicKey: KeyObject; privateKey: KeyObject }): void;
  reject(err: Error): void;
}

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, Pending>();

function ensureWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER_SOURCE, { eval: true });
  w.on(
    "message",
    (msg: { id: number; publicKey?: KeyObject; privateKey?: KeyObject; error?: string }) => {
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if (pending.size === 0) w.unref();
      if (msg.error || !msg.publicKey || !msg.privateKey)
        p.reject(new Error(msg.error ?? "RSA key generation failed"));
      else p.resolve({ publicKey: msg.publicKey, privateKey: msg.privateKey });
    },
  );
  const failAll = (err: Error) => {
    worker = undefined;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  w.on("error", failAll);
  w.on("exit", (code) => failAll(new Error(`the RSA key generation worker exited (${code})`)));
  w.unref();
  worker = w;
  return w;
}

/** Generates an RSA key pair of `bits` on the low-priority worker thread. */
export function generateRsaKeyPair(
  bits: number,
): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  const w = ensureWorker();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    // Keep the process alive while a key is being made; idle, the worker holds nothing open.
    w.ref();
    w.postMessage({ id, bits });
  });
}
