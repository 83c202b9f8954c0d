import { generateKeyPairSync } from "node:crypto";
import type { GenerateRsa, KeyPair } from "../../src/signer";

/** One RSA generation of a gated generator, held until the test releases it. */
export interface HeldGeneration {
  bits: number;
  release(): void;
}

/**
 * An RSA generator for KeyGenerator (src/signer/key-generator.ts) whose generations run until
 * the test releases them, so tests of scheduling, cancellation and deadlines wait for states
 * instead of racing real key generation. `started` lists generations in the order the pool
 * started them; a released one yields a real RSA key (one 2048-bit key made up front, whatever
 * the size asked: the pool does not look inside).
 */
export function gatedRsa(): { generateRsa: GenerateRsa; started: HeldGeneration[] } {
  const key: KeyPair = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const started: HeldGeneration[] = [];
  const generateRsa: GenerateRsa = (bits) =>
    new Promise((resolve) => started.push({ bits, release: () => resolve(key) }));
  return { generateRsa, started };
}
