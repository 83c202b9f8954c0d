/**
 * Fuzzing parseCsr with mutations of valid CSRs: it must only ever return a ParsedCsr or throw
 * a CertmintError (invalid_argument, with a known reason), and must never hang. A mutated CSR
 * that still parses must carry the original key (the self-signature still binds it).
 */
import type { KeyObject } from "node:crypto";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { CertmintError } from "../../src/errors";
import type { KeyAlgorithm } from "../../src/model/pki";
import { createCsr, parseCsr, parseCsrDer, SoftwareSigner } from "../../src/signer";
import { KeyPool } from "./helpers";

const REASONS = new Set([
  "CSR_MALFORMED",
  "CSR_TOO_LARGE",
  "CSR_KEY_TOO_WEAK",
  "CSR_KEY_UNSUPPORTED",
  "CSR_SIGNATURE_ALGORITHM_UNSUPPORTED",
  "CSR_SIGNATURE_INVALID",
  "CSR_SUBJECT_UNSUPPORTED",
  "CSR_SAN_UNSUPPORTED",
  "CSR_KEY_EXPLICIT_CURVE",
  "CSR_KEY_ENCODING_INVALID",
  "CSR_SUBJECT_TOO_MANY_VALUES",
  "CSR_SUBJECT_VALUE_TOO_LONG",
  "CSR_SAN_TOO_MANY",
  "CSR_SAN_TOO_LONG",
]);
/** A hang detector, not a performance assertion: a parse takes well under 1 ms normally. */
const MAX_CALL_MS = 1000;

const keys = new KeyPool();
const seeds: Array<{ alg: KeyAlgorithm; der: Buffer; pem: string; key: KeyObject }> = [];

beforeAll(async () => {
  for (const alg of ["EC_P256", "ED25519", "RSA_2048"] as const) {
    const k = await keys.get(alg);
    const pem = await createCsr({
      subject: {
        attributes: [
          { type: "COUNTRY", value: "DE" },
          { type: "ORGANIZATION", value: "Fuzz GmbH" },
          { type: "COMMON_NAME", value: "fuzz.example" },
        ],
      },
      signer: new SoftwareSigner(k.privateKey),
      sans: {
        dns: ["fuzz.example"],
        ip: ["10.0.0.1", "::1"],
        email: ["a@b.example"],
        uri: ["urn:x:y"],
      },
      ca: { pathLength: 1 },
    });
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
    seeds.push({ alg, der, pem, key: k.publicKey });
  }
});

type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; value: number }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; count: number };

const position = fc.nat({ max: 4096 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: position, bit: fc.nat({ max: 7 }) }),
  fc.record({
    kind: fc.constant("set" as const),
    at: position,
    value: fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xff),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: position }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: position,
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    at: position,
    count: fc.integer({ min: 1, max: 8 }),
  }),
);

function apply(der: Buffer, mutations: Mutation[]): Buffer {
  let b = Buffer.from(der);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.kind === "flip") b[at] = (b[at] ?? 0) ^ (1 << m.bit);
    else if (m.kind === "set") b[at] = m.value;
    else if (m.kind === "truncate") b = b.subarray(0, at);
    else if (m.kind === "insert") b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
    else b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.count)]);
  }
  return b;
}

function check(call: () => ReturnType<typeof parseCsr>, key: KeyObject): void {
  const start = performance.now();
  try {
    const parsed = call();
    expect(parsed.publicKey.equals(key)).toBe(true);
  } catch (e) {
    if (!(e instanceof CertmintError))
      throw new Error(`parseCsr threw a non-CertmintError: ${String(e)}`);
    expect(e.kind).toBe("invalid_argument");
    expect(REASONS.has(e.reason), e.reason).toBe(true);
  }
  expect(performance.now() - start).toBeLessThan(MAX_CALL_MS);
}

describe("parseCsr under mutation", () => {
  it("DER mutations: a result or a CertmintError, nothing else", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 2 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (i, ms) => {
          const seed = seeds[i]!;
          const mutated = apply(seed.der, ms);
          check(() => parseCsrDer(mutated), seed.key);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("PEM text mutations: a result or a CertmintError, nothing else", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 2 }),
        fc.nat({ max: 4096 }),
        fc.string({ maxLength: 12 }),
        fc.nat({ max: 12 }),
        (i, at, insert, remove) => {
          const seed = seeds[i]!;
          const p = at % seed.pem.length;
          const text = seed.pem.slice(0, p) + insert + seed.pem.slice(p + remove);
          check(() => parseCsr(text), seed.key);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("random bytes and deep nesting are refused quickly", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        check(() => parseCsrDer(bytes), seeds[0]!.key);
      }),
      { numRuns: 500 },
    );
    // 10,000 nested SEQUENCE headers (indefinite length): depth limit, not a stack overflow.
    const deep = Buffer.concat([Buffer.alloc(20_000, 0), Buffer.alloc(0)]);
    for (let i = 0; i < 10_000; i++) deep.writeUInt16BE(0x3080, i * 2);
    check(() => parseCsrDer(deep), seeds[0]!.key);
    // A length field claiming 2^32-1 bytes.
    check(
      () => parseCsrDer(Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00])),
      seeds[0]!.key,
    );
  });
});
