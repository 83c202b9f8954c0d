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
 * and the cursor last, so a watcher killed mid-way receives the event again. A certificate
 * that key.pem does not match, delivered without its key, is never written (writeCertificate).
 * The directory must be one only this user (or root) can replace anything in (trusted-path.ts):
 * until 2026-12-05 (probe39 F6) a symbolic link or a directory another user planted in /tmp was
 * followed, and the four files replaced wherever it pointed.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Certificate } from "../../gen/ts/certmint/v1/certificate_service";
import { CliError } from "./command";
import { writeFileAtomically } from "./files";
import { makePrivateDirectory } from "./trusted-path";
import { joinPem } from "./views/print";

const REPLACE = { secret: false, force: true } as const;

export class LineageFiles {
  readonly certificate: string;
  readonly chain: string;
  readonly key: string;
  private readonly cursorFile: string;

  constructor(readonly dir: string) {
    makePrivateDirectory(dir, "--out-dir");
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
   * Writes a delivered certificate (and its key, when the event carries one). A certificate that
   * comes without a key while the key.pem in place is not its key is not written, and the watch
   * stops with an error (CliError): the key went to another token (renewed with a new key by an
   * admin, or by a peer on a profile with shared renewal) or certmint no longer holds it, and a
   * cert.pem that key.pem does not match would take down the TLS server that reloads them.
   * Until 2026-12-05 (third stop) it was written, with a warning.
   */
  writeCertificate(cert: Certificate, privateKeyPem: string): void {
    if (!privateKeyPem && existsSync(this.key) && !this.keyMatches(cert.certificatePem)) {
      throw new CliError(
        `certificate ${cert.serialNumber} (${cert.id}) is not for the key in ${this.key}, and this ` +
          "watch did not receive its key: another token renewed it with a new key (that token " +
          "holds the key), or certmint no longer holds it. cert.pem and key.pem are left as they " +
          "were, still a matching pair; renew the certificate with this token " +
          "(certmint cert renew) to get a certificate and key again",
      );
    }
    if (privateKeyPem) writeFileAtomically(this.key, privateKeyPem, { secret: true, force: true });
    writeFileAtomically(this.chain, joinPem(cert.certificateChainPem), REPLACE);
    writeFileAtomically(this.certificate, joinPem([cert.certificatePem]), REPLACE);
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
