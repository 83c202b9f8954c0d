import type { AuditServiceServer } from "../../gen/ts/certmint/v1/audit_service";
import { listAuditRecords } from "../issuance/audit/queries";
import type { IssuanceDeps } from "../issuance/deps";
import { auditRecordToProto } from "./convert/access";
import { type HandlerDeps, unary } from "./unary";

const SERVICE = "/certmint.v1.AuditService/";

export function auditHandlers(
  deps: HandlerDeps,
  issuance: () => IssuanceDeps,
): Partial<AuditServiceServer> {
  return {
    listAuditRecords: unary(
      `${SERVICE}ListAuditRecords`,
      async (req) => {
        const page = await listAuditRecords(
          issuance(),
          {
            actor: req.actor || undefined,
            method: req.method || undefined,
            resourceType: req.resourceType || undefined,
            resourceId: req.resourceId || undefined,
            startTime: req.startTime,
            endTime: req.endTime,
            failuresOnly: req.failuresOnly,
          },
          { pageSize: req.pageSize, pageToken: req.pageToken },
        );
        return {
          auditRecords: page.items.map(auditRecordToProto),
          nextPageToken: page.nextPageToken,
        };
      },
      deps,
    ),
  };
}
