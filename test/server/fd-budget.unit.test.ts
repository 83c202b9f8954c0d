import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { reservedDescriptors } from "../../src/server/fd-budget";

/**
 * ACME validations connecting out hold a socket each (src/acme/validation/slots.ts): the
 * descriptors kept beside the ports' connections count CERTMINT_ACME_MAX_VALIDATIONS of them.
 */
describe("the file-descriptor budget", () => {
  it("keeps a descriptor for every ACME validation that may connect out at once", () => {
    const base = { DATABASE_URL: "postgresql://u:p@127.0.0.1:5432/db" };
    const without = reservedDescriptors(loadConfig(base));
    const acme = { ...base, CERTMINT_ACME_LISTEN: "127.0.0.1:8443" };
    expect(reservedDescriptors(loadConfig(acme))).toBe(without + 100);
    expect(reservedDescriptors(loadConfig({ ...acme, CERTMINT_ACME_MAX_VALIDATIONS: "7" }))).toBe(
      without + 7,
    );
  });
});
