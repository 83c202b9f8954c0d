/** audit list */
import { AccessTokenServiceService } from "../../../gen/ts/certmint/v1/access_token_service";
import {
  type AuditRecord,
  AuditServiceService,
  type FieldChange,
  ListAuditRecordsResponse,
} from "../../../gen/ts/certmint/v1/audit_service";
import { CertificateAuthorityServiceService } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import { CertificatePolicyServiceService } from "../../../gen/ts/certmint/v1/certificate_policy_service";
import { CertificateProfileServiceService } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { CertificateServiceService } from "../../../gen/ts/certmint/v1/certificate_service";
import type { CommandSpec, GroupSpec } from "../command";
import { LIST_SECTION, listPages, noteMore } from "../options/list";
import type { Column } from "../output";
import { codeName } from "../rpc-error";
import { formatTime, parseTime } from "../values";
import { printPage } from "../views/print";

/** Every RPC's full name ("/certmint.v1.CertificateService/IssueCertificate") by its short forms. */
const METHODS = new Map<string, string>(
  [
    AccessTokenServiceService,
    AuditServiceService,
    CertificateAuthorityServiceService,
    CertificatePolicyServiceService,
    CertificateProfileServiceService,
    CertificateServiceService,
  ].flatMap((service) =>
    Object.values(service).flatMap(({ path }): Array<[string, string]> => {
      const [, serviceName, method] = /^\/certmint\.v1\.([^/]+)\/(.+)$/.exec(path)!;
      return [
        [method!, path],
        [`${serviceName}/${method}`, path],
      ];
    }),
  ),
);

const RESOURCE_TYPES = [
  "certificate_authority",
  "certificate_policy",
  "certificate_profile",
  "certificate_request",
  "certificate",
  "access_token",
  "acme_account",
  "acme_order",
  "key_encryption_key",
];

const COLUMNS: ReadonlyArray<Column<AuditRecord>> = [
  { header: "TIME", value: (r) => formatTime(r.createTime) },
  { header: "ACTOR", value: (r) => r.actorSlug || r.actor },
  { header: "METHOD", value: (r) => r.method.replace(/^\/certmint\.v1\./, "") },
  {
    header: "RESOURCE",
    value: (r) => (r.resourceType ? `${r.resourceType} ${r.resourceId}`.trim() : ""),
  },
  { header: "CODE", value: (r) => codeName(r.statusCode) },
  { header: "REASON", value: (r) => r.errorReason },
  { header: "REQUEST ID", value: (r) => r.requestId },
];

/**
 * What an administrative change set, last and unpadded; shown when a record of the page has
 * one (a page of issuances has none). The JSON output has every value whole.
 */
const CHANGES: Column<AuditRecord> = {
  header: "CHANGES",
  value: (r) => r.changes.map(changeText).join("; "),
};

/** Values longer than this are cut in the table ("..."): a created policy's whole spec, say. */
const CHANGE_VALUE_CHARS = 80;

/** "field: before -> after"; "+field: after" for a field created, "-field: before" for one removed. */
function changeText(change: FieldChange): string {
  const value = (v: unknown) => {
    const text = JSON.stringify(v) ?? "null";
    return text.length > CHANGE_VALUE_CHARS ? `${text.slice(0, CHANGE_VALUE_CHARS - 3)}...` : text;
  };
  if (change.before === undefined) return `+${change.field}: ${value(change.after)}`;
  if (change.after === undefined) return `-${change.field}: ${value(change.before)}`;
  return `${change.field}: ${value(change.before)} -> ${value(change.after)}`;
}

export const auditList: CommandSpec = {
  name: "list",
  summary:
    "the audit trail, newest first: who changed what (fields before and after), with what outcome",
  options: [
    {
      title: "Filters (combined with AND)",
      specs: {
        actor: {
          type: "string",
          value: "TOKEN",
          description: "only calls of this access token (id or slug)",
        },
        method: {
          type: "string",
          value: "RPC",
          description:
            "only calls of this RPC: IssueCertificate, CertificateService/IssueCertificate or the full name",
        },
        "resource-type": {
          type: "string",
          value: "TYPE",
          description: "only records about this kind of resource",
          choices: RESOURCE_TYPES,
        },
        "resource-id": {
          type: "string",
          value: "ID",
          description: "only records about this resource",
        },
        since: {
          type: "string",
          value: "TIME",
          description: "only records at or after TIME: RFC 3339, or a duration ago (1h)",
        },
        until: {
          type: "string",
          value: "TIME",
          description: "only records before TIME: RFC 3339, or a duration ago",
        },
        "failures-only": { type: "boolean", description: "only refused and failed calls" },
      },
    },
    LIST_SECTION,
  ],
  examples: [
    "certmint audit list --method RevokeCertificate --since 24h",
    "certmint audit list --failures-only --actor payments-issuer",
  ],
  async run(inv) {
    const a = inv.args;
    const method = a.string("method");
    const since = a.string("since");
    const until = a.string("until");
    const filters = {
      actor: a.string("actor") ?? "",
      method: method === undefined ? "" : (METHODS.get(method) ?? method),
      resourceType: a.string("resource-type") ?? "",
      resourceId: a.string("resource-id") ?? "",
      startTime: since === undefined ? undefined : parseTime(since, "since", -1),
      endTime: until === undefined ? undefined : parseTime(until, "until", -1),
      failuresOnly: a.flag("failures-only") === true,
    };
    const page = await listPages(a, async (pageSize, pageToken) => {
      const res = await inv.rpc(inv.clients.audit, "listAuditRecords", {
        pageSize,
        pageToken,
        ...filters,
      });
      return { items: res.auditRecords, nextPageToken: res.nextPageToken };
    });
    printPage(
      inv,
      page.items,
      page.items.some((r) => r.changes.length > 0) ? [...COLUMNS, CHANGES] : COLUMNS,
      { auditRecords: page.items, nextPageToken: page.nextPageToken },
      ListAuditRecordsResponse,
    );
    noteMore(inv, page);
  },
};

export const AUDIT_GROUP: GroupSpec = {
  name: "audit",
  summary: "the audit trail of every change and refused change",
  commands: [auditList],
};
