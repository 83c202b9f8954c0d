/**
 * node-forge's ASN.1 and byte-buffer code, and nothing else of forge. `import "node-forge"`
 * loads all of forge (TLS, ciphers, RSA, PKCS #7 and #12...: 42 modules, 865 KB of source that
 * stays in the heap); the signer uses forge.asn1 and forge.util only, Node's crypto doing every
 * key operation. lib/asn1 registers asn1, util and oids on forge's shared object.
 */
import type Forge from "node-forge";
import "node-forge/lib/asn1";

// require: @types/node-forge declares no subpath; this is the object lib/asn1 filled in.
const forge: typeof Forge = require("node-forge/lib/forge");

export default forge;
