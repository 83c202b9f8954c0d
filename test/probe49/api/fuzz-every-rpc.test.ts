/**
 * Stop 49, helper API: every unary RPC of the contract, sent messages of random but well-typed
 * content (a seeded generator over the buf image: ids and slugs that exist and that do not,
 * unicode-tricky strings, extreme numbers, unknown enum values, timestamps and durations at
 * their edges) by an admin token, which reaches furthest into the server. Whatever the server
 * makes of them, it must never answer INTERNAL or UNKNOWN, every refusal must carry a
 * google.rpc.Status with an ErrorInfo reason, and no message may carry a stack trace.
 */
import {
  create,
  type DescField,
  type DescMessage,
  type DescMethod,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attrRequest } from "../../certificates/helpers";
import { allMethods, rpcPath } from "../../support/contract";
import { call } from "../../support/harness";
import { RawClient } from "../../support/raw-client";
import {
  type LiveCertmint,
  Role,
  rawFormatCharacter,
  rootPolicyProfile,
  startLive,
  token,
} from "./live";

/** mulberry32: a small seeded generator, so a failure names a case that can be sent again. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TRICKY = [
  "",
  "web",
  "web-root",
  "web-policy",
  "WEB",
  "w\u0435b", // Cyrillic e
  "web\u202e",
  "web\u200b",
  "\u001b[31mred",
  "line\nbreak",
  "\u2066isolate",
  "\u00e9\u0301",
  "'; drop table certificate; --",
  "%",
  "_",
  "\\",
  '"',
  "*",
  "a.example.com",
  "spiffe://prod.example/ns/x",
  "00",
  "0x",
  "ff".repeat(20),
  "01a24d15-0000-7000-8000-000000000000",
  "00000000-0000-0000-0000-000000000000",
  "ROLE_ADMIN",
  "\ud83d\ude00",
  "x".repeat(60),
];
const INTS = [0, 1, -1, 2, 1000, 1001, 2_147_483_647, -2_147_483_648];
const INT64S = ["0", "1", "-1", "86400", "315576000000", "315576000001", "9223372036854775807"];

describe("probe49 API: random well-typed messages to every RPC", () => {
  let live: LiveCertmint;
  let raw: RawClient;
  const known: string[] = [];

  beforeAll(async () => {
    live = await startLive();
    const web = await rootPolicyProfile(live, "web");
    const t = await token(live, "fuzz-issuer", Role.ROLE_ISSUER, ["web"]);
    const issued = await call(
      t.clients.certificates,
      "issueCertificate",
      attrRequest("web", { dns: ["fuzz.example.com"] }),
    );
    known.push(
      web.rootId,
      web.profileId,
      t.id,
      issued.certificateRequestId,
      issued.certificate!.certificateId,
      issued.certificate!.serialNumber,
    );
    raw = new RawClient(live.address, live.adminToken);
  });
  afterAll(async () => {
    raw?.close();
    await live?.stop();
  });

  function value(field: DescField, next: () => number, depth: number): unknown {
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
    const one = (): unknown => {
      if (field.fieldKind === "enum" || (field.fieldKind === "list" && field.listKind === "enum")) {
        const values = field.enum!.values.map((v) => v.number);
        return pick([...values, ...values, 99, -1]);
      }
      if (
        field.fieldKind === "message" ||
        (field.fieldKind === "list" && field.listKind === "message")
      ) {
        return message(field.message!, next, depth + 1);
      }
      switch (field.scalar) {
        case ScalarType.STRING:
          return pick([...TRICKY, ...known]);
        case ScalarType.BOOL:
          return next() < 0.5;
        case ScalarType.INT64:
        case ScalarType.UINT64:
        case ScalarType.SINT64:
          return BigInt(pick(INT64S));
        case ScalarType.BYTES:
          return new Uint8Array([0, 1, 2, 0xff]);
        default:
          return pick(INTS);
      }
    };
    if (field.fieldKind === "list") return Array.from({ length: Math.floor(next() * 3) }, one);
    return one();
  }

  function message(desc: DescMessage, next: () => number, depth: number): Record<string, unknown> {
    const init: Record<string, unknown> = {};
    if (desc.typeName === "google.protobuf.Timestamp") {
      return {
        seconds: BigInt(
          ["0", "1765000000", "253402300799", "-62135596800", "-1"][Math.floor(next() * 5)]!,
        ),
        nanos: [0, 999_999_999][Math.floor(next() * 2)]!,
      };
    }
    if (desc.typeName === "google.protobuf.FieldMask") {
      const paths = ["*", "description", "status", "slug", "defaults.ttl", "renewal", "x"];
      return { paths: paths.filter(() => next() < 0.3) };
    }
    if (depth > 3) return init;
    const oneofsSet = new Set<string>();
    for (const field of desc.fields) {
      if (next() < 0.45) continue;
      if (field.oneof) {
        if (oneofsSet.has(field.oneof.localName)) continue;
        oneofsSet.add(field.oneof.localName);
        init[field.oneof.localName] = { case: field.localName, value: value(field, next, depth) };
      } else {
        init[field.localName] = value(field, next, depth);
      }
    }
    return init;
  }

  const unary = allMethods().filter((m: DescMethod) => m.methodKind === "unary");

  it("never INTERNAL or UNKNOWN, always a reason, never a stack trace", async () => {
    const bad: string[] = [];
    let calls = 0;
    for (const method of unary) {
      for (let i = 0; i < 25; i++) {
        const seed = (method.name.length * 7919 + i * 104_729) >>> 0;
        const init = message(method.input, rng(seed), 0);
        let bytes: Uint8Array;
        try {
          bytes = toBinary(method.input, create(method.input, init as never));
        } catch {
          continue;
        }
        const outcome = await raw.call(rpcPath(method), bytes);
        calls += 1;
        const e = outcome.error;
        if (!e) continue;
        const where = `${method.name} seed ${seed}: ${e.code} ${e.reason ?? "(no reason)"} ${e.message.slice(0, 160)}`;
        if (e.code === status.INTERNAL || e.code === status.UNKNOWN) bad.push(where);
        else if (!e.reason) bad.push(where);
        else if (/\n\s+at |\.ts:\d+|node_modules/.test(e.message)) bad.push(where);
        else if (rawFormatCharacter(e.message))
          bad.push(`${where} (raw ${rawFormatCharacter(e.message)})`);
      }
    }
    expect(calls).toBeGreaterThan(unary.length * 10);
    expect(bad).toEqual([]);
    // The server is still up and serving.
    expect(live.server.child.exitCode).toBeNull();
  });
});
