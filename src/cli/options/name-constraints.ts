/** Name constraints (RFC 5280 4.2.1.10) for an intermediate CA: permitted and excluded subtrees. */
import type { GeneralSubtrees, NameConstraints } from "../../../gen/ts/certmint/v1/common";
import type { Args } from "../args";
import type { OptionSection } from "../command";

const KINDS = [
  [
    "dns",
    "dnsNames",
    "NAME",
    'DNS subtree: "example.com" is it and every name below it; "" every name',
  ],
  ["ip", "ipRanges", "CIDR", "IP range, e.g. 10.0.0.0/8"],
  [
    "email",
    "emailAddresses",
    "SUBTREE",
    'email: a mailbox, a host ("example.com") or hosts below (".example.com")',
  ],
  ["uri-host", "uriHosts", "HOST", 'URI host: "prod.example", or hosts below ".example.com"'],
] as const;

export const NAME_CONSTRAINTS_SECTION: OptionSection = {
  title: "Name constraints (critical, on the CA certificate)",
  specs: Object.fromEntries(
    (["permit", "exclude"] as const).flatMap((action) =>
      KINDS.map(([kind, , value, text]) => [
        `${action}-${kind}`,
        {
          type: "string" as const,
          value,
          multiple: true,
          description: `${action === "permit" ? "permitted" : "excluded"} ${text}`,
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
