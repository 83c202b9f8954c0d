/**
 * The certmint.v1 contract as data, read from the `buf build` image (gen/descriptor/
 * certmint.binpb) with @bufbuild/protobuf: every RPC, the fields its request can carry, and
 * the proto comment of each field. Tests walk it so that they cover every field there is,
 * including the ones added after they were written.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  create,
  createFileRegistry,
  type DescField,
  type DescMessage,
  type DescMethod,
  fromBinary,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

export const contract = createFileRegistry(
  fromBinary(
    FileDescriptorSetSchema,
    readFileSync(join(__dirname, "..", "..", "gen", "descriptor", "certmint.binpb")),
  ),
);

export const CERTMINT_SERVICES = [
  "certmint.v1.CertificateService",
  "certmint.v1.CertificateAuthorityService",
  "certmint.v1.CertificatePolicyService",
  "certmint.v1.CertificateProfileService",
  "certmint.v1.AccessTokenService",
  "certmint.v1.AuditService",
];

/** Every RPC of the contract. */
export function allMethods(): DescMethod[] {
  return CERTMINT_SERVICES.flatMap((name) => {
    const service = contract.getService(name);
    if (!service) throw new Error(`${name} is not in the image`);
    return service.methods;
  });
}

export const rpcPath = (m: DescMethod) => `/${m.parent.typeName}/${m.name}`;

/** A string or repeated field a request can carry, with the fields leading to it. */
export interface RequestLeaf {
  /** The fields from the request message down to the leaf (the leaf last). */
  path: DescField[];
  field: DescField;
  /** "certmint.v1.Subject.organization": the key of src/api/request-limits.ts. */
  key: string;
  kind: "string" | "strings" | "enums";
}

const scalarOf = (f: DescField) =>
  f.fieldKind === "scalar" || (f.fieldKind === "list" && f.listKind === "scalar")
    ? f.scalar
    : undefined;

/** Every string and repeated field reachable from `message` (each message type once per path). */
export function requestLeaves(
  message: DescMessage,
  prefix: DescField[] = [],
  onPath: ReadonlySet<string> = new Set([message.typeName]),
): RequestLeaf[] {
  const out: RequestLeaf[] = [];
  for (const field of message.fields) {
    const path = [...prefix, field];
    const key = `${message.typeName}.${field.name}`;
    if (field.fieldKind === "message") {
      const sub = field.message;
      if (!onPath.has(sub.typeName))
        out.push(...requestLeaves(sub, path, new Set([...onPath, sub.typeName])));
    } else if (field.fieldKind === "list") {
      if (field.listKind === "message") throw new Error(`${key}: repeated messages: extend me`);
      if (field.listKind === "scalar" && field.scalar !== ScalarType.STRING)
        throw new Error(`${key}: repeated ${ScalarType[field.scalar]}: extend me`);
      out.push({ path, field, key, kind: field.listKind === "enum" ? "enums" : "strings" });
    } else if (field.fieldKind === "map") {
      throw new Error(`${key}: maps: extend me`);
    } else if (scalarOf(field) === ScalarType.BYTES) {
      throw new Error(`${key}: bytes fields: extend me (a length in bytes, no UTF-8 cases)`);
    } else if (scalarOf(field) === ScalarType.STRING) {
      out.push({ path, field, key, kind: "string" });
    }
  }
  return out;
}

/** The proto field path of a leaf as violations name it, e.g. "attributes.subject.organization". */
export const fieldPath = (leaf: RequestLeaf) => leaf.path.map((f) => f.name).join(".");

/** The leading comment of a field, as written in proto/ (source info of the image). */
export function commentOf(field: DescField): string {
  const message = field.parent;
  const path = [...messagePath(message), 2, message.proto.field.indexOf(field.proto)];
  const location = message.file.proto.sourceCodeInfo?.location.find(
    (l) => l.path.length === path.length && l.path.every((p, i) => p === path[i]),
  );
  return location?.leadingComments ?? "";
}

function messagePath(m: DescMessage): number[] {
  if (m.parent) return [...messagePath(m.parent), 3, m.parent.proto.nestedType.indexOf(m.proto)];
  return [4, m.file.proto.messageType.indexOf(m.proto)];
}

/**
 * A request message with one leaf set to `value` (a string or a list), encoded: nested
 * messages and oneofs along the path are created as needed. Everything else is left unset.
 */
export function encodeWith(method: DescMethod, leaf: RequestLeaf, value: unknown): Uint8Array {
  return toBinaryOf(method.input, buildInit(leaf.path, value));
}

function buildInit(path: DescField[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  if (!head) throw new Error("empty path");
  const inner = rest.length === 0 ? value : buildInit(rest, value);
  return head.oneof
    ? { [head.oneof.localName]: { case: head.localName, value: inner } }
    : { [head.localName]: inner };
}

function toBinaryOf(desc: DescMessage, init: Record<string, unknown>): Uint8Array {
  return toBinary(desc, create(desc, init as never));
}
