/** Subject (distinguished name) and subject alternative name options. */
import type { Subject, SubjectAlternativeNames } from "../../../gen/ts/certmint/v1/common";
import type { Args } from "../args";
import type { OptionSpec, OptionSpecs } from "../command";

const ATTRIBUTES: ReadonlyArray<
  [flag: string, field: keyof Subject, spec: Omit<OptionSpec, "type">]
> = [
  ["cn", "commonName", { value: "NAME", description: "common name (CN)" }],
  ["org", "organization", { value: "NAME", description: "organization (O)", multiple: true }],
  [
    "ou",
    "organizationalUnit",
    { value: "NAME", description: "organizational unit (OU)", multiple: true },
  ],
  ["country", "country", { value: "CC", description: "country (C), two letters" }],
  ["state", "state", { value: "NAME", description: "state or province (ST)" }],
  ["locality", "locality", { value: "NAME", description: "locality (L)" }],
  ["street", "streetAddress", { value: "TEXT", description: "street address" }],
  ["postal-code", "postalCode", { value: "CODE", description: "postal code" }],
  [
    "subject-serial",
    "serialNumber",
    { value: "TEXT", description: "serialNumber attribute (not the certificate serial)" },
  ],
  [
    "subject-email",
    "emailAddress",
    { value: "ADDRESS", description: "emailAddress attribute (prefer --email)" },
  ],
];

/** The subject options, each name prefixed (profile defaults use "default-"). */
export function subjectOptions(prefix = "", what = ""): OptionSpecs {
  return Object.fromEntries(
    ATTRIBUTES.map(([flag, , spec]) => [
      `${prefix}${flag}`,
      { type: "string", ...spec, description: `${what}${spec.description}` },
    ]),
  );
}

/** The Subject the options describe; undefined when none was given. */
export function readSubject(args: Args, prefix = ""): Subject | undefined {
  const subject: Subject = {
    country: "",
    state: "",
    locality: "",
    organization: [],
    organizationalUnit: [],
    commonName: "",
    streetAddress: "",
    postalCode: "",
    serialNumber: "",
    emailAddress: "",
  };
  let given = false;
  for (const [flag, field] of ATTRIBUTES) {
    const name = `${prefix}${flag}`;
    if (!args.given(name)) continue;
    given = true;
    if (field === "organization" || field === "organizationalUnit")
      subject[field] = args.strings(name);
    else subject[field] = args.string(name)!;
  }
  return given ? subject : undefined;
}

export const SAN_OPTIONS: OptionSpecs = {
  dns: { type: "string", value: "NAME", multiple: true, description: "DNS name SAN" },
  ip: { type: "string", value: "ADDRESS", multiple: true, description: "IP address SAN" },
  email: { type: "string", value: "ADDRESS", multiple: true, description: "email address SAN" },
  uri: { type: "string", value: "URI", multiple: true, description: "URI SAN, e.g. a SPIFFE ID" },
};

export function readSans(args: Args): SubjectAlternativeNames {
  return {
    dnsNames: args.strings("dns"),
    ipAddresses: args.strings("ip"),
    emailAddresses: args.strings("email"),
    uris: args.strings("uri"),
  };
}
