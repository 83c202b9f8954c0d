/**
 * Stop-50 outside probe DATA: README "Upgrading" on the embedded database (the `make run`
 * default): the data directory build 7aa29ba (2026-12-02) made and filled, then the current
 * server and a KEK rotation on it (upgrade-scenario.ts).
 */
import { describeUpgrade } from "./upgrade-scenario";

describeUpgrade("7aa29ba", "2026-12-02, before CRL entries and lineage", "embedded");
