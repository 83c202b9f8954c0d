import { readdirSync } from "node:fs";
import { type ClientHttp2Session, connect } from "node:http2";
import { connect as netConnect } from "node:net";

/**
 * HTTP/2 connections that finish their preface and then stay open without a call, each from a
 * loopback address of its own (127.0.x.y), so the per-address share of CERTMINT_MAX_CONNECTIONS
 * does not stop them: what many clients hold, taking a file descriptor each.
 */
export interface ConnectionFlood {
  /** Connections the server took (it sent its SETTINGS). */
  accepted(): number;
  /** Connections the server closed (the cap, or libuv at EMFILE). */
  closed(): number;
  /** Whether every connection was either taken or closed. */
  settled(): boolean;
  close(): void;
}

export function floodConnections(port: number, count: number): ConnectionFlood {
  const sessions: ClientHttp2Session[] = [];
  const accepted = new Set<ClientHttp2Session>();
  const closed = new Set<ClientHttp2Session>();
  for (let i = 0; i < count; i++) {
    const localAddress = `127.0.${20 + Math.floor(i / 200)}.${2 + (i % 200)}`;
    const s = connect(`http://127.0.0.1:${port}`, {
      createConnection: () => netConnect({ host: "127.0.0.1", port, localAddress }),
    });
    s.on("error", () => undefined);
    s.once("remoteSettings", () => accepted.add(s));
    s.once("close", () => closed.add(s));
    sessions.push(s);
  }
  return {
    accepted: () => accepted.size,
    closed: () => closed.size,
    settled: () => sessions.every((s) => accepted.has(s) || closed.has(s)),
    close: () => {
      for (const s of sessions) s.destroy();
    },
  };
}

/** How many file descriptors process `pid` holds now (Linux). */
export function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}
