/**
 * cert watch --out-dir: the newest certificate of a lineage kept on disk, as a sidecar keeps the
 * files a TLS server reads. Each certificate the watch delivers replaces
 *   cert.pem   the certificate
 *   chain.pem  its chain, nearest CA first, ending with the root
 *   key.pem    the private key (PKCS #8, mode 0600), only when the event carries one (certmint
 *              generated it and this token owns the certificate)
 * and every event's cursor replaces `cursor`, so a restarted watcher resumes where it stopped.
 * Each file is replaced atomically (written aside, renamed over), so a reader never sees half a
 * file; the key first, so a reader that sees the new certificate finds its key already there,
 * and the cursor last, so a watcher killed mid-way receives the event again.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Certificate } from "../../gen/ts/certmint/v1/certificate_service";
import { CliError } from "./command";
import { writeFileAtomically } from "./files";
import { joinPem } from "./views/print";

const REPLACE = { secret: false, force: true } as const;

export class LineageFiles {
  readonly certificate: string;
  readonly chain: string;
  readonly key: string;
  private readonly cursorFile: string;

  constructor(readonly dir: string) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new CliError(`--out-dir: cannot create ${dir}: ${(err as NodeJS.ErrnoException).code}`);
    }
    this.certificate = join(dir, "cert.pem");
    this.chain = join(dir, "chain.pem");
    this.key = join(dir, "key.pem");
    this.cursorFile = join(dir, "cursor");
  }

  /** The cursor a previous run saved, or "" (none: the watch starts from now). */
  savedCursor(): string {
    if (!existsSync(this.cursorFile)) return "";
    return readFileSync(this.cursorFile, "utf8").trim();
  }

  /**
   * Writes a delivered certificate (and its key, when the event carries one). Returns a warning
   * when the key.pem left in place does not belong to the new certificate: the key went to
   * another token, or certmint no longer holds it.
   */
  writeCertificate(cert: Certificate, privateKeyPem: string): string | undefined {
    if (privateKeyPem) writeFileAtomically(this.key, privateKeyPem, { secret: true, force: true });
    writeFileAtomically(this.chain, joinPem(cert.certificateChainPem), REPLACE);
    writeFileAtomically(this.certificate, joinPem([cert.certificatePem]), REPLACE);
    if (privateKeyPem || !existsSync(this.key)) return undefined;
    return this.keyMatches(cert.certificatePem)
      ? undefined
      : `${this.key} is not the key of certificate ${cert.serialNumber}: this watch did not receive its key`;
  }

  saveCursor(cursor: string): void {
    writeFileAtomically(this.cursorFile, `${cursor}\n`, REPLACE);
  }

  private keyMatches(certificatePem: string): boolean {
    try {
      const key = createPrivateKey(readFileSync(this.key, "utf8"));
      return new X509Certificate(certificatePem).checkPrivateKey(key);
    } catch {
      return false;
    }
  }
}
