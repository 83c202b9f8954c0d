import { createServer } from "node:net";
import { type Config, ENV } from "../config";

/**
 * Whether each address certmint will listen on is free, checked before anything is created: a
 * port already in use (another certmint, a Prometheus exporter on the metrics port) used to
 * fail the start only after a first start had created the embedded database, the
 * key-encryption key and the first admin token (an outside probe, 2026-12-05). The check binds
 * and closes at once; a process that takes the port in between still fails the start later,
 * as before. Port 0 (any free port) is not checked.
 */
export async function assertListenAddressesFree(config: Config): Promise<void> {
  const addresses: Array<[string, { host: string; port: number } | undefined]> = [
    [ENV.listen, config.listen],
    [ENV.publicationListen, config.publicationListen],
    [ENV.metricsListen, config.metricsListen],
    [ENV.acmeListen, config.acme?.listen],
  ];
  for (const [name, address] of addresses) {
    if (!address || address.port === 0) continue;
    const problem = await bindProblem(address.host, address.port);
    if (problem) {
      throw new Error(
        `${name}=${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}: ${problem}; stop what listens there or choose another address (nothing was created)`,
      );
    }
  }
}

function bindProblem(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => {
      resolve(
        err.code === "EADDRINUSE"
          ? "the address is in use by another process"
          : err.code === "EADDRNOTAVAIL"
            ? "this machine has no such address"
            : err.code === "EACCES"
              ? "certmint may not listen on this port (a port below 1024 needs privileges)"
              : `cannot listen there (${err.code ?? err.message})`,
      );
    });
    server.listen({ host: host || undefined, port, exclusive: true }, () => {
      server.close(() => resolve(undefined));
    });
  });
}
