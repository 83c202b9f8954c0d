import { defineEntity, type InferEntity } from "@mikro-orm/core";
import type { PolicySpec } from "../../issuance/policy-engine";

/** A certificate policy; its rules are one validated JSON document (the policy spec). */
export const CertificatePolicyEntity = defineEntity({
  name: "CertificatePolicy",
  tableName: "certificate_policy",
  properties: (p) => ({
    id: p.uuid().primary(),
    slug: p.text().unique("certificate_policy_slug_key"),
    description: p.text().default(""),
    /** The canonical spec compilePolicy returned (only specs that compiled are stored). */
    spec: p.json<PolicySpec>(),
    version: p.integer().default(1),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  }),
});
export type CertificatePolicyRow = InferEntity<typeof CertificatePolicyEntity>;
