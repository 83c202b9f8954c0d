/**
 * A bounded map whose entries expire `ttlMs` after they were set. At `maxEntries` the oldest
 * entry is dropped (Map keeps insertion order), so a stream of distinct keys (made-up tokens,
 * say) costs bounded memory and never evicts more than it must.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; at: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.clock() - entry.at >= this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, at: this.clock() });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Drops every entry whose value `predicate` selects (all of them without one). */
  deleteWhere(predicate: (value: V, key: string) => boolean = () => true): void {
    for (const [key, entry] of this.entries) {
      if (predicate(entry.value, key)) this.entries.delete(key);
    }
  }
}
