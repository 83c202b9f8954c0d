/**
 * The first look at every request: its wire bytes are walked against the request message's
 * descriptor (the `buf build` image, gen/descriptor/certmint.binpb) before the message is
 * decoded, and every string and repeated field is held to its limit in request-limits.ts:
 *
 *  - a repeated field may hold at most maxItems values (counted across the whole message, so
 *    a sub-message sent many times, which protobuf merges, cannot multiply a list);
 *  - a string is at most maxChars characters, valid UTF-8 (proto3 requires it; JavaScript
 *    decoders silently replace bad bytes with U+FFFD, so only the bytes can tell), and free of
 *    NUL, which PostgreSQL cannot store in text or jsonb;
 *  - free text (a description, an approval's comment, a rejection's reason: freeText in
 *    request-limits.ts) is one line of printable characters (freeTextProblem);
 *  - a google.protobuf.Timestamp's nanos is in [0, 999999999], as timestamp.proto defines it
 *    (ts-proto folds nanos into the Date it decodes, so past this point -1 or 2e9 no longer
 *    shows; until 2026-12-05 they were taken as a second earlier or two later);
 *  - an enum field holds a value of its enum, and a repeated one no UNSPECIFIED (0), except the
 *    fields in ENUMS_LEFT_TO_HANDLERS (ENUM_VALUE_UNKNOWN, ENUM_VALUE_UNSPECIFIED);
 *  - the bytes must be well-formed protobuf.
 *
 * A request that breaks any of this is never decoded: the deserializer hands the handler a
 * refusal (INVALID_ARGUMENT with a BadRequest violation per field, index included), which
 * `unary` throws once the caller is authenticated and authorized. The work per request is one
 * pass over its bytes without building strings, so 390,000 values cost a scan, not a decode.
 */
import { isUtf8 } from "node:buffer";
import { readFileSync } from "node:fs";
import {
  createFileRegistry,
  type DescField,
  type DescMessage,
  type FileRegistry,
  fromBinary,
  ScalarType,
} from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import {
  type CertmintError,
  type FieldViolation,
  fieldViolation,
  invalidArgument,
} from "../errors";
import { descriptorImagePath } from "../server/paths";
import { kindOf as characterKind, codePoint } from "./convert/request-id";
import { type FieldLimit, fieldLimit } from "./request-limits";

/** Field violations reported at most; the walk goes on only to count repeated fields. */
const MAX_VIOLATIONS = 20;
/** google.protobuf.Timestamp.nanos at most (timestamp.proto). */
const MAX_NANOS = 999_999_999;
/** Message nesting the contract never comes near; deeper input is malformed. */
const MAX_DEPTH = 32;

interface FieldCheck {
  readonly name: string;
  /** The field's name in a decoded message (ts-proto's and protobuf-es' lowerCamelCase). */
  readonly localName: string;
  readonly kind: "string" | "bytes" | "enum" | "message" | "other";
  readonly repeated: boolean;
  readonly limit: FieldLimit;
  readonly message?: MessageCheck;
  /** google.protobuf.Timestamp.nanos: held to [0, 999999999]. */
  readonly timestampNanos?: boolean;
  /** An enum field held to its enum's numbers (not one of ENUMS_LEFT_TO_HANDLERS). */
  readonly enumValues?: ReadonlySet<number>;
}
type MessageCheck = Map<number, FieldCheck>;

/** Checks the bytes of one request message; undefined when they may be decoded. */
export type RequestCheck = (bytes: Uint8Array) => CertmintError | undefined;

let registry: FileRegistry | undefined;

/** The contract's descriptors, read once from the image reflection serves too. */
export function contractRegistry(): FileRegistry {
  registry ??= createFileRegistry(
    fromBinary(FileDescriptorSetSchema, readFileSync(descriptorImagePath())),
  );
  return registry;
}

/** The check for each RPC of `serviceName`, by method name. */
export function requestChecksOf(serviceName: string): Map<string, RequestCheck> {
  const service = contractRegistry().getService(serviceName);
  if (!service) throw new Error(`${serviceName} is not in the descriptor image`);
  const compiled = new Map<string, MessageCheck>();
  const checks = new Map<string, RequestCheck>();
  for (const method of service.methods) {
    const check = compileMessage(method.input, compiled);
    const typeName = method.input.typeName;
    checks.set(method.name, (bytes) => {
      const refusal = refusalOf(scanRequest(bytes, check), typeName);
      if (refusal) namedIn.set(refusal, namingFields(bytes, check));
      return refusal;
    });
  }
  return checks;
}

