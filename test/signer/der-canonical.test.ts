/**
 * isForgeDer (der.ts) says from the bytes what the CSR parser asked of forge's round trip
 * before: whether toDer of the parsed tree gives back exactly the bytes that were parsed. Here
 * the round trip is the oracle, on random ASN.1 written in every length form (short, long,
 * long with a leading zero, indefinite), INTEGERs with redundant sign octets, BMPStrings of odd
 * length, high tag numbers, and on byte flips of real CSRs.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createCsr, SoftwareSigner } from "../../src/signer";
import { isForgeDer, parseDer, toDer } from "../../src/signer/der";
import { KeyPool } from "./helpers";

type LengthForm = "short" | "long" | "leading-zero" | "indefinite";
type Tree =
  | { kind: "primitive"; identifier: number; content: Uint8Array; form: LengthForm }
  | { kind: "constructed"; identifier: number; children: Tree[]; form: LengthForm };

function lengthOctets(length: number, form: LengthForm): number[] {
  if (form === "indefinite") return [0x80];
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  if (form === "short" && length < 0x80) return [length];
  if (form === "leading-zero") return [0x80 | (bytes.length + 1), 0, ...bytes];
  if (bytes.length === 0) bytes.push(0);
  return [0x80 | bytes.length, ...bytes];
}

function encode(tree: Tree): number[] {
  if (tree.kind === "primitive") {
    // A primitive of indefinite length is refused by forge's strict parse: write it definite.
    const form = tree.form === "indefinite" ? "short" : tree.form;
    return [tree.identifier, ...lengthOctets(tree.content.length, form), ...tree.content];
  }
  const body = tree.children.flatMap(encode);
  if (tree.form === "indefinite") return [tree.identifier, 0x80, ...body, 0, 0];
  return [tree.identifier, ...lengthOctets(body.length, tree.form), ...body];
}

const form = fc.constantFrom<LengthForm>(
  "short",
  "short",
  "short",
  "long",
  "leading-zero",
  "indefinite",
);
/** Identifier octets with the types that matter (INTEGER 2, BMPString 30, high tag 31) often. */
const typeBits = fc.oneof(
  fc.constantFrom(2, 3, 4, 6, 12, 16, 17, 30, 31),
  fc.integer({ min: 0, max: 31 }),
);
const classBits = fc.constantFrom(0x00, 0x00, 0x40, 0x80, 0xc0);
const content = fc.oneof(
  fc.uint8Array({ maxLength: 6 }),
  fc.uint8Array({ minLength: 120, maxLength: 140 }),
  fc.constantFrom(
    Uint8Array.of(0, 0x7f),
    Uint8Array.of(0, 0x80),
    Uint8Array.of(0xff, 0x80),
    Uint8Array.of(0xff, 0x7f),
    Uint8Array.of(0, 0, 1),
    Uint8Array.of(0, 65, 0),
  ),
);
const tree: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({
      kind: fc.constant("primitive" as const),
      identifier: fc.tuple(classBits, typeBits).map(([c, t]) => c | t),
      content,
      form,
    }),
    fc.record({
      kind: fc.constant("constructed" as const),
      identifier: fc.tuple(classBits, typeBits).map(([c, t]) => c | 0x20 | t),
      children: fc.array(tie("tree"), { maxLength: 4 }),
      form,
    }),
  ),
})).tree;

/** The round trip the CSR parser made before, for bytes parseDer reads as one element. */
function roundTrip(der: Buffer): boolean | undefined {
  let parsed: ReturnType<typeof parseDer>;
  try {
    parsed = parseDer(der);
  } catch {
    return undefined; // not parsed: the parser refuses it before either check
  }
  if (parsed.trailing > 0) return undefined;
  return toDer(parsed.node).equals(der);
}

describe("isForgeDer", () => {
  it("agrees with toDer's round trip on random ASN.1 in every length form", () => {
    let compared = 0;
    let refused = 0;
    fc.assert(
      fc.property(tree, (t) => {
        const der = Buffer.from(encode(t));
        const expected = roundTrip(der);
        if (expected === undefined) return;
        compared++;
        if (!expected) refused++;
        expect(isForgeDer(der)).toBe(expected);
      }),
      { numRuns: 5000 },
    );
    // Both outcomes were exercised, many times.
    expect(compared).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(100);
    expect(compared - refused).toBeGreaterThan(100);
  });

  it("agrees with it where forge reads a BMPString of odd length into the next element", () => {
    for (const [hex, same] of [
      ["300a1e03004100300300ff00", false], // the BMPString takes an octet of the SEQUENCE after it
      ["30061e0400410042", true],
      ["3003020100", true],
      ["300402020080", true],
      ["300402020001", false], // INTEGER 1 with a redundant sign octet
      ["3081030201" + "00", false], // long form for a length under 128
    ] as const) {
      const der = Buffer.from(hex, "hex");
      expect(roundTrip(der), hex).toBe(same);
      expect(isForgeDer(der), hex).toBe(same);
    }
  });

  it("agrees with it on byte flips, insertions and deletions of CSRs", async () => {
    const keys = new KeyPool();
    const seeds: Buffer[] = [];
    for (const alg of ["EC_P256", "RSA_2048"] as const) {
      const k = await keys.get(alg);
      const pem = await createCsr({
        subject: { attributes: [{ type: "COMMON_NAME", value: "canonical.example" }] },
        signer: new SoftwareSigner(k.privateKey),
        sans: { dns: ["canonical.example"], ip: ["10.0.0.1"], email: [], uri: [] },
      });
      seeds.push(Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64"));
    }
    for (const seed of seeds) expect(isForgeDer(seed)).toBe(true);
    let compared = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(
          fc.record({
            at: fc.nat(),
            op: fc.constantFrom("set", "insert", "delete"),
            byte: fc.integer({ min: 0, max: 255 }),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        (seed, edits) => {
          const bytes = [...seed];
          for (const e of edits) {
            const at = e.at % bytes.length;
            if (e.op === "set") bytes[at] = e.byte;
            else if (e.op === "insert") bytes.splice(at, 0, e.byte);
            else bytes.splice(at, 1);
          }
          const der = Buffer.from(bytes);
          const expected = roundTrip(der);
          if (expected === undefined) return;
          compared++;
          expect(isForgeDer(der)).toBe(expected);
        },
      ),
      { numRuns: 3000 },
    );
    expect(compared).toBeGreaterThan(100);
  });
});
