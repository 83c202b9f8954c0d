import {
  EnrollmentMethod as PbEnrollmentMethod,
  PrivateKeyRetention as PbPrivateKeyRetention,
  type CertificateProfile as PbProfile,
  type ProfileDefaults as PbProfileDefaults,
  ValidityOverflow as PbValidityOverflow,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { type CertmintError, invalidArgument, invalidField, isCertmintError } from "../../errors";
import { etagOf } from "../../issuance/common/etag";
import type { IssuerChoice, ProfileDraft } from "../../issuance/profiles/inputs";
import { storedDefaults, storedRenewal } from "../../issuance/profiles/load";
import type {
  EnrollmentMethod,
  PrivateKeyRetention,
  ProfileDefaults,
  RenewalSettings,
  ValidityOverflow,
} from "../../issuance/profiles/types";
import type { CertificateProfile } from "../../issuance/repositories";
import {
  type EnumCodec,
  enumCodec,
  extendedKeyUsageCodec,
  keyAlgorithmCodec,
  keyUsageCodec,
  signatureAlgorithmCodec,
} from "./enums";
import { subjectFromProto, subjectToProto } from "./subject";
import { durationToSeconds, secondsToDuration } from "./time";

const enrollmentMethodCodec = enumCodec(PbEnrollmentMethod, "ENROLLMENT_METHOD_", [
  "API",
  "ACME",
  "EST",
] as const satisfies readonly EnrollmentMethod[]);
const validityOverflowCodec = enumCodec(PbValidityOverflow, "VALIDITY_OVERFLOW_", [
  "FAIL",
  "TRUNCATE",
] as const satisfies readonly ValidityOverflow[]);
const privateKeyRetentionCodec = enumCodec(PbPrivateKeyRetention, "PRIVATE_KEY_RETENTION_", [
  "RETURN_ONCE",
  "STORE_ENCRYPTED",
] as const satisfies readonly PrivateKeyRetention[]);

const FIELD = "certificate_profile";

/**
 * A repeated enum field, values kept in request order with repeats (the use case drops them and
 * points errors at the request's indices); UNSPECIFIED or unknown values are INVALID_ARGUMENT.
 */
function enumList<D extends string>(codec: EnumCodec<D>, values: number[], field: string): D[] {
  return values.map((v, i) => {
    const d = codec.fromProto(v, `${field}[${i}]`);
    if (d === undefined) {
      throw invalidField(
        "ENUM_VALUE_UNSPECIFIED",
        `${field}[${i}] is UNSPECIFIED`,
        `${field}[${i}]`,
        "UNSPECIFIED is not a value",
      );
    }
    return d;
  });
}

/** The issuer oneof; an empty CA reference or self_signed=false names no issuer. */
function issuerFromProto(issuer: PbProfile["issuer"]): IssuerChoice {
  if (issuer?.$case === "certificateAuthority" && issuer.value.trim() !== "") {
    return { kind: "CA", ref: issuer.value };
  }
  if (issuer?.$case === "selfSigned" && issuer.value) return { kind: "SELF_SIGNED" };
  return { kind: "NONE" };
}

/**
 * Runs one field's conversion, keeping its refusal in `refusals` (undefined then): the fields
 * of a profile are independent, so a request with two bad durations hears of both at once
 * (README, Errors: "BadRequest field violations for every rule a request breaks"; until stop
 * 47 of 2026-12-06 the first refusal alone was thrown).
 */
function collecting<T>(refusals: CertmintError[], convert: () => T): T | undefined {
  try {
    return convert();
  } catch (err) {
    if (!isCertmintError(err) || err.kind !== "invalid_argument") throw err;
    refusals.push(err);
    return undefined;
  }
}

/** The refusals collected, as one: the first one's reason, every violation, every sentence. */
function throwCollected(refusals: CertmintError[]): void {
  if (refusals.length === 0) return;
  if (refusals.length === 1) throw refusals[0];
  throw invalidArgument(refusals[0]!.reason, refusals.map((r) => r.message).join("; "), {
    violations: refusals.flatMap((r) => r.violations),
  });
}

function defaultsFromProto(
  d: PbProfileDefaults | undefined,
  refusals: CertmintError[],
): ProfileDefaults {
  const at = `${FIELD}.defaults`;
  const subject = subjectFromProto(d?.subject);
  return {
    ttlSeconds: collecting(refusals, () => durationToSeconds(d?.ttl, `${at}.ttl`)),
    subject: subject.attributes.length > 0 ? subject : undefined,
    keyAlgorithm: keyAlgorithmCodec.fromProto(d?.keyAlgorithm ?? 0, `${at}.key_algorithm`),
    signatureAlgorithm: signatureAlgorithmCodec.fromProto(
      d?.signatureAlgorithm ?? 0,
      `${at}.signature_algorithm`,
    ),
    keyUsages: enumList(keyUsageCodec, d?.keyUsages ?? [], `${at}.key_usages`),
    extendedKeyUsages: enumList(
      extendedKeyUsageCodec,
      d?.extendedKeyUsages ?? [],
      `${at}.extended_key_usages`,
    ),
  };
}

/** A proto CertificateProfile as the use cases take it (identity and output fields aside). */
export function profileDraftFromProto(pb: PbProfile | undefined): ProfileDraft {
  const refusals: CertmintError[] = [];
  const draft: ProfileDraft = {
    description: pb?.description ?? "",
    policy: pb?.certificatePolicy ?? "",
    issuer: issuerFromProto(pb?.issuer),
    enrollmentMethod: enrollmentMethodCodec.fromProto(
      pb?.enrollmentMethod ?? 0,
      `${FIELD}.enrollment_method`,
    ),
    defaults: defaultsFromProto(pb?.defaults, refusals),
    renewal: {
      autoRenew: pb?.renewal?.autoRenew ?? false,
      renewBeforeDays: pb?.renewal?.renewBeforeDays ?? 0,
      allowSharedRenewal: pb?.renewal?.allowSharedRenewal ?? false,
      renewBeforeSeconds: collecting(refusals, () =>
        durationToSeconds(pb?.renewal?.renewBefore, `${FIELD}.renewal.renew_before`),
      ),
    },
    requireApproval: pb?.requireApproval ?? false,
    allowSelfApproval: pb?.allowSelfApproval ?? false,
    validityOverflow: validityOverflowCodec.fromProto(
      pb?.validityOverflow ?? 0,
      `${FIELD}.validity_overflow`,
    ),
    privateKeyRetention: privateKeyRetentionCodec.fromProto(
      pb?.privateKeyRetention ?? 0,
      `${FIELD}.private_key_retention`,
    ),
    acmeRequireEab: pb?.acme?.requireExternalAccountBinding ?? false,
  };
  throwCollected(refusals);
  return draft;
}

/** A stored profile as the API shows it; policy and CA by id. */
export function profileToProto(row: CertificateProfile): PbProfile {
  const d = storedDefaults(row);
  return {
    id: row.id,
    slug: row.slug,
    description: row.description,
    certificatePolicy: row.policyId,
    issuer: row.caId
      ? { $case: "certificateAuthority", value: row.caId }
      : { $case: "selfSigned", value: true },
    enrollmentMethod: enrollmentMethodCodec.toProto(row.enrollmentMethod),
    defaults: {
      ttl: d.ttlSeconds === undefined ? undefined : secondsToDuration(d.ttlSeconds),
      subject: d.subject ? subjectToProto(d.subject) : undefined,
      keyAlgorithm: keyAlgorithmCodec.toProto(d.keyAlgorithm),
      signatureAlgorithm: signatureAlgorithmCodec.toProto(d.signatureAlgorithm),
      keyUsages: (d.keyUsages ?? []).map(keyUsageCodec.toProto),
      extendedKeyUsages: (d.extendedKeyUsages ?? []).map(extendedKeyUsageCodec.toProto),
    },
    renewal: renewalToProto(storedRenewal(row)),
    requireApproval: row.requireApproval,
    allowSelfApproval: row.allowSelfApproval,
    validityOverflow: validityOverflowCodec.toProto(row.validityOverflow),
    privateKeyRetention: privateKeyRetentionCodec.toProto(row.privateKeyRetention),
    acme:
      row.enrollmentMethod === "ACME"
        ? { requireExternalAccountBinding: row.acmeRequireEab }
        : undefined,
    createTime: row.createdAt,
    updateTime: row.updatedAt,
    etag: etagOf(row.version),
  };
}

/** Stored renewal settings as the proto shows them (renew_before unset when 0). */
function renewalToProto(r: Required<RenewalSettings>) {
  return {
    autoRenew: r.autoRenew,
    renewBeforeDays: r.renewBeforeDays,
    allowSharedRenewal: r.allowSharedRenewal,
    renewBefore: r.renewBeforeSeconds > 0 ? secondsToDuration(r.renewBeforeSeconds) : undefined,
  };
}
