import {
  ExtendedKeyUsage as PbExtendedKeyUsage,
  KeyAlgorithm as PbKeyAlgorithm,
  KeyUsage as PbKeyUsage,
  RevocationReason as PbRevocationReason,
  SignatureAlgorithm as PbSignatureAlgorithm,
} from "../../../gen/ts/certmint/v1/common";
import { invalidField } from "../../errors";
import {
  EXTENDED_KEY_USAGES,
  type ExtendedKeyUsage,
  KEY_ALGORITHMS,
  KEY_USAGES,
  type KeyAlgorithm,
  type KeyUsage,
  REVOCATION_REASONS,
  type RevocationReason,
  SIGNATURE_ALGORITHMS,
  type SignatureAlgorithm,
} from "../../model/pki";

/**
 * Proto enums <-> domain string unions. Proto value names are the domain names with a prefix
 * (KEY_ALGORITHM_EC_P256 <-> "EC_P256"), so one table per enum is built from the names.
 */
export interface EnumCodec<D extends string> {
  /** UNSPECIFIED -> undefined; an unknown number -> INVALID_ARGUMENT on `field`. */
  fromProto(value: number, field: string): D | undefined;
  toProto(value: D | string | null | undefined): number;
}

export function enumCodec<D extends string>(
  pbEnum: Record<string, string | number>,
  prefix: string,
  domain: readonly D[],
): EnumCodec<D> {
  const toDomain = new Map<number, D>();
  const toPb = new Map<string, number>();
  for (const name of domain) {
    const value = pbEnum[`${prefix}${name}`];
    if (typeof value !== "number") throw new Error(`proto enum lacks ${prefix}${name}`);
    toDomain.set(value, name);
    toPb.set(name, value);
  }
  return {
    fromProto(value, field) {
      if (value === 0) return undefined;
      const d = toDomain.get(value);
      if (d === undefined) {
        throw invalidField(
          "ENUM_VALUE_UNKNOWN",
          `${field} has an unknown value ${value}`,
          field,
          `unknown enum value ${value}`,
        );
      }
      return d;
    },
    toProto: (value) => (value ? (toPb.get(value) ?? 0) : 0),
  };
}

export const keyAlgorithmCodec = enumCodec(
  PbKeyAlgorithm,
  "KEY_ALGORITHM_",
  KEY_ALGORITHMS as readonly KeyAlgorithm[],
);
export const signatureAlgorithmCodec = enumCodec(
  PbSignatureAlgorithm,
  "SIGNATURE_ALGORITHM_",
  SIGNATURE_ALGORITHMS as readonly SignatureAlgorithm[],
);
export const keyUsageCodec = enumCodec(PbKeyUsage, "KEY_USAGE_", KEY_USAGES as readonly KeyUsage[]);
export const extendedKeyUsageCodec = enumCodec(
  PbExtendedKeyUsage,
  "EXTENDED_KEY_USAGE_",
  EXTENDED_KEY_USAGES as readonly ExtendedKeyUsage[],
);
/** RevocationReason numbers are RFC 5280's, and 0 (UNSPECIFIED) is a real reason here. */
export const revocationReasonCodec = {
  fromProto(value: number, field: string): RevocationReason {
    const entry = Object.entries(REVOCATION_REASONS).find(([, code]) => code === value);
    if (!entry || PbRevocationReason[value] === undefined) {
      throw invalidField(
        "ENUM_VALUE_UNKNOWN",
        `${field} has an unknown value ${value}`,
        field,
        `unknown enum value ${value}`,
      );
    }
    return entry[0] as RevocationReason;
  },
  toProto: (value: RevocationReason | string | null | undefined): number =>
    value ? (REVOCATION_REASONS[value as RevocationReason] ?? 0) : 0,
};

/** Repeated enum fields: every value known, none UNSPECIFIED, duplicates dropped. */
export function listFromProto<D extends string>(
  codec: EnumCodec<D>,
  values: number[],
  field: string,
): D[] {
  const out: D[] = [];
  values.forEach((v, i) => {
    const d = codec.fromProto(v, `${field}[${i}]`);
    if (d === undefined) {
      throw invalidField(
        "ENUM_VALUE_UNSPECIFIED",
        `${field}[${i}] is UNSPECIFIED`,
        `${field}[${i}]`,
        "UNSPECIFIED is not a value",
      );
    }
    if (!out.includes(d)) out.push(d);
  });
  return out;
}
