import type { GroupSpec } from "../command";
import { caCreateExternal, caCreateIntermediate, caCreateRoot, caImport } from "./ca-create";
import {
  caCrl,
  caDelete,
  caDisable,
  caEnable,
  caGet,
  caList,
  caRevoke,
  caUpdate,
} from "./ca-manage";

export const CA_GROUP: GroupSpec = {
  name: "ca",
  summary: "certificate authorities: roots, intermediates, external intermediates, CRLs",
  description:
    "CA private keys are generated on the server and never leave it. Every command that names a " +
    "CA accepts its id or its slug.",
  commands: [
    caCreateRoot,
    caCreateIntermediate,
    caCreateExternal,
    caImport,
    caList,
    caGet,
    caDisable,
    caEnable,
    caUpdate,
    caRevoke,
    caCrl,
    caDelete,
  ],
};
