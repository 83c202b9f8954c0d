/**
 * ListCertificates reads its page's renewal statuses in the page's list place
 * (src/issuance/certificates/queries.ts): read after the place was given back, pages of many
 * callers waited in memory together for a pooled connection (bench/memory/probe.ts took a
 * server with a 160 MB heap out of memory that way). Here the renewal read is held: the place
 * stays taken until it ends, and another caller's list waits for it.
 */
import { describe, expect, it } from "vitest";
import type { Actor } from "../../src/issuance/call";
import { listCertificates } from "../../src/issuance/certificates/queries";
import { ListQueryGate } from "../../src/issuance/common/list-gate";
import type { IssuanceDeps } from "../../src/issuance/deps";

const actor = (slug: string): Actor => ({
  id: `id-${slug}`,
  slug,
  role: "AUDITOR" as Actor["role"],
  profileIds: [],
});

const settle = () => new Promise((r) => setImmediate(r));

describe("ListCertificates' renewal statuses", () => {
  it("are read in the page's list place: the next list waits until they are", async () => {
    const gate = new ListQueryGate(2, 100, 1);
    const cert = {
      id: "c1",
      createdAt: new Date(),
      renewedById: null,
      sans: { dns: [], ip: [], email: [], uri: [] },
    };
    let releaseRenewals: () => void = () => undefined;
    let renewalReads = 0;
    const deps = {
      now: () => new Date(),
      listGate: gate,
      listQueryTimeoutMs: 0,
      store: {
        certificates: {
          listNewestFirst: async () => [cert],
          revokedIssuers: async () => new Map(),
        },
        renewals: {
          renewalsOf: () => {
            renewalReads++;
            return new Promise<Map<string, unknown>>((resolve) => {
              releaseRenewals = () => resolve(new Map());
            });
          },
        },
      },
    } as unknown as IssuanceDeps;
    const first = listCertificates(deps, { actor: actor("a") }, { pageSize: 10, pageToken: "" });
    await settle();
    expect(renewalReads).toBe(1);
    expect({ running: gate.running, waiting: gate.waiting }).toEqual({ running: 1, waiting: 0 });
    const second = listCertificates(deps, { actor: actor("b") }, { pageSize: 10, pageToken: "" });
    await settle();
    // The second caller's page is not read while the first one's statuses are.
    expect({ running: gate.running, waiting: gate.waiting }).toEqual({ running: 1, waiting: 1 });
    expect(renewalReads).toBe(1);
    releaseRenewals();
    const page = await first;
    expect(page.items.map((c) => c.id)).toEqual(["c1"]);
    expect(page.renewal.has("c1")).toBe(true);
    await settle();
    expect(renewalReads).toBe(2);
    releaseRenewals();
    await second;
    expect({ running: gate.running, waiting: gate.waiting }).toEqual({ running: 0, waiting: 0 });
  });
});
