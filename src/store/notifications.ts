import { Client } from "pg";
import { NETWORK_CONNECTION_OPTIONS } from "./orm-config";

/** The LISTEN connections of this process now: cutListenConnections ends them. */
const connections = new Set<Client>();

/**
 * Cuts every LISTEN connection of this process, when the health probe found the network to
 * PostgreSQL stalled (database.ts). A LISTEN connection waits for notifications and sends
 * nothing, so nothing ever told it that its packets were being lost: after a stall it stayed
 * open, deaf, and this process's watchers heard no other replica's events until a restart.
 * Cut, it fails, and the listener connects again (and its watchers look again).
 */
export function cutListenConnections(): void {
  for (const c of connections) socketOf(c)?.destroy();
}

function socketOf(c: Client): { destroy(): void } | undefined {
  return (c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
}

/** How long a closing listener waits for PostgreSQL to acknowledge its end. */
const CLOSE_WAIT_MS = 2000;

/** The channel the event sequencer notifies on (repositories/certificate-events.ts). */
export const EVENTS_CHANNEL = "certmint_certificate_events";

/** The channel of credential changes (credential-changes.ts). */
export const CREDENTIALS_CHANNEL = "certmint_credentials";

/**
 * The advisory lock (int8 key space: the bytes of "certmsrv") every LISTEN connection of a
 * server holds shared for as long as it is open, so that the offline KEK rotation
 * (src/kek-rotation), which takes it exclusively, is refused while any server of this build
 * runs on the database, whatever its sessions' application_name (a DATABASE_URL may set its
 * own). Since stop 43 of 2026-12-06. Session-level: a pooler in transaction mode between a
 * server and PostgreSQL would not keep it.
 */
export const SERVER_PRESENCE_LOCK_KEY = "7162256626780697206";

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
  onNotify: (payload?: string) => void,
  onError: (err: unknown) => void,
  retryMs = 1000,
): Listener {
  let client: Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    if (closed) return;
    // The pool's network options: a connection attempt into a stalled network ends (and is
    // retried) instead of waiting forever with no LISTEN in place.
    const c = new Client({ connectionString: databaseUrl, ...NETWORK_CONNECTION_OPTIONS });
    client = c;
    connections.add(c);
    c.once("end", () => connections.delete(c));
    c.on("notification", (message) => onNotify(message.payload ?? ""));
    c.on("error", (err) => {
      onError(err);
      c.end().catch(() => undefined);
      schedule();
    });
    try {
      await c.connect();
      // First: during a KEK rotation, which holds it exclusively, this waits (and the rotation,
      // which looks for waiters too, refuses to commit while this server is here).
      await c.query("select pg_advisory_lock_shared($1::int8)", [SERVER_PRESENCE_LOCK_KEY]);
      // The identifier is ours (a constant): quoted as one.
      await c.query(`LISTEN "${channel}"`);
      // Whatever was notified while this connection was down (no payload): look again.
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
      // An end waits for the server's answer, which a stalled network never sends (a stop then
      // never finished): the connection is cut after a moment.
      const c = client;
      if (!c) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        c.end().catch(() => undefined),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, CLOSE_WAIT_MS);
        }),
      ]);
      clearTimeout(timer);
      socketOf(c)?.destroy();
      connections.delete(c);
    },
  };
}
