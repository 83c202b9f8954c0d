import type { RunningCertmint } from "../app";
import type { Config } from "../config";

/**
 * What a person starting certmint in a terminal wants to see once it serves: where it
 * listens, which database it uses (never its password), and where the admin token is. Printed
 * by main.ts in the pretty log format; the JSON log has the same facts in its lines.
 */
export function startBanner(
  config: Config,
  running: Pick<
    RunningCertmint,
    "address" | "adminTokenCreated" | "publicationPort" | "metricsPort"
  >,
  version: string,
): string {
  const rows: Array<[string, string]> = [
    [
      "gRPC",
      `${running.address} (${config.tls ? "TLS" : "plaintext"}${config.tls?.clientCaFile ? ", client certificates" : ""})`,
    ],
    ["database", databaseOf(config)],
    ...(config.processes.count > 1
      ? [
          [
            "processes",
            `${config.processes.count} workers sharing the ports (CERTMINT_PROCESSES)`,
          ] as [string, string],
        ]
      : []),
    [
      "admin token",
      `${config.adminTokenFile}${running.adminTokenCreated ? " (created now; `npx certmint` reads it for a server on loopback)" : ""}`,
    ],
  ];
  if (running.publicationPort !== undefined && config.publicationListen) {
    rows.push([
      "publication",
      `http://${config.publicationListen.host}:${running.publicationPort} (CRLs, CA certificates, OCSP at /ocsp)`,
    ]);
  }
  if (running.metricsPort !== undefined && config.metricsListen) {
    rows.push(["metrics", `http://${config.metricsListen.host}:${running.metricsPort}/metrics`]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return [
    `certmint ${version} is serving`,
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    running.adminTokenCreated
      ? "  next: npx certmint ca create-root example-root --cn 'Example Root CA'   (README: A first certificate)"
      : undefined,
    "",
  ]
    .filter((l) => l !== undefined)
    .join("\n");
}

function databaseOf(config: Config): string {
  if (!config.databaseUrl) return `embedded PostgreSQL (PGlite) in ${config.dataDir}/pglite`;
  const url = new URL(config.databaseUrl);
  return `PostgreSQL ${url.hostname}:${url.port || "5432"}${url.pathname}`;
}
