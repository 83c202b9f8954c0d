import { defineEntity, type InferEntity } from "@mikro-orm/core";
import type {
  EnrollmentMethod,
  PrivateKeyRetention,
  ProfileDefaults,
  RenewalSettings,
  ValidityOverflow,
} from "../../issuance/profiles/types";

/** A profile: policy + issuer (a CA, or self-signed) + enrollment method + defaults. */
export const CertificateProfileEntity = defineEntity({
  name: "CertificateProfile",
  tableName: "certificate_profile",
  properties: (p) => ({
    id: p.uuid().primary(),
    slug: p.text().unique("certificate_profile_slug_key"),
    description: p.text().default(""),
    policyId: p.uuid().index("certificate_profile_policy_id_index"),
    /** The issuing CA; null when self_signed. */
    caId: p.uuid().nullable().index("certificate_profile_ca_id_index"),
    selfSigned: p.boolean().default(false),
    /** API | ACME | EST */
    enrollmentMethod: p.text().$type<EnrollmentMethod>(),
    defaults: p.json<ProfileDefaults>(),
    renewal: p.json<RenewalSettings>(),
    requireApproval: p.boolean().default(false),
    /** Whether the requester may approve its own request (default: never). */
    allowSelfApproval: p.boolean().default(false),
    /** FAIL | TRUNCATE */
    validityOverflow: p.text().$type<ValidityOverflow>(),
    /** RETURN_ONCE | STORE_ENCRYPTED */
    privateKeyRetention: p.text().$type<PrivateKeyRetention>(),
    /** ACME: new accounts need an External Account Binding key (migration 20261202120000Acme). */
    acmeRequireEab: p.boolean().default(false),
    version: p.integer().default(1),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  }),
});
export type CertificateProfileRow = InferEntity<typeof CertificateProfileEntity>;
