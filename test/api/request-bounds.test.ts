/**
 * Every string and repeated field of every request of the contract, sent out of bounds through
 * the real gRPC API as raw bytes (issue 10, items 7 and 9): each is INVALID_ARGUMENT
 * (REQUEST_FIELD_INVALID) with a BadRequest violation naming the field, and its index in a
 * list, and nothing is written. The fields come from the buf image (test/support/contract.ts),
 * so a field added to the contract is covered without touching this file. For each field:
 *
 *  - a string one character over its limit, one holding NUL, and one that is not UTF-8 (an
 *    unpaired surrogate in CESU form and a 0xFF byte, which no JavaScript encoder can produce:
 *    they would write U+FFFD; the server's decoder would silently do the same);
 *  - a repeated field one value over its count, and (strings) a second value that is too long,
 *    holds NUL, or is not UTF-8.
 *
 * Then the attacks of the issue, each through the generated clients as a backend would send
 * them: 390,000 organizations in a 3.4 MB request, a 0.9 MB organization, 3 MB of description
 * and of reject reason, a 100 KB reference, and a refusal with a hundred violations, which a
 * Python (gRPC C-core) client must still receive.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { DescMethod } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IssueCertificateRequest } from "../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { BadRequest, ErrorInfo } from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import { fieldLimit } from "../../src/api/request-limits";
import { METHOD_RULES } from "../../src/auth/permissions";
import {
  allMethods,
  encodeWith,
  fieldPath,
  type RequestLeaf,
  requestLeaves,
  rpcPath,
} from "../support/contract";
import { createProfileRows, createRoot } from "../support/fixtures";
import {
  call,
  type DecodedError,
  expectRpcError,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { RawClient } from "../support/raw-client";
import { ROOT } from "../support/server-process";

const INVALID_ARGUMENT = 3;

// ---- The cases, generated from the contract -------------------------------------------------

/**
 * Bytes that are not UTF-8, and the placeholder of the same length that stands in for them
 * while encoding (so every length prefix stays right): "q", U+D800 encoded as if it were a
 * character (CESU-8), "b", a 0xFF byte, "q" (5 characters by the server's count); for fields of
 * fewer characters (country), a lead byte followed by no continuation byte.
 */
const NOT_UTF8 = (maxChars: number) =>
  maxChars >= 5
    ? { placeholder: "qZbadZq", bytes: Buffer.from([0x71, 0xed, 0xa0, 0x80, 0x62, 0xff, 0x71]) }
    : { placeholder: "Zq", bytes: Buffer.from([0xc3, 0x28]) };
/** NUL within the field's length. */
const withNul = (maxChars: number) => "a\u0000b".slice(0, Math.min(3, maxChars));

interface Case {
  name: string;
  method: DescMethod;
  bytes: Uint8Array;
  /** The violation the refusal must carry. */
  field: string;
  reason: string;
}

function withInvalidUtf8(bytes: Uint8Array, maxChars: number): Uint8Array {
  const { placeholder, bytes: invalid } = NOT_UTF8(maxChars);
  const out = Buffer.from(bytes);
  const at = out.indexOf(placeholder);
  if (at < 0 || out.indexOf(placeholder, at + 1) >= 0) throw new Error("placeholder not unique");
  invalid.copy(out, at);
  return out;
}

function casesOf(method: DescMethod, leaf: RequestLeaf): Case[] {
  // The default for a field without its own line (request-limits.test.ts flags those).
  const limit = fieldLimit(leaf.key);
  const at = fieldPath(leaf);
  const make = (what: string, value: unknown, field: string, reason: string, raw = false) => {
    const encoded = encodeWith(method, leaf, value);
    return {
      name: `${method.name} ${at}: ${what}`,
      method,
      bytes: raw ? withInvalidUtf8(encoded, limit.maxChars ?? 0) : encoded,
      field,
      reason,
    };
  };
  const tooLong = "x".repeat((limit.maxChars ?? 0) + 1);
  const placeholder = NOT_UTF8(limit.maxChars ?? 0).placeholder;
  const nul = withNul(limit.maxChars ?? 0);
  switch (leaf.kind) {
    case "string":
      return [
        make(`${tooLong.length} characters`, tooLong, at, "FIELD_TOO_LONG"),
        make("NUL", nul, at, "FIELD_CONTAINS_NUL"),
        make("not UTF-8", placeholder, at, "FIELD_NOT_UTF8", true),
      ];
    case "strings": {
      const many = Array.from({ length: limit.maxItems! + 1 }, (_, i) => `v${i}`);
      return [
        make(`${many.length} values`, many, at, "FIELD_TOO_MANY_VALUES"),
        make(`[1] of ${tooLong.length} characters`, ["v", tooLong], `${at}[1]`, "FIELD_TOO_LONG"),
        make("[1] with NUL", ["v", nul], `${at}[1]`, "FIELD_CONTAINS_NUL"),
        make("[1] not UTF-8", ["v", placeholder], `${at}[1]`, "FIELD_NOT_UTF8", true),
      ];
    }
    case "enums": {
      const many = Array.from({ length: limit.maxItems! + 1 }, () => 1);
      return [make(`${many.length} values`, many, at, "FIELD_TOO_MANY_VALUES")];
    }
  }
}

