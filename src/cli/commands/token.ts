/** token create | list | get | revoke */
import {
  CreateAccessTokenRequest,
  ListAccessTokensResponse,
  RevokeAccessTokenResponse,
} from "../../../gen/ts/certmint/v1/access_token_service";
import type { Args } from "../args";
import { CliError, type CommandSpec, type GroupSpec, UsageError } from "../command";
import { IDENTITY_TYPE, ROLE } from "../enums";
import { assertWritable, writeFileAtomically } from "../files";
import { LIST_SECTION, listPages, noteMore } from "../options/list";
import { renderFields, renderJson, renderTable } from "../output";
import { parseDuration } from "../values";
import { printOne, printPage } from "../views/print";
import { TOKEN_COLUMNS, TOKEN_VIEW } from "../views/token";

const TOKEN = { name: "TOKEN", description: "the access token, by id or slug" };

function readBinding(a: Args) {
  const type = a.string("bind-type");
  const others = ["bind-value", "bind-ca", "bind-issuer-sha256"].filter((f) => a.given(f));
  if (type === undefined) {
    if (others.length > 0) throw new UsageError(`--${others[0]} needs --bind-type`);
    return undefined;
  }
  return {
    identityType: IDENTITY_TYPE.parse(type, "bind-type"),
    value: a.required("bind-value"),
    certificateAuthority: a.string("bind-ca") ?? "",
    issuerCertificateSha256: a.string("bind-issuer-sha256") ?? "",
  };
}

export const tokenCreate: CommandSpec = {
  name: "create",
  summary: "create an access token: a bearer secret, or a binding of a client certificate (mTLS)",
  description:
    "A bearer token's secret is shown once: it is written to --secret-out (default SLUG.token, " +
    "mode 0600) for use with --token-file or $CERTMINT_TOKEN, and printed only with " +
    "--secret-out -. A token with --bind-type has no secret: calls made with a client " +
    "certificate that the binding matches authenticate as it.",
  positionals: [{ name: "SLUG", description: "the new token's slug" }],
  options: [
    {
      title: "Grant",
      specs: {
        role: {
          type: "string",
          value: "ROLE",
          description: "what it may do (required)",
          choices: ROLE.choices,
        },
        profile: {
          type: "string",
          value: "PROFILE",
          multiple: true,
          description: "a profile an issuer or approver acts on",
        },
        ttl: {
          type: "string",
          value: "DURATION",
          description: "how long it is valid (default: 90d; at most 3650d)",
        },
        description: { type: "string", value: "TEXT", description: "who holds it, what for" },
      },
    },
    {
      title: "Client certificate binding (mTLS, instead of a secret)",
      specs: {
        "bind-type": {
          type: "string",
          value: "TYPE",
          description: "the certificate field that is the identity",
          choices: IDENTITY_TYPE.choices,
        },
        "bind-value": {
          type: "string",
          value: "VALUE",
          description: "the identity, e.g. spiffe://prod.example/ns/batch/sa/job",
        },
        "bind-ca": {
          type: "string",
          value: "CA",
          description: "the certmint CA that must be on the certificate's chain",
        },
        "bind-issuer-sha256": {
          type: "string",
          value: "HEX",
          description: "or the SHA-256 of an outside CA's certificate on it",
        },
      },
    },
    {
      title: "Secret",
      specs: {
        "secret-out": {
          type: "string",
          value: "FILE",
          description: "write the secret to FILE (mode 0600; default SLUG.token; '-' prints it)",
        },
        force: { type: "boolean", description: "replace FILE if it exists" },
        "request-id": {
          type: "string",
          value: "ID",
          description:
            "idempotency key: the same command with the same ID after a lost answer gets the same token and secret (within CERTMINT_GENERATED_KEY_REPLAY_SECONDS, 60 minutes by default), never a second token",
        },
      },
    },
  ],
  examples: [
    "certmint token create payments-issuer --role issuer --profile web --ttl 30d",
    "certmint token create batch-mtls --role issuer --profile web --bind-type uri-san \\\n" +
      "    --bind-value spiffe://prod.example/ns/batch/sa/job --bind-ca issuing",
  ],
  async run(inv) {
    const a = inv.args;
    const slug = a.positional(0, "SLUG");
    const ttl = a.string("ttl");
    const secretOut = a.string("secret-out") ?? `${slug}.token`;
    // Before the token exists: a secret that cannot be written leaves a credential nobody holds.
    assertWritable(secretOut, a.flag("force") === true);
    const res = await inv.rpc(
      inv.clients.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug,
          description: a.string("description") ?? "",
          role: ROLE.parse(a.required("role"), "role"),
          certificateProfiles: a.strings("profile"),
          clientCertificateBinding: readBinding(a),
        },
        ttl: ttl === undefined ? undefined : parseDuration(ttl, "ttl"),
        requestId: a.string("request-id"),
      }),
    );
    const token = res.accessToken!;
    let secretFile: string | undefined;
    if (res.secret && secretOut !== "-") {
      try {
        writeFileAtomically(secretOut, `${res.secret}\n`, {
          secret: true,
          force: a.flag("force") === true,
        });
      } catch (err) {
        // Changed since the check (a race): nobody would hold the secret, so the token goes.
        await inv
          .rpc(inv.clients.accessTokens, "revokeAccessToken", {
            accessToken: token.id,
            revokeCreatedTokens: false,
          })
          .catch(() => undefined);
        throw new CliError(
          `${(err as Error).message}; token ${slug} was revoked, since nobody holds its secret: create it again (under another slug)`,
        );
      }
      secretFile = secretOut;
    }
    if (inv.output === "json") {
      inv.print(
        renderJson({
          accessToken: TOKEN_VIEW.codec.toJSON(token),
          ...(secretFile ? { secretFile } : {}),
        }),
      );
    } else {
      inv.print(renderFields([...TOKEN_VIEW.fields(token), ["secret file", secretFile]]));
    }
    if (res.secret && secretOut === "-") inv.print(`${res.secret}\n`);
    if (secretFile)
      inv.note(
        `the secret is in ${secretFile} (mode 0600), and nowhere else: use it with --token-file ${secretFile}`,
      );
  },
};

