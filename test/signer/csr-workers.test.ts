/**
 * CSR checks on worker threads (src/signer/csr-workers.ts) must be indistinguishable from
 * parseCsr on the calling thread: the same ParsedCsr (the key included), or the same
 * CertmintError, for valid CSRs of every key type and for mutated ones; and no call may be lost
 * when a thread ends under it.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertmintError } from "../../src/errors";
import type { KeyAlgorithm } from "../../src/model/pki";
import { CsrWorkers, createCsr, parseCsr, SoftwareSigner } from "../../src/signer";
import { KeyPool } from "./helpers";

const keys = new KeyPool();
const seeds: Array<{ alg: KeyAlgorithm; der: Buffer }> = [];
const workers = new CsrWorkers(2);

const pemOf = (der: Uint8Array) =>
  `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from(der)
    .toString("base64")
    .replace(/.{64}/g, "$&\n")}\n-----END CERTIFICATE REQUEST-----\n`;

beforeAll(async () => {
  for (const alg of ["EC_P256", "EC_P384", "ED25519", "RSA_2048"] as const) {
    const k = await keys.get(alg);
    const pem = await createCsr({
      subject: {
        attributes: [
          { type: "ORGANIZATION", value: "Threads GmbH" },
          { type: "COMMON_NAME", value: `${alg.toLowerCase()}.example` },
        ],
      },
      signer: new SoftwareSigner(k.privateKey),
      sans: { dns: ["a.example", "b.example"], ip: ["10.1.2.3"], email: [], uri: [] },
    });
    seeds.push({ alg, der: Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64") });
  }
}, 60_000);

afterAll(() => workers.close());

/** What a parse came to, in comparable form. */
async function outcome(parse: () => Promise<unknown>): Promise<unknown> {
  try {
    const p = (await parse()) as ReturnType<typeof parseCsr>;
    return {
      subject: p.subject,
      sans: p.sans,
      keyAlgorithm: p.keyAlgorithm,
      signatureAlgorithm: p.signatureAlgorithm,
      requestedExtensions: p.requestedExtensions,
      der: p.der.toString("hex"),
      key: p.publicKey.export({ type: "spki", format: "der" }).toString("hex"),
    };
  } catch (e) {
    if (!(e instanceof CertmintError)) return { notCertmintError: String(e) };
    return { kind: e.kind, reason: e.reason, message: e.message, violations: e.violations };
  }
}

const inline = (pem: string) => outcome(async () => parseCsr(pem));
const threaded = (pem: string) => outcome(() => workers.parse(pem));

describe("CsrWorkers", () => {
  it("parses valid CSRs of every key type as parseCsr does, on its threads", async () => {
    const before = workers.counts.onThreads;
    for (const seed of seeds) {
      const pem = pemOf(seed.der);
      const got = (await threaded(pem)) as { keyAlgorithm?: string };
      expect(got).toEqual(await inline(pem));
      expect(got.keyAlgorithm).toBe(seed.alg);
    }
    expect(workers.counts.onThreads - before).toBe(seeds.length);
  });

  it("refuses a CSR whose signature does not verify, as parseCsr does", async () => {
    for (const seed of seeds) {
      const der = Buffer.from(seed.der);
      der[der.length - 2] = (der[der.length - 2] ?? 0) ^ 0x01; // inside the signature
      const got = await threaded(pemOf(der));
      expect(got).toEqual(await inline(pemOf(der)));
      expect(got).toMatchObject({ reason: "CSR_SIGNATURE_INVALID" });
    }
  });

  it("gives every mutated CSR the same result or error as parseCsr", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: 3 }),
        fc.array(
          fc.record({ at: fc.nat({ max: 4096 }), value: fc.integer({ min: 0, max: 255 }) }),
          { minLength: 1, maxLength: 3 },
        ),
        async (i, sets) => {
          const der = Buffer.from(seeds[i]!.der);
          for (const s of sets) der[s.at % der.length] = s.value;
          const pem = pemOf(der);
          expect(await threaded(pem)).toEqual(await inline(pem));
        },
      ),
      { numRuns: 400 },
    );
  });

  it("loses no call when its threads end under it, and starts new ones", async () => {
    const pems = Array.from({ length: 48 }, (_, n) => pemOf(seeds[n % seeds.length]!.der));
    const expected = await Promise.all(pems.map(inline));
    const running = pems.map(threaded);
    await workers.restartThreads();
    expect(await Promise.all(running)).toEqual(expected);
    const before = workers.counts.onThreads;
    expect(await threaded(pems[0]!)).toEqual(expected[0]);
    expect(workers.counts.onThreads).toBe(before + 1);
  });

  it("parses on the calling thread once closed", async () => {
    const closed = new CsrWorkers(1);
    await closed.close();
    const pem = pemOf(seeds[0]!.der);
    expect(await outcome(() => closed.parse(pem))).toEqual(await inline(pem));
    expect(closed.counts).toEqual({ onThreads: 0, inline: 1 });
  });
});