const CASES: Case[] = allMethods().flatMap((m) =>
  requestLeaves(m.input).flatMap((leaf) => casesOf(m, leaf)),
);

// ---- The server -------------------------------------------------------------------------------

let h: TestCertmint;
let raw: RawClient;
/** Every table but audit_record. */
let tables: string[] = [];
let before: Record<string, string>;
let auditBefore: number;

async function snapshot(): Promise<Record<string, string>> {
  const sql = tables
    .map(
      (t) =>
        `select '${t}' as t, count(*) || ':' || coalesce(md5(string_agg(x::text, ',' order by x::text)), '') as s from "${t}" x`,
    )
    .join(" union all ");
  const rows = await h.db.query<{ t: string; s: string }>(sql);
  return Object.fromEntries(rows.map((r) => [r.t, r.s]));
}
const count = async (table: string) =>
  Number((await h.db.query<{ n: string }>(`select count(*) as n from ${table}`))[0]!.n);

beforeAll(async () => {
  // No rate limit: the cases are many calls of one token, and the limit is not under test.
  h = await startTestCertmint({ CERTMINT_RATE_LIMIT_PER_SECOND: "0" });
  raw = new RawClient(h.address, h.adminToken);
  const ca = await createRoot(h);
  await createProfileRows(h, { caId: ca.id });
  tables = (
    await h.db.query<{ table_name: string }>(
      `select table_name from information_schema.tables
        where table_schema = current_schema() and table_type = 'BASE TABLE' and table_name <> 'audit_record'`,
    )
  ).map((r) => r.table_name);
  before = await snapshot();
  auditBefore = await count("audit_record");
}, 120_000);

afterAll(async () => {
  raw?.close();
  await h?.stop();
});

describe("every string and repeated field of every request, out of bounds", () => {
  it("the cases cover the whole contract: every RPC, and every kind of violation", () => {
    // Every RPC the permission table knows (it lists the whole contract) has its cases.
    expect(new Set(CASES.map((c) => c.method.name)).size).toBe(Object.keys(METHOD_RULES).length);
    expect(new Set(CASES.map((c) => c.reason))).toEqual(
      new Set(["FIELD_TOO_LONG", "FIELD_CONTAINS_NUL", "FIELD_NOT_UTF8", "FIELD_TOO_MANY_VALUES"]),
    );
    expect(CASES.length).toBeGreaterThan(400);
  });

  it.each(CASES.map((c): [string, Case] => [c.name, c]))(
    "%s: INVALID_ARGUMENT naming the field",
    async (_name, c) => {
      const { error } = await raw.call(rpcPath(c.method), c.bytes);
      expect(error, "the call must fail").toBeDefined();
      expect({ code: error!.code, reason: error!.reason }, error!.message).toEqual({
        code: INVALID_ARGUMENT,
        reason: "REQUEST_FIELD_INVALID",
      });
      expect(error!.violations).toContainEqual(
        expect.objectContaining({ field: c.field, reason: c.reason }),
      );
    },
  );

  it("wrote nothing: every table as before, and one audit record per refused change", async () => {
    expect(await snapshot()).toEqual(before);
    const mutating = CASES.filter((c) => METHOD_RULES[rpcPath(c.method)]?.mutating).length;
    const audit = await h.db.query<{ status_code: number; error_reason: string; n: string }>(
      "select status_code, error_reason, count(*) as n from audit_record group by 1, 2 order by 1",
    );
    expect(await count("audit_record")).toBe(auditBefore + mutating);
    expect(audit).toContainEqual({
      status_code: INVALID_ARGUMENT,
      error_reason: "REQUEST_FIELD_INVALID",
      n: String(mutating),
    });
  });

  it("malformed bytes are INVALID_ARGUMENT (REQUEST_MALFORMED), not INTERNAL", async () => {
    const path = "/certmint.v1.CertificateAuthorityService/CreateRootCertificateAuthority";
    for (const bytes of [
      Buffer.from([0x0a, 0x05, 0x61]), // slug: 5 bytes announced, 1 sent
      Buffer.from([0x0b]), // a group (wire type 3): not proto3
      Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    ]) {
      const { error } = await raw.call(path, bytes);
      expect({ code: error?.code, reason: error?.reason }).toEqual({
        code: INVALID_ARGUMENT,
        reason: "REQUEST_MALFORMED",
      });
    }
  });
});

