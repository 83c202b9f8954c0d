/**
 * profile acme-keys | revoke-acme-key | acme-accounts | revoke-acme-account: what an operator
 * needs after handing out External Account Binding keys (RFC 8555 7.3.4): see which keys bound
 * which accounts, and end a key or an account that should not hold the profile any more.
 * (profile acme-key, which makes a key, is in profile.ts.)
 */
import {
  ListAcmeAccountsResponse,
  ListAcmeExternalAccountKeysResponse,
  RevokeAcmeExternalAccountKeyResponse,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import type { CommandSpec } from "../command";
import { LIST_SECTION, listPages, noteMore } from "../options/list";
import { renderJson } from "../output";
import {
  ACME_ACCOUNT_COLUMNS,
  ACME_ACCOUNT_VIEW,
  ACME_KEY_COLUMNS,
  ACME_KEY_VIEW,
} from "../views/acme";
import { printOne, printPage } from "../views/print";

const PROFILE = { name: "PROFILE", description: "the ACME profile, by id or slug" };

export const profileAcmeKeys: CommandSpec = {
  name: "acme-keys",
  summary: "list an ACME profile's External Account Binding keys, oldest first",
  description:
    "Every key made with `profile acme-key`: unbound, bound (with the account it opened) or " +
    "revoked. HMAC keys are never shown: certmint stores none.",
  positionals: [PROFILE],
  options: [LIST_SECTION],
  examples: ["certmint profile acme-keys web-acme"],
  async run(inv) {
    const certificateProfile = inv.args.positional(0, "PROFILE");
    const page = await listPages(inv.args, async (pageSize, pageToken) => {
      const res = await inv.rpc(inv.clients.profiles, "listAcmeExternalAccountKeys", {
        certificateProfile,
        pageSize,
        pageToken,
      });
      return { items: res.acmeExternalAccountKeys, nextPageToken: res.nextPageToken };
    });
    printPage(
      inv,
      page.items,
      ACME_KEY_COLUMNS,
      { acmeExternalAccountKeys: page.items, nextPageToken: page.nextPageToken },
      ListAcmeExternalAccountKeysResponse,
    );
    noteMore(inv, page);
  },
};

export const profileRevokeAcmeKey: CommandSpec = {
  name: "revoke-acme-key",
  summary: "revoke an External Account Binding key, and the ACME account it bound",
  description:
    "From then on the key opens no account. If it already bound one that is still valid, that " +
    "account is revoked with it (it holds the key's authority): its next request is refused. " +
    "Certificates it was issued stay valid (cert revoke revokes them). A key id made before " +
    'stop 50 may start with "-": give it after "--" (certmint profile revoke-acme-key -- -Fx...).',
  positionals: [{ name: "KEY_ID", description: "the key id (its JWS kid)" }],
  options: [],
  examples: ["certmint profile revoke-acme-key 3Qw0k1tqUJ6x2mYpQH9vUA"],
  async run(inv) {
    const res = await inv.rpc(inv.clients.profiles, "revokeAcmeExternalAccountKey", {
      keyId: inv.args.positional(0, "KEY_ID"),
    });
    if (inv.output === "json") {
      inv.print(renderJson(RevokeAcmeExternalAccountKeyResponse.toJSON(res)));
      return;
    }
    printOne(inv, res.acmeExternalAccountKey!, ACME_KEY_VIEW);
    if (res.revokedAcmeAccount) {
      inv.print("\nrevoked with it:\n");
      printOne(inv, res.revokedAcmeAccount, ACME_ACCOUNT_VIEW);
    }
  },
};

export const profileAcmeAccounts: CommandSpec = {
  name: "acme-accounts",
  summary: "list an ACME profile's accounts, oldest first, in every status",
  positionals: [PROFILE],
  options: [LIST_SECTION],
  examples: ["certmint profile acme-accounts web-acme"],
  async run(inv) {
    const certificateProfile = inv.args.positional(0, "PROFILE");
    const page = await listPages(inv.args, async (pageSize, pageToken) => {
      const res = await inv.rpc(inv.clients.profiles, "listAcmeAccounts", {
        certificateProfile,
        pageSize,
        pageToken,
      });
      return { items: res.acmeAccounts, nextPageToken: res.nextPageToken };
    });
    printPage(
      inv,
      page.items,
      ACME_ACCOUNT_COLUMNS,
      { acmeAccounts: page.items, nextPageToken: page.nextPageToken },
      ListAcmeAccountsResponse,
    );
    noteMore(inv, page);
  },
};

export const profileRevokeAcmeAccount: CommandSpec = {
  name: "revoke-acme-account",
  summary: 'revoke an ACME account: its next request is refused (RFC 8555 7.1.2 "revoked")',
  description:
    "An order being finalized stores nothing, and its requests waiting for approval are " +
    "rejected. Certificates it was issued stay valid (cert revoke revokes them). On a profile " +
    "without a required External Account Binding its holder may open a new account at once: " +
    "to keep someone out, require one (profile update --acme-require-eab) and revoke the key.",
  positionals: [{ name: "ACCOUNT", description: "the account's id (the end of its ACME URL)" }],
  options: [],
  examples: ["certmint profile revoke-acme-account 0193f1c2-7d4e-7a51-9c3b-2f6d8e0a1b2c"],
  async run(inv) {
    const res = await inv.rpc(inv.clients.profiles, "revokeAcmeAccount", {
      acmeAccount: inv.args.positional(0, "ACCOUNT"),
    });
    printOne(inv, res.acmeAccount!, ACME_ACCOUNT_VIEW);
  },
};