function compileMessage(desc: DescMessage, compiled: Map<string, MessageCheck>): MessageCheck {
  const known = compiled.get(desc.typeName);
  if (known) return known;
  const check: MessageCheck = new Map();
  compiled.set(desc.typeName, check); // before recursing: recursive messages terminate
  for (const field of desc.fields) {
    const message =
      field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message")
        ? compileMessage(field.message, compiled)
        : undefined;
    check.set(field.number, {
      name: field.name,
      localName: field.localName,
      kind: kindOf(field),
      repeated: field.fieldKind === "list" || field.fieldKind === "map",
      // A field the table does not name yet is held to the default (request-limits.ts).
      limit: fieldLimit(`${desc.typeName}.${field.name}`),
      message,
      timestampNanos: desc.typeName === "google.protobuf.Timestamp" && field.number === 2,
      enumValues: checkedEnumValues(desc, field),
    });
  }
  return check;
}

/**
 * The enum fields of requests that the check leaves alone: the output-only fields of resources
 * a request carries (ignored, AIP-203), a CA's status (UpdateCertificateAuthority reads it only
 * when update_mask names it, AIP-134), and the policy's rules, which compilePolicy checks
 * with every other problem of the policy, at their index (convert/policy.ts). Every other enum
 * field is checked here, so that a request with unknown numbers in several fields hears of all
 * of them at once (README, Errors: "BadRequest field violations for every rule a request
 * breaks"); until stop 47 of 2026-12-06 each handler's enum codec refused the first it met, and
 * `key_usages: [99], extended_key_usages: [99]` named key_usages[0] alone (an outside probe, R).
 * The codecs (convert/enums.ts) still check what they convert: they name the same fields.
 */
export const ENUMS_LEFT_TO_HANDLERS: ReadonlySet<string> = new Set([
  "certmint.v1.AccessToken.state",
  "certmint.v1.CertificateAuthority.type",
  "certmint.v1.CertificateAuthority.status",
  "certmint.v1.CertificateAuthority.key_algorithm",
  "certmint.v1.CertificateAuthority.signature_algorithm",
  "certmint.v1.CertificateAuthority.revocation_reason",
  "certmint.v1.KeyUsageRule.allowed",
  "certmint.v1.KeyUsageRule.required",
  "certmint.v1.KeyUsageRule.denied",
  "certmint.v1.ExtendedKeyUsageRule.allowed",
  "certmint.v1.ExtendedKeyUsageRule.required",
  "certmint.v1.ExtendedKeyUsageRule.denied",
  "certmint.v1.KeyAlgorithmRule.allowed",
  "certmint.v1.SignatureAlgorithmRule.allowed",
  "certmint.v1.BasicConstraintsRule.ca",
  "certmint.v1.CertificatePolicy.subject_names_in_sans",
]);

/** The numbers an enum field may hold, or undefined when the check leaves it alone. */
function checkedEnumValues(desc: DescMessage, field: DescField): ReadonlySet<number> | undefined {
  const e =
    field.fieldKind === "enum"
      ? field.enum
      : field.fieldKind === "list" && field.listKind === "enum"
        ? field.enum
        : undefined;
  if (!e || ENUMS_LEFT_TO_HANDLERS.has(`${desc.typeName}.${field.name}`)) return undefined;
  return new Set(e.values.map((v) => v.number));
}

function kindOf(field: DescField): FieldCheck["kind"] {
  const scalar = (type: ScalarType) =>
    type === ScalarType.STRING ? "string" : type === ScalarType.BYTES ? "bytes" : "other";
  switch (field.fieldKind) {
    case "scalar":
      return scalar(field.scalar);
    case "enum":
      return "enum";
    case "message":
      return "message";
    case "list":
      if (field.listKind === "message") return "message";
      if (field.listKind === "enum") return "enum";
      return scalar(field.scalar);
    default:
      return "other"; // maps: none in the contract (the contract test names them if one comes)
  }
}

/** What the walk over one request's bytes found: every violation (up to the cap). */
interface ScanResult {
  violations: FieldViolation[];
  /** The message's sentence for each violation, in the same order. */
  sentences: string[];
  /** Set when the bytes are not a protobuf message. */
  malformed?: string;
}