// ---- The attacks of the issue -----------------------------------------------------------------

describe("the attacks of issue 10 item 7", () => {
  /** Asserts a refusal that names `field` and a message the client got whole and short. */
  function expectBounded(err: DecodedError, field: string, reason: string) {
    expect({ code: err.code, reason: err.reason }, err.message).toEqual({
      code: INVALID_ARGUMENT,
      reason: "REQUEST_FIELD_INVALID",
    });
    expect(err.violations).toContainEqual(expect.objectContaining({ field, reason }));
    expect(err.message.length).toBeLessThanOrEqual(512);
  }

  it("390,000 organizations (3.4 MB): INVALID_ARGUMENT, not INTERNAL; no request row", async () => {
    const requests = await count("certificate_request");
    const organization = Array.from({ length: 390_000 }, (_, i) => `o${i}`);
    const req = IssueCertificateRequest.fromPartial({
      certificateProfile: "web",
      source: {
        $case: "attributes",
        value: {
          subject: { commonName: "a.example.com", organization },
          subjectAlternativeNames: { dnsNames: ["a.example.com"] },
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
        },
      },
    });
    expect(IssueCertificateRequest.encode(req).finish().length).toBeGreaterThan(3_000_000);
    const err = await expectRpcError(call(h.certificates, "issueCertificate", req));
    expectBounded(err, "attributes.subject.organization", "FIELD_TOO_MANY_VALUES");
    expect(err.violations).toHaveLength(1);
    expect(err.violations[0]!.description).toBe("at most 10 values (got 390000)");
    expect(await count("certificate_request")).toBe(requests);
    // The same subject as a CA's: refused the same way.
    const caErr = await expectRpcError(
      call(h.authorities, "createRootCertificateAuthority", {
        slug: "many-orgs",
        description: "",
        subject: { ...emptySubject(), commonName: "Many", organization },
        keyAlgorithm: 0,
        signatureAlgorithm: 0,
      }),
    );
    expectBounded(caErr, "subject.organization", "FIELD_TOO_MANY_VALUES");
  });

  it("a 0.9 MB organization is refused before it can be stored in a FAILED request", async () => {
    const requests = await count("certificate_request");
    const err = await expectRpcError(
      call(
        h.certificates,
        "issueCertificate",
        IssueCertificateRequest.fromPartial({
          certificateProfile: "web",
          source: {
            $case: "attributes",
            value: {
              subject: { commonName: "a.example.com", organization: ["o".repeat(900_000)] },
              subjectAlternativeNames: { dnsNames: ["a.example.com"] },
            },
          },
        }),
      ),
    );
    expectBounded(err, "attributes.subject.organization[0]", "FIELD_TOO_LONG");
    expect(await count("certificate_request")).toBe(requests);
  });

  it("3 MB of description or reject reason: refused, naming the field", async () => {
    const big = "d".repeat(3_000_000);
    const ca = await expectRpcError(
      call(h.authorities, "createRootCertificateAuthority", {
        slug: "big-description",
        description: big,
        subject: { ...emptySubject(), commonName: "Big" },
        keyAlgorithm: 0,
        signatureAlgorithm: 0,
      }),
    );
    expectBounded(ca, "description", "FIELD_TOO_LONG");
    const token = await expectRpcError(
      call(h.accessTokens, "createAccessToken", {
        accessToken: {
          id: "",
          slug: "big",
          description: big,
          role: 1,
          certificateProfiles: [],
          clientCertificateIdentity: "",
          state: 0,
          creator: "",
        },
      }),
    );
    expectBounded(token, "access_token.description", "FIELD_TOO_LONG");
    const reject = await expectRpcError(
      call(h.certificates, "rejectCertificateRequest", {
        certificateRequestId: "00000000-0000-4000-8000-000000000000",
        reason: big,
      }),
    );
    expectBounded(reject, "reason", "FIELD_TOO_LONG");
    expect(await snapshot()).toEqual(before);
  });

  it("a 100 KB reference is refused with a short message the client receives", async () => {
    const err = await expectRpcError(
      call(h.authorities, "getCertificateAuthority", { certificateAuthority: "r".repeat(100_000) }),
    );
    expectBounded(err, "certificate_authority", "FIELD_TOO_LONG");
    expect(err.message).not.toContain("r".repeat(100));
    // NOT_FOUND quotes what it looked for (a slug is at most 63 characters; a longer reference
    // names nothing and is INVALID_ARGUMENT before any read, since stop 50).
    const ref = `no-such-ca-${"z".repeat(52)}`;
    const missing = await expectRpcError(
      call(h.authorities, "getCertificateAuthority", { certificateAuthority: ref }),
    );
    expect(missing.code).toBe(5);
    expect(missing.message).toBe(`no certificate authority "${ref}"`);
  });

  describe("a refusal with a hundred violations", () => {
    /** 100 DNS names the policy denies (*.evil.example.com: one label below evil.example.com). */
    const names = Array.from(
      { length: 100 },
      (_, i) => `${`n${i}-`.padEnd(63, "x")}.evil.example.com`,
    );
    const request = IssueCertificateRequest.fromPartial({
      certificateProfile: "web",
      source: {
        $case: "attributes",
        value: {
          // No common name: one to copy would make 101 names, refused TOO_MANY_SANS before the
          // policy is read (since stop 59).
          subject: {},
          subjectAlternativeNames: { dnsNames: names },
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
        },
      },
    });

    it("reaches a grpc-js client, trimmed to what trailers can carry, the rest counted", async () => {
      const err = await expectRpcError(call(h.certificates, "issueCertificate", request));
      expect(err.code).toBe(INVALID_ARGUMENT);
      expect(err.violations.length).toBeGreaterThan(0);
      expect(err.violations.length).toBeLessThan(100);
      const trailer = await rawStatus(request);
      const info = trailer.details.find((d) => d.typeUrl.endsWith("ErrorInfo"))!;
      const omitted = Number(ErrorInfo.decode(info.value).metadata.violations_omitted);
      expect(omitted + err.violations.length).toBe(100);
      expect(Status.encode(trailer).finish().length).toBeLessThan(6000);
    });

    it("reaches a Python client (gRPC C-core refuses trailers over 8 KiB)", async () => {
      const python = join(ROOT, ".tools", "venv", "bin", "python");
      if (!existsSync(python)) throw new Error("no .tools/venv: run `make python-tools`");
      const out = await pythonCall(
        python,
        "/certmint.v1.CertificateService/IssueCertificate",
        Buffer.from(IssueCertificateRequest.encode(request).finish()),
      );
      expect(out).toMatchObject({ code: "INVALID_ARGUMENT", reason: "POLICY_VIOLATION" });
      expect(out.violations).toBeGreaterThan(0);
    });
  });
});

