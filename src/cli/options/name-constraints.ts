/** Name constraints (RFC 5280 4.2.1.10) for an intermediate CA: permitted and excluded subtrees. */
import type { GeneralSubtrees, NameConstraints } from "../../../gen/ts/certmint/v1/common";
import type { Args } from "../args";
import type { OptionSection } from "../command";

const KINDS = [
  ["dns", "dnsNames", "NAME", 'DNS subtree: "example.com" is it and every name below it'],
  ["ip", "ipRanges", "CIDR", "IP range, e.g. 10.0.0.0/8"],
  [
    "email",
    "emailAddresses",
    "SUBTREE",
    'email: a mailbox, a host ("example.com") or hosts below (".example.com")',
  ],
  ["uri-host", "uriHosts", "HOST", 'URI host: "prod.example", or hosts below ".example.com"'],
] as const;

/**
 * What an empty DNS name means: excluded, every DNS name (the kind is forbidden); permitted, the
 * server refuses it (NAME_CONSTRAINTS_INVALID: it would permit everything, a no-op that reads as
 * a limit). Until stop 44 of 2026-12-06 the help said `--permit-dns ""` permits every name (an
 * outside probe, E F8).
 */
const EXTRA: Record<"permit" | "exclude", Partial<Record<(typeof KINDS)[number][0], string>>> = {
  permit: {
    dns: '; "" is refused',
    ip: "; 0.0.0.0/0 and ::/0 leave every address free",
  },
  exclude: { dns: '; "" forbids every DNS name' },
};

export const NAME_CONSTRAINTS_SECTION: OptionSection = {
  title:
    "Name constraints (critical, on the CA certificate; with any --permit-*, each kind given no --permit-/--exclude- option is forbidden)",
  specs: Object.fromEntries(
    (["permit", "exclude"] as const).flatMap((action) =>
      KINDS.map(([kind, , value, text]) => [
        `${action}-${kind}`,
        {
          type: "string" as const,
          value,
          multiple: true,
          description: `${action === "permit" ? "permitted" : "excluded"} ${text}${EXTRA[action][kind] ?? ""}`,
        },
      ]),
    ),
  ),
};

function subtrees(args: Args, action: "permit" | "exclude"): GeneralSubtrees {
  const t: GeneralSubtrees = { dnsNames: [], ipRanges: [], emailAddresses: [], uriHosts: [] };
  for (const [kind, field] of KINDS) t[field] = args.strings(`${action}-${kind}`);
  return t;
}

/** The constraints the options give; undefined when none was given. */
export function readNameConstraints(args: Args): NameConstraints | undefined {
  const given = KINDS.some(
    ([kind]) => args.given(`permit-${kind}`) || args.given(`exclude-${kind}`),
  );
  if (!given) return undefined;
  return { permitted: subtrees(args, "permit"), excluded: subtrees(args, "exclude") };
}
