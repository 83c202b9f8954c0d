import type {
  SubjectAlternativeNames as PbSans,
  Subject as PbSubject,
} from "../../../gen/ts/certmint/v1/common";
import type { SubjectAltNames, SubjectAttribute, SubjectName } from "../../model/pki";

/** Single-valued proto fields in the order they are written into the name. */
const SINGLE: Array<[keyof PbSubject, SubjectAttribute]> = [
  ["country", "COUNTRY"],
  ["state", "STATE"],
  ["locality", "LOCALITY"],
];
const TAIL: Array<[keyof PbSubject, SubjectAttribute]> = [
  ["commonName", "COMMON_NAME"],
  ["streetAddress", "STREET_ADDRESS"],
  ["postalCode", "POSTAL_CODE"],
  ["serialNumber", "SERIAL_NUMBER"],
  ["emailAddress", "EMAIL_ADDRESS"],
];

/** Proto Subject -> ordered distinguished name (C, ST, L, O..., OU..., CN, ...). Empty fields are left out. */
export function subjectFromProto(s: PbSubject | undefined): SubjectName {
  const attributes: SubjectName["attributes"] = [];
  if (!s) return { attributes };
  for (const [field, type] of SINGLE)
    if (s[field]) attributes.push({ type, value: s[field] as string });
  for (const value of s.organization) attributes.push({ type: "ORGANIZATION", value });
  for (const value of s.organizationalUnit) attributes.push({ type: "ORGANIZATIONAL_UNIT", value });
  for (const [field, type] of TAIL)
    if (s[field]) attributes.push({ type, value: s[field] as string });
  return { attributes };
}

export function subjectToProto(name: SubjectName | undefined | null): PbSubject {
  const out: PbSubject = {
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
  for (const { type, value } of name?.attributes ?? []) {
    if (type === "ORGANIZATION") out.organization.push(value);
    else if (type === "ORGANIZATIONAL_UNIT") out.organizationalUnit.push(value);
    else {
      const field = [...SINGLE, ...TAIL].find(([, t]) => t === type)?.[0];
      if (field) (out[field] as string) = value;
    }
  }
  return out;
}

export const sansFromProto = (s: PbSans | undefined): SubjectAltNames => ({
  dns: [...(s?.dnsNames ?? [])],
  ip: [...(s?.ipAddresses ?? [])],
  email: [...(s?.emailAddresses ?? [])],
  uri: [...(s?.uris ?? [])],
});

export const sansToProto = (s: SubjectAltNames | undefined | null): PbSans => ({
  dnsNames: [...(s?.dns ?? [])],
  ipAddresses: [...(s?.ip ?? [])],
  emailAddresses: [...(s?.email ?? [])],
  uris: [...(s?.uri ?? [])],
});