function scanRequest(bytes: Uint8Array, check: MessageCheck): ScanResult {
  const scan = new Scan();
  try {
    scan.message(bytes, check, "", 0);
  } catch (err) {
    return {
      violations: [],
      sentences: [],
      malformed: err instanceof Error ? err.message : "undecodable",
    };
  }
  const counted = scan.countViolations();
  return {
    violations: [...counted, ...scan.violations],
    sentences: [...counted.map((v) => `${v.field} ${v.description}`), ...scan.sentences],
  };
}

class Scan {
  readonly violations: FieldViolation[] = [];
  readonly sentences: string[] = [];
  /** Values seen per repeated field path (without indices). */
  private readonly counts = new Map<string, { n: number; limit: FieldLimit }>();

  message(bytes: Uint8Array, check: MessageCheck, path: string, depth: number): void {
    if (depth > MAX_DEPTH) throw new Error("nested too deeply");
    const wire = new Wire(bytes);
    const paths = new Map<number, string>();
    // A singular enum's last value, by path: a decoder keeps the last one sent (proto3).
    const lastEnums = new Map<string, { field: FieldCheck; value: number }>();
    while (!wire.done()) {
      const tag = wire.varint();
      const number = tag >>> 3;
      const wireType = tag & 7;
      if (number === 0) throw new Error("field number 0");
      const field = check.get(number);
      if (!field || !fits(field, wireType)) {
        wire.skip(wireType); // unknown fields and foreign wire types: decoders skip them too
        continue;
      }
      let at = paths.get(number);
      if (at === undefined) {
        at = path ? `${path}.${field.name}` : field.name;
        paths.set(number, at);
      }
      if (field.timestampNanos && wireType === WireType.Varint) {
        const nanos = wire.varint64();
        if (nanos > MAX_NANOS) {
          this.flag(
            at,
            "TIMESTAMP_INVALID",
            "nanos must be from 0 to 999999999 (google.protobuf.Timestamp)",
          );
        }
        continue;
      }
      if (field.enumValues) {
        if (!field.repeated) {
          lastEnums.set(at, { field, value: wire.int32() });
        } else if (wireType === WireType.LengthDelimited) {
          const [start, end] = wire.lengthDelimited();
          const values = bytes.subarray(start, end);
          let index = this.count(at, field.limit, packedCount(values));
          const packed = new Wire(values);
          const max = field.limit.maxItems ?? Infinity;
          // Values past the limit are only counted: the count violation covers them.
          while (!packed.done() && index < max)
            this.enumValue(field, `${at}[${index++}]`, packed.int32());
        } else {
          const index = this.count(at, field.limit, 1);
          const value = wire.int32();
          if (index < (field.limit.maxItems ?? Infinity))
            this.enumValue(field, `${at}[${index}]`, value);
        }
        continue;
      }
      if (field.kind === "enum" || field.kind === "other") {
        if (field.repeated && wireType === WireType.LengthDelimited) {
          this.count(at, field.limit, wire.packedVarints());
        } else {
          if (field.repeated) this.count(at, field.limit, 1);
          wire.skip(wireType);
        }
        continue;
      }
      // Length-delimited: a string or a sub-message.
      const [start, end] = wire.lengthDelimited();
      const index = field.repeated ? this.count(at, field.limit, 1) : undefined;
      // Values past the limit are only counted: the count violation covers them.
      if (index !== undefined && index >= (field.limit.maxItems ?? Infinity)) continue;
      const payload = bytes.subarray(start, end);
      const where = index === undefined ? at : `${at}[${index}]`;
      const max = field.limit.maxChars ?? Infinity;
      if (field.kind === "message") this.message(payload, field.message!, where, depth + 1);
      else if (field.kind === "string") this.string(payload, where, field.limit);
      else if (payload.length > max)
        this.flag(where, "FIELD_TOO_LONG", `at most ${max} bytes (got ${payload.length})`);
    }
    for (const [at, { field, value }] of lastEnums) this.enumValue(field, at, value);
  }

  /**
   * An enum value against its enum: a number the enum lacks is unknown, and UNSPECIFIED (0) is
   * no value of a list (it is the default of a singular field, which says "not set"). The
   * words are the codecs' (convert/enums.ts), which said them one field at a time.
   */
  private enumValue(field: FieldCheck, at: string, value: number): void {
    if (!field.enumValues!.has(value)) {
      this.flag(
        at,
        "ENUM_VALUE_UNKNOWN",
        `unknown enum value ${value}`,
        `${at} has an unknown value ${value}`,
      );
    } else if (value === 0 && field.repeated) {
      this.flag(at, "ENUM_VALUE_UNSPECIFIED", "UNSPECIFIED is not a value", `${at} is UNSPECIFIED`);
    }
  }

