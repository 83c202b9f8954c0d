/** cert issue | renew | revoke | release | get | list | watch */
import { ListCertificatesResponse } from "../../../gen/ts/certmint/v1/certificate_service";
import type { CommandSpec, GroupSpec } from "../command";
import { CERTIFICATE_STATUS, CERTIFICATE_VIEW } from "../enums";
import { LIST_SECTION, listPages, noteMore } from "../options/list";
import { invalidityTime, REVOCATION_SECTION, revocationReason } from "../options/revocation";
import { parseTime } from "../values";
import { CERTIFICATE_COLUMNS, certificateView } from "../views/certificate";
import { printOne, printPage } from "../views/print";
import { certIssue } from "./cert-issue";
import { certRenew } from "./cert-renew";
import { certWatch } from "./cert-watch";

const CERTIFICATE = {
  name: "CERTIFICATE",
  description: "the certificate, by id or serial number (hex, colons allowed)",
};

/**
 * --reason of `cert revoke`: as `ca revoke`'s, and its help says that a certificate on hold is
 * revoked for good only with an explicit reason (the server refuses unspecified there,
 * REVOCATION_REASON_REQUIRED, since stop 43 of 2026-12-06).
 */
const CERT_REVOCATION_SECTION: typeof REVOCATION_SECTION = {
  ...REVOCATION_SECTION,
  specs: {
    ...REVOCATION_SECTION.specs,
    reason: {
      ...REVOCATION_SECTION.specs.reason!,
      description:
        "the RFC 5280 reason (default: unspecified; a certificate on hold is revoked for good only with an explicit reason, e.g. key-compromise, or released with `cert release`)",
    },
  },
};

export const certRevoke: CommandSpec = {
  name: "revoke",
  summary:
    "revoke a certificate: its serial is on its CA's next CRL (admin only); a certificate on hold needs an explicit --reason to be revoked for good",
  positionals: [CERTIFICATE],
  options: [CERT_REVOCATION_SECTION],
  examples: [
    "certmint cert revoke 01a3c89cedfe0f8d5b87ec52ec884f461d --reason key-compromise",
    "certmint cert revoke 01a3c89cedfe0f8d5b87ec52ec884f461d --reason certificate-hold",
    "certmint cert revoke 01a3c89cedfe0f8d5b87ec52ec884f461d --reason key-compromise --invalid-since 2026-12-01T08:00:00Z",
  ],
  async run(inv) {
    const res = await inv.rpc(inv.clients.certificates, "revokeCertificate", {
      certificate: inv.args.positional(0, "CERTIFICATE"),
      reason: revocationReason(inv.args),
      invalidityTime: invalidityTime(inv.args),
    });
    printOne(inv, res.certificate!, certificateView());
  },
};

export const certRelease: CommandSpec = {
  name: "release",
  summary:
    "release a certificate on hold (revoked with --reason certificate-hold): valid again, off its CA's next CRL (admin only)",
  positionals: [CERTIFICATE],
  options: [],
  examples: ["certmint cert release 01a3c89cedfe0f8d5b87ec52ec884f461d"],
  async run(inv) {
    const res = await inv.rpc(inv.clients.certificates, "releaseCertificateHold", {
      certificate: inv.args.positional(0, "CERTIFICATE"),
    });
    printOne(inv, res.certificate!, certificateView());
  },
};

export const certGet: CommandSpec = {
  name: "get",
  summary: "show one certificate (with --output pem: the certificate itself)",
  positionals: [CERTIFICATE],
  options: [
    {
      title: "PEM",
      specs: {
        chain: { type: "boolean", description: "with --output pem, the chain above it too" },
      },
    },
  ],
  outputs: ["table", "json", "pem"],
  async run(inv) {
    const res = await inv.rpc(inv.clients.certificates, "getCertificate", {
      certificate: inv.args.positional(0, "CERTIFICATE"),
    });
    printOne(inv, res.certificate!, certificateView(inv.args.flag("chain") === true));
  },
};

export const certList: CommandSpec = {
  name: "list",
  summary: "list certificates, newest first",
  options: [
    {
      title: "Filters (combined with AND)",
      specs: {
        profile: {
          type: "string",
          value: "PROFILE",
          description: "only certificates of this profile (id or slug)",
        },
        ca: {
          type: "string",
          value: "CA",
          description: "only certificates issued by this CA (id or slug)",
        },
        status: {
          type: "string",
          value: "STATUS",
          description: "only certificates with this status",
          choices: CERTIFICATE_STATUS.choices,
        },
        "expires-before": {
          type: "string",
          value: "TIME",
          description:
            "only certificates whose notAfter is before TIME: RFC 3339, or a duration from now (30d)",
        },
        "name-contains": {
          type: "string",
          value: "TEXT",
          description: "only certificates whose CN or a SAN contains TEXT",
        },
      },
    },
    {
      title: "Output",
      specs: {
        view: {
          type: "string",
          value: "VIEW",
          description:
            "basic leaves the PEMs out, full includes them (default: full with --output json, else basic, as a table shows no PEMs)",
          choices: CERTIFICATE_VIEW.choices,
        },
      },
    },
    LIST_SECTION,
  ],
  examples: ["certmint cert list --profile web --status active --expires-before 30d"],
  async run(inv) {
    const a = inv.args;
    const status = a.string("status");
    const expires = a.string("expires-before");
    const filters = {
      certificateProfile: a.string("profile") ?? "",
      certificateAuthority: a.string("ca") ?? "",
      status: status === undefined ? 0 : CERTIFICATE_STATUS.parse(status, "status"),
      expiresBefore: expires === undefined ? undefined : parseTime(expires, "expires-before", 1),
      nameContains: a.string("name-contains") ?? "",
      view: CERTIFICATE_VIEW.parse(
        a.string("view") ?? (inv.output === "json" ? "full" : "basic"),
        "view",
      ),
    };
    const page = await listPages(a, async (pageSize, pageToken) => {
      const res = await inv.rpc(inv.clients.certificates, "listCertificates", {
        pageSize,
        pageToken,
        ...filters,
      });
      return { items: res.certificates, nextPageToken: res.nextPageToken };
    });
    printPage(
      inv,
      page.items,
      CERTIFICATE_COLUMNS,
      { certificates: page.items, nextPageToken: page.nextPageToken },
      ListCertificatesResponse,
    );
    noteMore(inv, page);
  },
};

export const CERT_GROUP: GroupSpec = {
  name: "cert",
  summary: "certificates: issue, renew, revoke, release a hold, inspect",
  commands: [certIssue, certRenew, certRevoke, certRelease, certGet, certList, certWatch],
};
