import type { GroupSpec } from "../command";
import { AUDIT_GROUP } from "./audit";
import { CA_GROUP } from "./ca";
import { CERT_GROUP } from "./cert";
import { POLICY_GROUP } from "./policy";
import { PROFILE_GROUP } from "./profile";
import { REQUEST_GROUP } from "./request";
import { TOKEN_GROUP } from "./token";

/** The command tree, in the order `certmint --help` lists it. */
export const GROUPS: readonly GroupSpec[] = [
  CA_GROUP,
  POLICY_GROUP,
  PROFILE_GROUP,
  CERT_GROUP,
  REQUEST_GROUP,
  TOKEN_GROUP,
  AUDIT_GROUP,
];
