import type { PageQuery } from "./paging";

/** One mutating call: who, what, which resource, outcome, when. */
export interface AuditRecord {
  id: string;
  createdAt: Date;
  actorId: string | null;
  actorSlug: string;
  /** Full RPC name, e.g. "/certmint.v1.CertificateService/IssueCertificate". */
  method: string;
  resourceType: string;
  resourceId: string;
  /** google.rpc.Code; 0 for success. */
  statusCode: number;
  errorReason: string;
  /** The call's x-request-id (AuditRecord.request_id in the API). */
  traceId: string;
  peer: string;
}

/** ListAuditRecords' filters, resolved (an actor slug to its token's id where one exists). */
export interface AuditFilter {
  actorId?: string;
  /** A slug no token has now: records keep the slug they were written with. */
  actorSlug?: string;
  method?: string;
  resourceType?: string;
  resourceId?: string;
  startTime?: Date;
  endTime?: Date;
  failuresOnly: boolean;
}

export interface AuditRepository {
  insert(record: AuditRecord): Promise<void>;
  /** Whether a record (written in a transaction that may have rolled back) exists. */
  exists(id: string): Promise<boolean>;
  /** Newest first by (created_at, id); `after` is the last row of the previous page. */
  listNewestFirst(filter: AuditFilter, page: PageQuery): Promise<AuditRecord[]>;
  /**
   * The id of the one object of `type` with this slug (a certificate: this serial, stored form);
   * undefined when none, or (serials) more than one, has it.
   */
  resourceIdOf(type: string, key: string): Promise<string | undefined>;
}
