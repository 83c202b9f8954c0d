import { defineEntity, type InferEntity } from "@mikro-orm/core";

/** A certificate policy; its rules are one validated JSON document (the policy spec). */
export const CertificatePolicyEntity = defineEntity({
  name: "CertificatePolicy",
  tableName: "certificate_policy",
  properties: (p) => ({
    id: p.uuid().primary(),
    slug: p.text().unique("certificate_policy_slug_key"),
    description: p.text().default(""),
    spec: p.json<Record<string, unknown>>(),
    version: p.integer().default(1),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  }),
});
export type CertificatePolicyRow = InferEntity<typeof CertificatePolicyEntity>;
