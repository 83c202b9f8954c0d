/**
 * Stop-50 outside probe DATA: README "Upgrading" on PostgreSQL, from two earlier builds of this
 * repository (upgrade-scenario.ts): 7aa29ba (2026-12-02, 11 migrations, before the CRL entries,
 * lineage, blocked-key and KEK-id migrations rewrote rows) and the one before 16da0a8
 * (2026-12-06, sealed keys of format version 1, before the KEK id guard).
 */
import { describeUpgrade } from "./upgrade-scenario";

describeUpgrade("7aa29ba", "2026-12-02, before CRL entries and lineage", "PostgreSQL");
describeUpgrade("16da0a8^", "2026-12-06, sealed keys of format 1", "PostgreSQL");
