/** request list | status | approve | reject */
import { readFileSync } from "node:fs";
import {
  type CertificateRequest,
  CertificateRequestStatus,
  GetRequestStatusResponse,
  ListCertificateRequestsResponse,
} from "../../../gen/ts/certmint/v1/certificate_service";
import type { CommandSpec, GroupSpec } from "../command";
import { REQUEST_STATUS } from "../enums";
import type { Invocation } from "../invocation";
import {
  checkOutputs,
  FILES_SECTION,
  fileBase,
  filesAsked,
  outputPaths,
} from "../options/issued-files";
import { LIST_SECTION, listPages, noteMore } from "../options/list";
import { reportIssued } from "../views/issued";
import { printOne, printPage } from "../views/print";
import { REQUEST_COLUMNS, REQUEST_VIEW } from "../views/request";

const REQUEST = {
  name: "REQUEST",
  description: "the certificate request id (cert issue prints it)",
};

export const requestList: CommandSpec = {
  name: "list",
  summary: "list requests that did not end in a certificate, oldest first: the approval queue",
  description:
    "Approvers see the requests of the profiles on their token, issuers their own, admins and " +
    "auditors every one. Issued requests are listed as certificates ('certmint cert list').",
  options: [
    {
      title: "Filters (combined with AND)",
      specs: {
        status: {
          type: "string",
          value: "STATUS",
          description: "only requests with this status (pending-approval: waiting for a decision)",
          choices: REQUEST_STATUS.choices.filter((c) => c !== "issued"),
        },
        profile: {
          type: "string",
          value: "PROFILE",
          description: "only requests to this profile (id or slug)",
        },
      },
    },
    LIST_SECTION,
  ],
  examples: ["certmint request list --status pending-approval --profile web"],
  async run(inv) {
    const status = inv.args.string("status");
    const filters = {
      status: status === undefined ? 0 : REQUEST_STATUS.parse(status, "status"),
      certificateProfile: inv.args.string("profile") ?? "",
    };
    const page = await listPages(inv.args, async (pageSize, pageToken) => {
      const res = await inv.rpc(inv.clients.certificates, "listCertificateRequests", {
        pageSize,
        pageToken,
        ...filters,
      });
      return { items: res.certificateRequests, nextPageToken: res.nextPageToken };
    });
    printPage(
      inv,
      page.items,
      REQUEST_COLUMNS,
      { certificateRequests: page.items, nextPageToken: page.nextPageToken },
      ListCertificateRequestsResponse,
    );
    noteMore(inv, page);
  },
};

export const requestStatus: CommandSpec = {
  name: "status",
  summary: "where a certificate request stands; once issued, its certificate into files",
  description:
    "Once the request is ISSUED, the certificate and its chain are written when a file option " +
    "is given (only the files named), and always when the answer carries a private key certmint " +
    "generated that the key file does not hold yet: the server holds such a key for a while after " +
    "its first fetch after approval, then deletes it, so the key (mode 0600, never to the " +
    "terminal), the certificate and the chain are written, by default to REQUEST.key, " +
    "REQUEST.crt and REQUEST.chain.pem.",
  positionals: [REQUEST],
  options: [FILES_SECTION],
  outputs: ["table", "json", "pem"],
  async run(inv) {
    const id = inv.args.positional(0, "REQUEST");
    // Only the files the options name; but a key certmint generated is held only for a while,
    // so it and its certificate always land in files, by default named after the request.
    const named = outputPaths(inv.args, undefined);
    checkOutputs(inv, named, true);
    const res = await inv.rpc(inv.clients.certificates, "getRequestStatus", {
      certificateRequestId: id,
    });
    const request = res.certificateRequest!;
    // The server holds the key for its replay window after the first hand-out, so a second
    // look gets it again: a key file that already holds it (an earlier look wrote it) is left
    // as it is, and only the files asked for are written.
    const keyPem = alreadyWritten(outputPaths(inv.args, fileBase(id)).privateKey, res.privateKeyPem)
      ? ""
      : res.privateKeyPem;
    const paths = keyPem ? outputPaths(inv.args, fileBase(id)) : named;
    if (res.certificate && (filesAsked(inv.args) || keyPem)) {
      reportIssued(
        inv,
        {
          certificateRequestId: request.id,
          status: request.status,
          certificate: res.certificate,
          privateKeyPem: keyPem,
        },
        () => GetRequestStatusResponse.toJSON({ ...res, privateKeyPem: "" }),
        {
          paths: () => paths,
          recovery: keyPem
            ? "certmint holds the key it generated for CERTMINT_GENERATED_KEY_REPLAY_SECONDS (60 minutes by default) after its first hand-out: run it again with --force or other file names within that time; after it, renew the certificate with --key-source new"
            : "run it again with other file names",
        },
      );
      return;
    }
    if (inv.output === "json")
      printOne(inv, res, { codec: GetRequestStatusResponse, fields: () => [] });
    else if (inv.output === "pem")
      printOne(inv, res, {
        codec: GetRequestStatusResponse,
        fields: () => [],
        pem: (r) => r.certificate?.certificatePem ?? "",
      });
    else printOne(inv, request, REQUEST_VIEW);
  },
};

async function decide(inv: Invocation, approve: boolean): Promise<CertificateRequest> {
  const id = inv.args.positional(0, "REQUEST");
  const res = approve
    ? await inv.rpc(inv.clients.certificates, "approveCertificateRequest", {
        certificateRequestId: id,
        comment: inv.args.string("comment") ?? "",
      })
    : await inv.rpc(inv.clients.certificates, "rejectCertificateRequest", {
        certificateRequestId: id,
        reason: inv.args.string("reason") ?? "",
      });
  return res.certificateRequest!;
}

export const requestApprove: CommandSpec = {
  name: "approve",
  summary:
    "approve a request waiting for approval: it is checked against the policy again, then issued",
  description:
    "The token that made the request may not approve it, an admin token neither, unless the " +
    "profile allows self-approval. The requester fetches the certificate with 'certmint request status'.",
  positionals: [REQUEST],
  options: [
    {
      title: "Audit",
      specs: {
        comment: { type: "string", value: "TEXT", description: "why, for the audit trail" },
      },
    },
  ],
  async run(inv) {
    const request = await decide(inv, true);
    printOne(inv, request, REQUEST_VIEW);
    if (request.status === CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED) {
      inv.note(`issued: the requester writes it with 'certmint request status ${request.id}'`);
    }
  },
};

export const requestReject: CommandSpec = {
  name: "reject",
  summary: "reject a request waiting for approval: nothing is issued",
  positionals: [REQUEST],
  options: [
    {
      title: "Reason",
      specs: {
        reason: { type: "string", value: "TEXT", description: "why, shown to the requester" },
      },
    },
  ],
  async run(inv) {
    printOne(inv, await decide(inv, false), REQUEST_VIEW);
  },
};

export const REQUEST_GROUP: GroupSpec = {
  name: "request",
  summary: "certificate requests: the approval queue, status, approval, rejection",
  commands: [requestList, requestStatus, requestApprove, requestReject],
};

/** Whether `path` already holds exactly this key (an earlier look at the request wrote it). */
function alreadyWritten(path: string | undefined, keyPem: string): boolean {
  if (!keyPem || path === undefined || path === "-") return false;
  try {
    return readFileSync(path, "utf8").trim() === keyPem.trim();
  } catch {
    return false;
  }
}