  /** Adds n values to a repeated field; returns the index of the first of them. */
  private count(at: string, limit: FieldLimit, n: number): number {
    const entry = this.counts.get(at);
    if (entry === undefined) {
      this.counts.set(at, { n, limit });
      return 0;
    }
    entry.n += n;
    return entry.n - n;
  }

  private string(bytes: Uint8Array, field: string, limit: FieldLimit): void {
    const maxChars = limit.maxChars ?? Infinity;
    if (bytes.length > maxChars) {
      // A character is 1-4 UTF-8 bytes: count them only when the byte length leaves doubt.
      const chars = bytes.length > 4 * maxChars ? undefined : charCount(bytes);
      if (chars === undefined || chars > maxChars) {
        const got = chars === undefined ? `${bytes.length} bytes` : `${chars} characters`;
        this.flag(field, "FIELD_TOO_LONG", `at most ${maxChars} characters (got ${got})`);
        return;
      }
    }
    if (!isUtf8(bytes)) {
      this.flag(field, "FIELD_NOT_UTF8", "is not valid UTF-8 (proto3 strings must be UTF-8)");
    } else if (bytes.includes(0)) {
      this.flag(field, "FIELD_CONTAINS_NUL", "must not contain NUL (U+0000) characters");
    } else if (limit.freeText) {
      // At most 1024 characters here (TEXT): decoding them costs nothing next to the call.
      const problem = freeTextProblem(Buffer.from(bytes).toString("utf8"));
      if (problem) {
        this.flag(
          field,
          "FIELD_NOT_PRINTABLE",
          `must be one line of printable characters (no control, format, bidi or zero-width character, line or paragraph separator, or noncharacter), but ${problem}`,
        );
      }
    }
  }

  private flag(field: string, reason: string, description: string, sentence?: string): void {
    if (this.violations.length < MAX_VIOLATIONS) {
      this.violations.push(fieldViolation(field, reason, description));
      this.sentences.push(sentence ?? `${field} ${description}`);
    }
  }

  countViolations(): FieldViolation[] {
    const out: FieldViolation[] = [];
    for (const [field, { n, limit }] of this.counts) {
      const max = limit.maxItems ?? Infinity;
      if (n > max) {
        out.push(
          fieldViolation(
            field,
            "FIELD_TOO_MANY_VALUES",
            `at most ${max} ${limit.items ?? "values"} (got ${n})`,
          ),
        );
      }
    }
    return out;
  }
}

/** Whether a field of this kind may arrive with this wire type (decoders skip the others). */
function fits(field: FieldCheck, wireType: WireType): boolean {
  switch (field.kind) {
    case "string":
    case "bytes":
    case "message":
      return wireType === WireType.LengthDelimited;
    case "enum":
      return (
        wireType === WireType.Varint || (field.repeated && wireType === WireType.LengthDelimited)
      );
    default:
      return true;
  }
}

/**
 * A cursor over protobuf wire bytes that allocates nothing per field (this runs on every
 * request before it is decoded). Groups (wire types 3 and 4) do not exist in proto3 and are
 * refused as malformed, like every truncated or overlong encoding.
 */
class Wire {
  private pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  done(): boolean {
    return this.pos >= this.bytes.length;
  }

