import { defineEntity, type InferEntity } from "@mikro-orm/core";
import type { FieldChange } from "../../issuance/audit/changes";

/** One mutating call (src/issuance/audit): who, what, which resource, outcome, when. */
export const AuditRecordEntity = defineEntity({
  name: "AuditRecord",
  tableName: "audit_record",
  properties: (p) => ({
    id: p.uuid().primary(),
    createdAt: p.datetime(),
    actorId: p.uuid().nullable(),
    actorSlug: p.text(),
    method: p.text(),
    resourceType: p.text(),
    resourceId: p.text(),
    statusCode: p.integer(),
    errorReason: p.text(),
    /** The call's x-request-id (a trace id; the column and the API field keep the name request_id). */
    traceId: p.text().fieldName("request_id"),
    peer: p.text(),
    /**
     * What an administrative change set: fields before and after, never a secret
     * (src/issuance/audit/changes.ts); null on issuance records, refusals, replays and records
     * written before Migration20261206110000AuditChangesTokenRequests.
     */
    changes: p.json<FieldChange[]>().nullable(),
  }),
});
export type AuditRecordRow = InferEntity<typeof AuditRecordEntity>;