function emptySubject() {
  return {
    country: "",
    state: "",
    locality: "",
    organization: [] as string[],
    organizationalUnit: [] as string[],
    commonName: "",
    streetAddress: "",
    postalCode: "",
    serialNumber: "",
    emailAddress: "",
  };
}

/** The google.rpc.Status a refusal carried in its grpc-status-details-bin trailer. */
async function rawStatus(request: IssueCertificateRequest): Promise<Status> {
  const { serviceError } = await raw.call(
    "/certmint.v1.CertificateService/IssueCertificate",
    IssueCertificateRequest.encode(request).finish(),
  );
  const bin = serviceError?.metadata?.get("grpc-status-details-bin")[0];
  if (!bin) throw new Error("no status details");
  const status = Status.decode(bin as Buffer);
  const bad = status.details.find((d) => d.typeUrl.endsWith("BadRequest"));
  if (bad) BadRequest.decode(bad.value); // decodes whole
  return status;
}

/** One call from Python's grpcio (C-core), with the admin token; what it saw, as JSON. */
function pythonCall(
  python: string,
  path: string,
  body: Buffer,
): Promise<{ code: string; reason?: string; violations: number }> {
  const script = `
import json, os, sys, grpc
from google.rpc import status_pb2, error_details_pb2
channel = grpc.insecure_channel(os.environ["ADDRESS"])
rpc = channel.unary_unary(os.environ["RPC"], request_serializer=lambda b: b, response_deserializer=lambda b: b)
try:
    rpc(sys.stdin.buffer.read(), timeout=60, metadata=[("authorization", "Bearer " + os.environ["CERTMINT_TOKEN"])])
    print(json.dumps({"code": "OK", "violations": 0}))
except grpc.RpcError as e:
    out = {"code": e.code().name, "violations": 0}
    for key, value in e.trailing_metadata() or []:
        if key == "grpc-status-details-bin":
            st = status_pb2.Status.FromString(value)
            for d in st.details:
                if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo(); d.Unpack(info); out["reason"] = info.reason
                if d.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    br = error_details_pb2.BadRequest(); d.Unpack(br); out["violations"] = len(br.field_violations)
    print(json.dumps(out))
`;
  return new Promise((resolve, reject) => {
    const child = execFile(
      python,
      ["-c", script],
      {
        env: { ...process.env, ADDRESS: h.address, RPC: path, CERTMINT_TOKEN: h.adminToken },
        timeout: 120_000,
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`python: ${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout));
      },
    );
    child.stdin?.end(body);
  });
}
