import type { Args } from "./args";
import { type CertmintClients, closeClients, makeClients } from "./clients";
import type { OutputFormat } from "./command";
import { type ConnectionSettings, resolveConnection } from "./connection";
import { type ReqOf, type ResOf, unary } from "./rpc";

/** One run of one command: its arguments, the chosen output, the connection, stdout and stderr. */
export class Invocation {
  private settingsMemo?: ConnectionSettings;
  private clientsMemo?: CertmintClients;

  constructor(
    readonly args: Args,
    readonly output: OutputFormat,
    readonly env: NodeJS.ProcessEnv,
    private readonly stdout: (text: string) => void,
    private readonly stderr: (text: string) => void,
  ) {}

  /** Resolved on first use, so --help and usage errors never read token files. */
  get settings(): ConnectionSettings {
    this.settingsMemo ??= resolveConnection(this.args, this.env);
    return this.settingsMemo;
  }

  get clients(): CertmintClients {
    this.clientsMemo ??= makeClients(this.settings);
    return this.clientsMemo;
  }

  /** A unary call with the invocation's deadline. */
  rpc<C extends object, M extends keyof C>(
    client: C,
    method: M,
    request: ReqOf<C[M]>,
  ): Promise<ResOf<C[M]>> {
    return unary(client, method, request, this.settings.deadlineMs);
  }

  /** Results, on stdout. */
  print(text: string): void {
    this.stdout(text);
  }

  /** Notes for the person at the terminal (files written, what to do next), on stderr. */
  note(text: string): void {
    this.stderr(text.endsWith("\n") ? text : `${text}\n`);
  }

  close(): void {
    if (this.clientsMemo) closeClients(this.clientsMemo);
  }
}