  /**
   * An int32 or enum varint as a decoder reads it: its low 32 bits, signed (a negative number
   * is ten bytes on the wire).
   */
  int32(): number {
    let value = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.bytes.length) throw new Error("premature EOF");
      const b = this.bytes[this.pos++]!;
      if (i < 5) value |= (b & 0x7f) << (7 * i); // bits past 32 fall off, as in a decoder
      if ((b & 0x80) === 0) return value | 0;
    }
    throw new Error("invalid varint");
  }

  /** A varint of up to 32 bits (tags and lengths). */
  varint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.bytes.length) throw new Error("premature EOF");
      const b = this.bytes[this.pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (value > 0xffffffff) throw new Error("varint overflows 32 bits");
        return value;
      }
    }
    throw new Error("varint overflows 32 bits");
  }

  /**
   * A varint of up to 64 bits, as a number (exact to 2^53, which is all a range check needs);
   * a negative int32 is ten bytes on the wire and reads as about 1.8e19.
   */
  varint64(): number {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.bytes.length) throw new Error("premature EOF");
      const b = this.bytes[this.pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
    throw new Error("invalid varint");
  }

  /** [start, end) of a length-delimited value. */
  lengthDelimited(): [number, number] {
    const length = this.varint();
    const start = this.pos;
    this.pos += length;
    if (this.pos > this.bytes.length) throw new Error("premature EOF");
    return [start, this.pos];
  }

  /** The number of varints in a packed repeated field. */
  packedVarints(): number {
    const [start, end] = this.lengthDelimited();
    return packedCount(this.bytes.subarray(start, end));
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WireType.Varint:
        for (let i = 0; ; i++) {
          if (i === 10 || this.pos >= this.bytes.length) throw new Error("invalid varint");
          if ((this.bytes[this.pos++]! & 0x80) === 0) return;
        }
      case WireType.Bit64:
        this.pos += 8;
        break;
      case WireType.LengthDelimited:
        this.lengthDelimited();
        return;
      case WireType.Bit32:
        this.pos += 4;
        break;
      default:
        throw new Error(`wire type ${wireType} is not used in proto3`);
    }
    if (this.pos > this.bytes.length) throw new Error("premature EOF");
  }
}

/** The number of varints in the payload of a packed repeated field. */
function packedCount(values: Uint8Array): number {
  let n = 0;
  for (const b of values) if ((b & 0x80) === 0) n++;
  if (values.length > 0 && (values[values.length - 1]! & 0x80) !== 0)
    throw new Error("truncated varint");
  return n;
}

/**
 * What free text may not hold, refused at input rather than stored: the controls (Cc: C0 with
 * tab, line feed and carriage return, DEL, and C1, where U+009B is CSI on some terminals), the
 * format characters (Cf: the bidi embeddings, overrides and isolates U+202A-U+202E and
 * U+2066-U+2069, which make "abc<U+202E>gnp.exe" read "abcexe.png" (UAX #9), the zero-width
 * U+200B-U+200F and U+FEFF), the line and paragraph separators U+2028/U+2029 (Zl, Zp) and the
 * noncharacters (U+FFFE, U+FFFF, U+FDD0-U+FDEF ...), which are no text to interchange (Unicode
 * 23.7). The set errors.ts quoted() escapes in a message and the CLI in what it prints: each
 * hides, disguises or acts on what is shown beside it, in a listing, an audit trail or an
 * approver's queue. Descriptions are documented as free text, not as several lines, so line
 * feeds and tabs are refused too (a table cell or `field: value` line holds one line). Until
 * stop 46 of 2026-12-06 all of these were stored (an outside probe, P) and only the CLI
 * escaped them.
 */
const NOT_FREE_TEXT = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Noncharacter_Code_Point}]/u;

/** Why a free-text value is refused (its first offending character, 1-based), or undefined. */
export function freeTextProblem(value: string): string | undefined {
  let position = 0;
  for (const c of value) {
    position += 1;
    // ZWNJ and ZWJ (U+200C, U+200D) are part of writing Persian, Indic scripts and emoji
    // sequences, and reorder nothing: allowed in descriptions (the CLI shows them escaped).
    if (c !== "\u200c" && c !== "\u200d" && NOT_FREE_TEXT.test(c))
      return `character ${position} is ${codePoint(c)}, ${characterKind(c)}`;
  }
  return undefined;
}

/** Code points of UTF-8 bytes: every byte that is not a continuation byte (10xxxxxx). */
function charCount(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) if ((b & 0xc0) !== 0x80) n++;
  return n;
}

function refusalOf(result: ScanResult, typeName: string): CertmintError | undefined {
  if (result.malformed !== undefined) {
    return invalidArgument(
      "REQUEST_MALFORMED",
      `the request is not a valid ${typeName} message (${result.malformed})`,
    );
  }
  const { violations, sentences } = result;
  if (violations.length === 0) return undefined;
  const shown = sentences.slice(0, 3);
  const more = violations.length > 3 ? `; and ${violations.length - 3} more` : "";
  // Enum values alone: the first one's reason, as when the codecs refused them one at a time.
  if (violations.every((v) => ENUM_REASONS.has(v.reason!))) {
    return invalidArgument(violations[0]!.reason!, `${shown.join("; ")}${more}`, { violations });
  }
  return invalidArgument(
    "REQUEST_FIELD_INVALID",
    `the request breaks the limits of the contract: ${shown.join("; ")}${more}`,
    { violations },
  );
}

const ENUM_REASONS = new Set(["ENUM_VALUE_UNKNOWN", "ENUM_VALUE_UNSPECIFIED"]);

