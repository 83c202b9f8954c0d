/** ca list | get | enable | disable | update | revoke | crl | delete */
import {
  type CertificateAuthority,
  CertificateAuthorityStatus,
  CrlEncoding,
  GetCertificateRevocationListResponse,
  ListCertificateAuthoritiesResponse,
  UpdateCertificateAuthorityRequest,
} from "../../../gen/ts/certmint/v1/certificate_authority_service";
import type { CommandSpec, OptionSpec } from "../command";
import { CA_STATUS } from "../enums";
import { writeFileAtomically } from "../files";
import type { Invocation } from "../invocation";
import { LIST_SECTION, listPages, noteMore } from "../options/list";
import { invalidityTime, REVOCATION_SECTION, revocationReason } from "../options/revocation";
import { renderFields, renderJson } from "../output";
import { formatTime } from "../values";
import { CA_COLUMNS, caView } from "../views/ca";
import { printOne, printPage } from "../views/print";

const CA = { name: "CA", description: "the CA, by id or slug" };
const ETAG: OptionSpec = {
  type: "string",
  value: "ETAG",
  description: "only if the CA's etag is still this (default: the etag just read)",
};

export const caList: CommandSpec = {
  name: "list",
  summary: "list CAs, oldest first",
  options: [
    {
      title: "Filters",
      specs: {
        status: {
          type: "string",
          value: "STATUS",
          description: "only CAs with this status",
          choices: CA_STATUS.choices,
        },
      },
    },
    LIST_SECTION,
  ],
  async run(inv) {
    const status = inv.args.string("status");
    const page = await listPages(inv.args, async (pageSize, pageToken) => {
      const res = await inv.rpc(inv.clients.authorities, "listCertificateAuthorities", {
        pageSize,
        pageToken,
        status: status === undefined ? 0 : CA_STATUS.parse(status, "status"),
      });
      return { items: res.certificateAuthorities, nextPageToken: res.nextPageToken };
    });
    printPage(
      inv,
      page.items,
      CA_COLUMNS,
      { certificateAuthorities: page.items, nextPageToken: page.nextPageToken },
      ListCertificateAuthoritiesResponse,
    );
    noteMore(inv, page);
  },
};

export const caGet: CommandSpec = {
  name: "get",
  summary: "show one CA (with --output pem: its certificate, or its CSR while pending)",
  positionals: [CA],
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
    const res = await inv.rpc(inv.clients.authorities, "getCertificateAuthority", {
      certificateAuthority: inv.args.positional(0, "CA"),
    });
    printOne(inv, res.certificateAuthority!, caView(inv.args.flag("chain") === true));
  },
};

/**
 * Reads the CA (the argument may be its id or its slug; the update names it by id) and writes
 * the fields in `paths`, with the etag read (or --etag): a change made meanwhile is ABORTED.
 */
async function update(inv: Invocation, fields: Partial<CertificateAuthority>, paths: string[]) {
  const current = await inv.rpc(inv.clients.authorities, "getCertificateAuthority", {
    certificateAuthority: inv.args.positional(0, "CA"),
  });
  const ca = current.certificateAuthority!;
  const res = await inv.rpc(
    inv.clients.authorities,
    "updateCertificateAuthority",
    UpdateCertificateAuthorityRequest.fromPartial({
      certificateAuthority: { id: ca.id, etag: inv.args.string("etag") ?? ca.etag, ...fields },
      updateMask: paths,
    }),
  );
  printOne(inv, res.certificateAuthority!, caView());
}

function statusCommand(name: "enable" | "disable"): CommandSpec {
  const to =
    name === "enable"
      ? CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_ACTIVE
      : CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_DISABLED;
  return {
    name,
    summary:
      name === "disable"
        ? "stop a CA from signing (its CRL is still served)"
        : "let a disabled CA sign again (never a revoked one)",
    positionals: [CA],
    options: [{ title: "Concurrency", specs: { etag: ETAG } }],
    run: (inv) => update(inv, { status: to }, ["status"]),
  };
}

export const caEnable = statusCommand("enable");
export const caDisable = statusCommand("disable");

export const caUpdate: CommandSpec = {
  name: "update",
  summary: "change a CA's description",
  positionals: [CA],
  options: [
    {
      title: "Fields",
      specs: {
        description: { type: "string", value: "TEXT", description: "the new description" },
        etag: ETAG,
      },
    },
  ],
  run: (inv) => update(inv, { description: inv.args.required("description") }, ["description"]),
};

