/**
 * /proc/net/tcp6 prints an IPv4 connection accepted by a server on [::] as an IPv4-mapped
 * address; the CLI's peer check matches it with /proc/net/tcp's form (src/cli/loopback-peer.ts).
 */
import { expect, it } from "vitest";
import { ipv4Form } from "../../src/cli/loopback-peer";

it("an IPv4-mapped tcp6 address reads as its tcp form; others are left as they are", () => {
  expect(ipv4Form("0000000000000000FFFF00000100007F:C2C4")).toBe("0100007F:C2C4");
  expect(ipv4Form("0000000000000000ffff00000100007f:C2C4")).toBe("0100007F:C2C4");
  expect(ipv4Form("0100007F:C2C4")).toBe("0100007F:C2C4");
  expect(ipv4Form("00000000000000000000000001000000:C2C4")).toBe(
    "00000000000000000000000001000000:C2C4",
  );
});
