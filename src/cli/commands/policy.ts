/** policy create | list | get | update | delete */
import {
  CertificatePolicy,
  ListCertificatePoliciesResponse,
} from "../../../gen/ts/certmint/v1/certificate_policy_service";
import { type CommandSpec, type GroupSpec, type OptionSpec, UsageError } from "../command";
import { LIST_SECTION, listPages, noteMore } from "../options/list";
import {
  applyPolicyRules,
  POLICY_RULE_SECTIONS,
  PRESET_SECTION,
  readPreset,
} from "../options/policy-rules";
import { POLICY_COLUMNS, POLICY_VIEW } from "../views/policy";
import { printOne, printPage } from "../views/print";

const POLICY = { name: "POLICY", description: "the policy, by id or slug" };
const DESCRIPTION: OptionSpec = {
  type: "string",
  value: "TEXT",
  description: "free text for operators",
};
const ETAG: OptionSpec = {
  type: "string",
  value: "ETAG",
  description: "only if the policy's etag is still this (default: the etag just read)",
};

export const policyCreate: CommandSpec = {
  name: "create",
  summary: "create a policy: what certificate requests may contain",
  description:
    "Nothing is allowed unless a rule says so, and deny wins. A preset fills every rule the " +
    "options leave unset; within a SAN type or subject attribute that an option sets, the " +
    "options replace the preset's rule.",
  positionals: [{ name: "SLUG", description: "the new policy's slug" }],
  options: [
    PRESET_SECTION,
    { title: "Policy", specs: { description: DESCRIPTION } },
    ...POLICY_RULE_SECTIONS,
  ],
  examples: [
    "certmint policy create web-tls --preset tls-server --allow-dns '**.example.com' --allow-subject 'cn=*' --max-ttl 30d",
    "certmint policy create spiffe --preset tls-client --allow-uri 'spiffe://prod.example/*' --require-uri",
  ],
  async run(inv) {
    const policy = CertificatePolicy.fromPartial({
      slug: inv.args.positional(0, "SLUG"),
      description: inv.args.string("description") ?? "",
    });
    applyPolicyRules(inv.args, policy);
    const res = await inv.rpc(inv.clients.policies, "createCertificatePolicy", {
      certificatePolicy: policy,
      preset: readPreset(inv.args),
    });
    printOne(inv, res.certificatePolicy!, POLICY_VIEW);
  },
};

export const policyList: CommandSpec = {
  name: "list",
  summary: "list policies, oldest first",
  options: [LIST_SECTION],
  async run(inv) {
    const page = await listPages(inv.args, async (pageSize, pageToken) => {
      const res = await inv.rpc(inv.clients.policies, "listCertificatePolicies", {
        pageSize,
        pageToken,
      });
      return { items: res.certificatePolicies, nextPageToken: res.nextPageToken };
    });
    printPage(
      inv,
      page.items,
      POLICY_COLUMNS,
      { certificatePolicies: page.items, nextPageToken: page.nextPageToken },
      ListCertificatePoliciesResponse,
    );
    noteMore(inv, page);
  },
};

export const policyGet: CommandSpec = {
  name: "get",
  summary: "show one policy",
  positionals: [POLICY],
  options: [],
  async run(inv) {
    const res = await inv.rpc(inv.clients.policies, "getCertificatePolicy", {
      certificatePolicy: inv.args.positional(0, "POLICY"),
    });
    printOne(inv, res.certificatePolicy!, POLICY_VIEW);
  },
};

export const policyUpdate: CommandSpec = {
  name: "update",
  summary: "change the rules the options name, keeping the others",
  description:
    "Reads the policy, applies the options to it and writes back only the fields they touch " +
    "(san_rules.dns for --allow-dns, ...), with the etag it read: a change made meanwhile is " +
    "ABORTED, never overwritten. A list option replaces that list (--allow-dns a --allow-dns b " +
    "leaves exactly a and b). A profile whose defaults the new rules would break keeps the " +
    "policy unchanged (INVALID_ARGUMENT).",
  positionals: [POLICY],
  options: [
    { title: "Policy", specs: { description: DESCRIPTION, etag: ETAG } },
    ...POLICY_RULE_SECTIONS,
  ],
  examples: [
    "certmint policy update web-tls --allow-dns '**.example.com' --allow-dns '**.example.net' --max-ttl 14d",
  ],
  async run(inv) {
    const ref = inv.args.positional(0, "POLICY");
    const current = await inv.rpc(inv.clients.policies, "getCertificatePolicy", {
      certificatePolicy: ref,
    });
    const policy = current.certificatePolicy!;
    const paths = applyPolicyRules(inv.args, policy);
    const description = inv.args.string("description");
    if (description !== undefined) {
      policy.description = description;
      paths.push("description");
    }
    if (paths.length === 0)
      throw new UsageError("nothing to change: give the rules to update (see --help)");
    policy.etag = inv.args.string("etag") ?? policy.etag;
    const res = await inv.rpc(inv.clients.policies, "updateCertificatePolicy", {
      certificatePolicy: policy,
      updateMask: paths,
    });
    printOne(inv, res.certificatePolicy!, POLICY_VIEW);
  },
};

export const policyDelete: CommandSpec = {
  name: "delete",
  summary: "delete a policy (refused while a profile uses it)",
  positionals: [POLICY],
  options: [
    {
      title: "Concurrency",
      specs: { etag: { ...ETAG, description: "only if the policy's etag is still this" } },
    },
  ],
  async run(inv) {
    const ref = inv.args.positional(0, "POLICY");
    await inv.rpc(inv.clients.policies, "deleteCertificatePolicy", {
      certificatePolicy: ref,
      etag: inv.args.string("etag") ?? "",
    });
    inv.note(`deleted policy ${ref}`);
  },
};

export const POLICY_GROUP: GroupSpec = {
  name: "policy",
  summary: "certificate policies: which names, usages, keys and lifetimes requests may have",
  commands: [policyCreate, policyList, policyGet, policyUpdate, policyDelete],
};