export const caRevoke: CommandSpec = {
  name: "revoke",
  summary:
    "revoke an intermediate CA signed here: onto its parent's CRL, disabled for good with every CA below it",
  positionals: [CA],
  options: [REVOCATION_SECTION],
  examples: ["certmint ca revoke issuing --reason ca-compromise"],
  async run(inv) {
    const res = await inv.rpc(inv.clients.authorities, "revokeCertificateAuthority", {
      certificateAuthority: inv.args.positional(0, "CA"),
      reason: revocationReason(inv.args),
      invalidityTime: invalidityTime(inv.args),
    });
    printOne(inv, res.certificateAuthority!, caView());
  },
};

export const caCrl: CommandSpec = {
  name: "crl",
  summary: "a freshly signed CRL of the CA (PEM on stdout, or into a file)",
  positionals: [CA],
  options: [
    {
      title: "File",
      specs: {
        out: {
          type: "string",
          value: "FILE",
          description: "write the CRL to FILE instead of printing it",
        },
        der: { type: "boolean", description: "with --out, in DER form" },
        force: { type: "boolean", description: "replace FILE if it exists" },
      },
    },
    {
      title: "Polling",
      specs: {
        "known-number": {
          type: "string",
          value: "N",
          description:
            "the crl number you hold: when the CRL is still that one, nothing is written or printed (the note says so) and nothing is downloaded",
        },
      },
    },
  ],
  outputs: ["pem", "table", "json"],
  examples: [
    "certmint ca crl issuing --out issuing.crl --der",
    "certmint ca crl issuing --out issuing.crl --force --known-number 41",
    "certmint ca crl issuing | openssl crl -noout -text",
  ],
  async run(inv) {
    const a = inv.args;
    const out = a.string("out");
    // Only the forms written or printed: one is half the answer of a large CRL. The table
    // prints neither, and DER is the smaller; JSON prints both.
    const needDer = out !== undefined && a.flag("der") === true;
    const needPem =
      (out !== undefined && !needDer) || (inv.output !== "table" && inv.output !== "json");
    const encoding =
      inv.output === "json" || (needDer && needPem)
        ? CrlEncoding.CRL_ENCODING_UNSPECIFIED
        : needPem
          ? CrlEncoding.CRL_ENCODING_PEM
          : CrlEncoding.CRL_ENCODING_DER;
    const crl = await inv.rpc(inv.clients.authorities, "getCertificateRevocationList", {
      certificateAuthority: a.positional(0, "CA"),
      encoding,
      knownCrlNumber: a.string("known-number") ?? "",
    });
    if (crl.unchanged) {
      inv.note(`CRL number ${crl.crlNumber} is still the current one: nothing written`);
      if (inv.output === "json")
        inv.print(renderJson(GetCertificateRevocationListResponse.toJSON(crl)));
      return;
    }
    if (out) {
      const der = a.flag("der") === true;
      const content = der ? crl.crlDer : crl.crlPem;
      writeFileAtomically(out, content, { secret: false, force: a.flag("force") === true });
      inv.note(`wrote CRL number ${crl.crlNumber} to ${out}`);
      if (inv.output !== "table" && inv.output !== "json") return;
    }
    if (inv.output === "json")
      inv.print(renderJson(GetCertificateRevocationListResponse.toJSON(crl)));
    else if (inv.output === "table") {
      inv.print(
        renderFields([
          ["crl number", crl.crlNumber],
          ["this update", formatTime(crl.thisUpdate)],
          ["next update", formatTime(crl.nextUpdate)],
        ]),
      );
    } else inv.print(crl.crlPem);
  },
};

export const caDelete: CommandSpec = {
  name: "delete",
  summary: "delete a CA and its sealed key (refused once it has issued: disable it instead)",
  positionals: [CA],
  options: [
    {
      title: "Concurrency",
      specs: { etag: { ...ETAG, description: "only if the CA's etag is still this" } },
    },
  ],
  async run(inv) {
    const ref = inv.args.positional(0, "CA");
    await inv.rpc(inv.clients.authorities, "deleteCertificateAuthority", {
      certificateAuthority: ref,
      etag: inv.args.string("etag") ?? "",
    });
    inv.note(`deleted CA ${ref}`);
  },
};
