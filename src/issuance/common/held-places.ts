/**
 * Places a key (an access token) holds at once, up to a cap: open watches per token. In one
 * process, LocalPlaces; with CERTMINT_PROCESSES above 1 the places are counted for the whole
 * server by the supervisor (server/shared-limits-client.ts), which answers after an IPC round
 * trip (a Promise).
 */
export interface HeldPlaces {
  /** Takes a place of `key` if fewer than `cap` are held: undefined, else how many are held. */
  take(key: string, cap: number): number | undefined | Promise<number | undefined>;
  /** Gives back one place `take` gave. */
  release(key: string): void;
}

export class LocalPlaces implements HeldPlaces {
  /** A key that holds none has no entry. */
  private readonly held = new Map<string, number>();

  take(key: string, cap: number): number | undefined {
    const held = this.held.get(key) ?? 0;
    if (held >= cap) return held;
    this.held.set(key, held + 1);
    return undefined;
  }

  release(key: string): void {
    const left = (this.held.get(key) ?? 1) - 1;
    if (left > 0) this.held.set(key, left);
    else this.held.delete(key);
  }
}