const REFUSAL = Symbol("certmint.requestRefusal");

/**
 * What the deserializer hands on instead of a message that failed its check: the refusal, and
 * the request's naming fields as a decoded message would hold them (namingFields), so the audit
 * record of the refused call (authorization runs first, then admitRequest) names the object the
 * caller sent, as for any other refusal (refusal-resource.ts namedResource). Until stop 46 of
 * 2026-12-06 the placeholder held the refusal alone, and such records had no resource: an
 * issuer's RevokeCertificate with an over-long or hostile reference was recorded against
 * nothing (fix-helper D's note).
 */
export const refusedRequest = (refusal: CertmintError): object => ({
  ...namedIn.get(refusal),
  [REFUSAL]: refusal,
});

/** The naming fields of each refused request, by its refusal (refusedRequest). */
const namedIn = new WeakMap<CertmintError, Record<string, unknown>>();

/** Characters of a naming field kept: refusal-resource.ts records at most 128. */
const NAMING_MAX_CHARS = 128;

/**
 * The singular string fields of a refused request (`certificate`, `certificate_request_id`
 * ...) and the singular string fields of its singular sub-messages (an AccessToken's `id` and
 * `slug`), under their decoded names, each clipped to NAMING_MAX_CHARS: all refusal-resource.ts
 * reads. One more pass over the bytes, on refusals only, skipping repeated fields and decoding
 * only the last value of each field kept, never the message: 390,000 values cost a scan. NUL,
 * which PostgreSQL cannot store, is U+FFFD, as bytes that are not UTF-8 become; a malformed
 * message gives what was read before the fault.
 */
function namingFields(bytes: Uint8Array, check: MessageCheck): Record<string, unknown> {
  // The last value of each field (a decoder keeps the last too, and merges sub-messages), as
  // bytes: decoded once at the end, however often a field was sent.
  const strings = new Map<string, Uint8Array>();
  const messages = new Map<string, Map<string, Uint8Array>>();
  const wire = new Wire(bytes);
  try {
    while (!wire.done()) {
      const tag = wire.varint();
      const wireType = tag & 7;
      const field = check.get(tag >>> 3);
      const wanted =
        field !== undefined &&
        !field.repeated &&
        wireType === WireType.LengthDelimited &&
        (field.kind === "string" || field.kind === "message");
      if (!wanted) {
        wire.skip(wireType);
        continue;
      }
      const [start, end] = wire.lengthDelimited();
      const payload = bytes.subarray(start, end);
      if (field.kind === "string") {
        strings.set(field.localName, payload);
      } else {
        const inner = messages.get(field.localName) ?? new Map<string, Uint8Array>();
        messages.set(field.localName, inner);
        stringsOf(payload, field.message!, inner);
      }
    }
  } catch {
    // Malformed: what was read before the fault.
  }
  const out: Record<string, unknown> = {};
  for (const [name, value] of strings) out[name] = namingText(value);
  for (const [name, inner] of messages) {
    out[name] = Object.fromEntries([...inner].map(([k, v]) => [k, namingText(v)]));
  }
  return out;
}

/** The singular string fields of a sub-message into `into` (last value wins); throws if malformed. */
function stringsOf(bytes: Uint8Array, check: MessageCheck, into: Map<string, Uint8Array>): void {
  const wire = new Wire(bytes);
  while (!wire.done()) {
    const tag = wire.varint();
    const wireType = tag & 7;
    const field = check.get(tag >>> 3);
    if (field?.kind !== "string" || field.repeated || wireType !== WireType.LengthDelimited) {
      wire.skip(wireType);
      continue;
    }
    const [start, end] = wire.lengthDelimited();
    into.set(field.localName, bytes.subarray(start, end));
  }
}

/** A naming field's text: at most NAMING_MAX_CHARS characters, decoded from as few bytes. */
function namingText(bytes: Uint8Array): string {
  const head = Buffer.from(bytes.subarray(0, 4 * NAMING_MAX_CHARS));
  return Array.from(head.toString("utf8").replaceAll("\u0000", "\ufffd"))
    .slice(0, NAMING_MAX_CHARS)
    .join("");
}

/** The request, or the refusal its check produced, thrown. */
export function admitRequest<T>(request: T): T {
  const refusal = (request as { [REFUSAL]?: CertmintError } | undefined)?.[REFUSAL];
  if (refusal) throw refusal;
  return request;
}
