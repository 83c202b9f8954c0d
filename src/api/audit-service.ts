import {
  type AuditServiceServer,
  AuditServiceService,
} from "../../gen/ts/certmint/v1/audit_service";
import { listAuditRecords } from "../issuance/audit/queries";
import type { IssuanceDeps } from "../issuance/deps";
import { auditRecordToProto } from "./convert/access";
import { timestampFilter } from "./convert/time";
import { type HandlerDeps, unary } from "./unary";

export function auditHandlers(
  deps: HandlerDeps,
  issuance: () => IssuanceDeps,
): Partial<AuditServiceServer> {
  return {
    listAuditRecords: unary(
      AuditServiceService.listAuditRecords.path,
      async (req, ctx) => {
        const page = await listAuditRecords(
          issuance(),
          ctx.call,
          {
            actor: req.actor || undefined,
            method: req.method || undefined,
            resourceType: req.resourceType || undefined,
            resourceId: req.resourceId || undefined,
            startTime: timestampFilter(req.startTime, "start_time"),
            endTime: timestampFilter(req.endTime, "end_time"),
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
