/** profile create | list | get | update | delete | acme-key (and profile-acme.ts's ACME commands) */
import { CertificatePolicy } from "../../../gen/ts/certmint/v1/certificate_policy_service";
import {
  CertificateProfile,
  ListCertificateProfilesResponse,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { type CommandSpec, type GroupSpec, type OptionSpec, UsageError } from "../command";
import type { Invocation } from "../invocation";
import { LIST_SECTION, listPages, noteMore } from "../options/list";
import {
  applyPolicyRules,
  POLICY_RULE_SECTIONS,
  PRESET_SECTION,
  readPreset,
} from "../options/policy-rules";
import { applyProfileSettings, PROFILE_SECTIONS } from "../options/profile-settings";
import { renderFields, renderJson } from "../output";
import { printOne, printPage } from "../views/print";
import { profileColumns, profileView } from "../views/profile";
import {
  profileAcmeAccounts,
  profileAcmeKeys,
  profileRevokeAcmeAccount,
  profileRevokeAcmeKey,
} from "./profile-acme";
import { policyAndCaSlugs } from "./slugs";

const PROFILE = { name: "PROFILE", description: "the profile, by id or slug" };
const ETAG: OptionSpec = {
  type: "string",
  value: "ETAG",
  description: "only if the profile's etag is still this",
};

/**
 * With policy rule options, profile create makes the profile's policy first (as a Vault role
 * holds its rules), named by --policy or after the profile. Returns its slug, or undefined when
 * no rule option was given. A profile that then fails takes the new policy with it.
 */
async function createInlinePolicy(
  inv: Invocation,
  profileSlug: string,
): Promise<string | undefined> {
  const slug = inv.args.string("policy") ?? profileSlug;
  const policy = CertificatePolicy.fromPartial({
    slug,
    description: `the rules of profile ${profileSlug}`,
  });
  const preset = readPreset(inv.args);
  if (applyPolicyRules(inv.args, policy).length === 0 && preset === 0) return undefined;
  await inv.rpc(inv.clients.policies, "createCertificatePolicy", {
    certificatePolicy: policy,
    preset,
  });
  inv.note(`created policy ${slug}`);
  return slug;
}

export const profileCreate: CommandSpec = {
  name: "create",
  summary: "create a profile: a policy, an issuer, defaults, renewal and approval settings",
  description:
    "Name an existing policy with --policy, or give policy rules (--preset, --allow-dns, ...) to " +
    "create the profile's policy with it, named --policy or after the profile.",
  positionals: [{ name: "SLUG", description: "the new profile's slug" }],
  options: [...PROFILE_SECTIONS, PRESET_SECTION, ...POLICY_RULE_SECTIONS],
  examples: [
    "certmint profile create web --ca issuing --preset tls-server --allow-dns '**.example.com' --ttl 7d",
    "certmint profile create payments --policy web-tls --ca issuing --require-approval",
  ],
  async run(inv) {
    const slug = inv.args.positional(0, "SLUG");
    const profile = CertificateProfile.fromPartial({ slug });
    applyProfileSettings(inv.args, profile);
    if (!profile.issuer) throw new UsageError("name the issuer: --ca CA, or --self-signed");
    const inline = await createInlinePolicy(inv, slug);
    if (inline) profile.certificatePolicy = inline;
    if (!profile.certificatePolicy) {
      throw new UsageError(
        "name the policy (--policy POLICY), or give its rules (--preset, --allow-dns, ...)",
      );
    }
    try {
      const res = await inv.rpc(inv.clients.profiles, "createCertificateProfile", {
        certificateProfile: profile,
      });
      printOne(inv, res.certificateProfile!, profileView(await policyAndCaSlugs(inv)));
    } catch (err) {
      if (inline) {
        await inv
          .rpc(inv.clients.policies, "deleteCertificatePolicy", {
            certificatePolicy: inline,
            etag: "",
          })
          .then(
            () => inv.note(`deleted policy ${inline} again: the profile was not created`),
            () =>
              inv.note(
                `policy ${inline} was created, the profile was not: delete it or name it with --policy`,
              ),
          );
      }
      throw err;
    }
  },
};

export const profileList: CommandSpec = {
  name: "list",
  summary: "list profiles, oldest first",
  options: [LIST_SECTION],
  async run(inv) {
    const page = await listPages(inv.args, async (pageSize, pageToken) => {
      const res = await inv.rpc(inv.clients.profiles, "listCertificateProfiles", {
        pageSize,
        pageToken,
      });
      return { items: res.certificateProfiles, nextPageToken: res.nextPageToken };
    });
    const columns = profileColumns(await policyAndCaSlugs(inv));
    printPage(
      inv,
      page.items,
      columns,
      { certificateProfiles: page.items, nextPageToken: page.nextPageToken },
      ListCertificateProfilesResponse,
    );
    noteMore(inv, page);
  },
};

export const profileGet: CommandSpec = {
  name: "get",
  summary: "show one profile",
  positionals: [PROFILE],
  options: [],
  async run(inv) {
    const res = await inv.rpc(inv.clients.profiles, "getCertificateProfile", {
      certificateProfile: inv.args.positional(0, "PROFILE"),
    });
    printOne(inv, res.certificateProfile!, profileView(await policyAndCaSlugs(inv)));
  },
};

export const profileUpdate: CommandSpec = {
  name: "update",
  summary: "change the settings the options name, keeping the others",
  description:
    "Reads the profile, applies the options and writes back only the fields they touch, with " +
    "the etag it read (a change made meanwhile is ABORTED). Booleans are turned off with " +
    "--no-NAME, e.g. --no-require-approval.",
  positionals: [PROFILE],
  options: [...PROFILE_SECTIONS, { title: "Concurrency", specs: { etag: ETAG } }],
  examples: ["certmint profile update web --ttl 14d --require-approval --no-allow-shared-renewal"],
  async run(inv) {
    const current = await inv.rpc(inv.clients.profiles, "getCertificateProfile", {
      certificateProfile: inv.args.positional(0, "PROFILE"),
    });
    const profile = current.certificateProfile!;
    const paths = applyProfileSettings(inv.args, profile);
    if (paths.length === 0)
      throw new UsageError("nothing to change: give the settings to update (see --help)");
    profile.etag = inv.args.string("etag") ?? profile.etag;
    const res = await inv.rpc(inv.clients.profiles, "updateCertificateProfile", {
      certificateProfile: profile,
      updateMask: paths,
    });
    printOne(inv, res.certificateProfile!, profileView(await policyAndCaSlugs(inv)));
  },
};

export const profileDelete: CommandSpec = {
  name: "delete",
  summary: "delete a profile (its certificates are kept, but can no longer be renewed)",
  positionals: [PROFILE],
  options: [
    {
      title: "Delete",
      specs: {
        force: {
          type: "boolean",
          description:
            "delete it although certificates issued under it are still valid (none of them can be renewed afterwards; refused without it)",
        },
      },
    },
    { title: "Concurrency", specs: { etag: ETAG } },
  ],
  async run(inv) {
    const ref = inv.args.positional(0, "PROFILE");
    await inv.rpc(inv.clients.profiles, "deleteCertificateProfile", {
      certificateProfile: ref,
      etag: inv.args.string("etag") ?? "",
      force: inv.args.flag("force") === true,
    });
    inv.note(`deleted profile ${ref}`);
  },
};

export const profileAcmeKey: CommandSpec = {
  name: "acme-key",
  summary: "make an External Account Binding key for an ACME profile (RFC 8555 7.3.4)",
  description:
    "Prints the key id and the HMAC key (base64url) once: certmint keeps only the id. The key " +
    "opens one ACME account on the profile (certbot --eab-kid KID --eab-hmac-key HMAC).",
  positionals: [PROFILE],
  options: [],
  examples: ["certmint profile acme-key web-acme"],
  async run(inv) {
    const res = await inv.rpc(inv.clients.profiles, "createAcmeExternalAccountKey", {
      certificateProfile: inv.args.positional(0, "PROFILE"),
    });
    if (inv.output === "json") {
      inv.print(renderJson({ keyId: res.keyId, hmacKey: res.hmacKey }));
    } else {
      inv.print(
        renderFields([
          ["key id", res.keyId],
          ["hmac key", res.hmacKey],
        ]),
      );
    }
  },
};

export const PROFILE_GROUP: GroupSpec = {
  name: "profile",
  summary:
    "certificate profiles: policy + issuer + defaults; every certificate is issued against one",
  commands: [
    profileCreate,
    profileList,
    profileGet,
    profileUpdate,
    profileDelete,
    profileAcmeKey,
    profileAcmeKeys,
    profileRevokeAcmeKey,
    profileAcmeAccounts,
    profileRevokeAcmeAccount,
  ],
};
