import { Client } from "pg";

/** The channel the event sequencer notifies on (repositories/certificate-events.ts). */
export const EVENTS_CHANNEL = "certmint_certificate_events";

export interface Listener {
  close(): Promise<void>;
}

/**
 * LISTEN on `channel` over a connection of its own (a pooled connection cannot keep a
 * LISTEN), reconnecting after `retryMs` when the connection is lost; `onNotify` runs for every
 * notification, `onError` for every lost connection. Only for a real PostgreSQL: the embedded
 * database is one session, reset between its connections (store/embedded-wire.ts).
 */
export function listen(
  databaseUrl: string,
  channel: string,
  onNotify: () => void,
  onError: (err: unknown) => void,
  retryMs = 1000,
): Listener {
  let client: Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    if (closed) return;
    const c = new Client({ connectionString: databaseUrl });
    client = c;
    c.on("notification", () => onNotify());
    c.on("error", (err) => {
      onError(err);
      c.end().catch(() => undefined);
      schedule();
    });
    try {
      await c.connect();
      // The identifier is ours (a constant): quoted as one.
      await c.query(`LISTEN "${channel}"`);
      // Whatever was notified while this connection was down: watchers look again.
      onNotify();
    } catch (err) {
      onError(err);
      c.end().catch(() => undefined);
      schedule();
    }
  };
  const schedule = () => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, retryMs);
    retry.unref();
  };
  void connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      await client?.end().catch(() => undefined);
    },
  };
}