export const tokenList: CommandSpec = {
  name: "list",
  summary: "list access tokens, oldest first, revoked and expired ones included",
  options: [LIST_SECTION],
  async run(inv) {
    const page = await listPages(inv.args, async (pageSize, pageToken) => {
      const res = await inv.rpc(inv.clients.accessTokens, "listAccessTokens", {
        pageSize,
        pageToken,
      });
      return { items: res.accessTokens, nextPageToken: res.nextPageToken };
    });
    printPage(
      inv,
      page.items,
      TOKEN_COLUMNS,
      { accessTokens: page.items, nextPageToken: page.nextPageToken },
      ListAccessTokensResponse,
    );
    noteMore(inv, page);
  },
};

export const tokenGet: CommandSpec = {
  name: "get",
  summary: "show one access token (never its secret)",
  positionals: [TOKEN],
  options: [],
  async run(inv) {
    const res = await inv.rpc(inv.clients.accessTokens, "getAccessToken", {
      accessToken: inv.args.positional(0, "TOKEN"),
    });
    printOne(inv, res.accessToken!, TOKEN_VIEW);
  },
};

export const tokenRevoke: CommandSpec = {
  name: "revoke",
  summary: "revoke an access token at once: its next call is UNAUTHENTICATED",
  description:
    "With --created, the tokens still in force that it created, directly or through tokens " +
    "it created, are revoked with it in one transaction (what to do when a token leaked: its " +
    "holder may have made more), and listed after it, oldest first; refused with nothing " +
    "revoked if that would leave no admin credential. It also works on a token revoked " +
    "before, cutting the tokens of its line still in force.",
  positionals: [TOKEN],
  options: [
    {
      title: "Line",
      specs: {
        created: {
          type: "boolean",
          description: "also revoke every token in force that it created, directly or not",
        },
      },
    },
  ],
  async run(inv) {
    const created = inv.args.flag("created") === true;
    const res = await inv.rpc(inv.clients.accessTokens, "revokeAccessToken", {
      accessToken: inv.args.positional(0, "TOKEN"),
      revokeCreatedTokens: created,
    });
    if (!created) {
      printOne(inv, res.accessToken!, TOKEN_VIEW);
      return;
    }
    if (inv.output === "json") {
      // The whole response; toJSON leaves an empty list out, a script reading
      // `.revokedCreatedTokens[]` wants it there.
      const out = RevokeAccessTokenResponse.toJSON(res) as Record<string, unknown>;
      out.revokedCreatedTokens ??= [];
      inv.print(renderJson(out));
      return;
    }
    printOne(inv, res.accessToken!, TOKEN_VIEW);
    inv.print(`\nrevoked with it (${res.revokedCreatedTokens.length}):\n`);
    inv.print(renderTable(res.revokedCreatedTokens, TOKEN_COLUMNS));
  },
};

export const TOKEN_GROUP: GroupSpec = {
  name: "token",
  summary: "access tokens: who may call certmint, with which role, on which profiles",
  commands: [tokenCreate, tokenList, tokenGet, tokenRevoke],
};
