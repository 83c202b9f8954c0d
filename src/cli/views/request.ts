import { CertificateRequest } from "../../../gen/ts/certmint/v1/certificate_service";
import { REQUEST_STATUS } from "../enums";
import type { Column } from "../output";
import { codeName, describeDetails } from "../rpc-error";
import { formatTime } from "../values";
import { formatSans, formatSansCell, formatSubject } from "./names";
import type { OneView } from "./print";

/** A request; a FAILED or REJECTED one with its error and every detail (field violations...). */
export const REQUEST_VIEW: OneView<CertificateRequest> = {
  codec: CertificateRequest,
  fields: (r) => [
    ["id", r.id],
    ["status", REQUEST_STATUS.name(r.status)],
    ["profile", r.certificateProfileId],
    ["request id", r.requestId],
    ["subject", formatSubject(r.subject)],
    ["names", formatSans(r.subjectAlternativeNames)],
    ["certificate", r.certificateId],
    ["renewal of", r.renewalOfCertificateId],
    [
      "error",
      r.error && r.error.code !== 0
        ? [
            `${codeName(r.error.code)}: ${r.error.message}`,
            ...describeDetails(r.error.details).map((l) => l.trim()),
          ]
        : [],
    ],
    ["created", formatTime(r.createTime)],
    ["updated", formatTime(r.updateTime)],
    ["requester", r.requester],
  ],
};

/** Requests as `certmint request list` shows them: the queue an approver works through. */
export const REQUEST_COLUMNS: ReadonlyArray<Column<CertificateRequest>> = [
  { header: "ID", value: (r) => r.id },
  { header: "STATUS", value: (r) => REQUEST_STATUS.name(r.status) },
  { header: "SUBJECT", value: (r) => formatSubject(r.subject) },
  { header: "NAMES", value: (r) => formatSansCell(r.subjectAlternativeNames) },
  { header: "PROFILE", value: (r) => r.certificateProfileId },
  { header: "REQUESTER", value: (r) => r.requester },
  { header: "CREATED", value: (r) => formatTime(r.createTime) },
];
