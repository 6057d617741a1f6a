/** The worker's housekeeping: finished records past their retention are deleted, so no table grows forever. */
import type { Retention } from "../core/server-config.js";
import { pruneAudit } from "./audit.js";
import type { Db } from "./db.js";
import { pruneInbox } from "./inbox.js";
import { pruneOutbox } from "./outbox.js";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface Pruned {
  inbox: number;
  outbox: number;
  audit: number;
}

/** Deletes what is older than its retention (0 keeps that table's rows forever); the counts deleted. */
export async function pruneExpired(db: Db, retention: Retention): Promise<Pruned> {
  const keep = async (days: number, prune: (db: Db, olderThanMs: number) => Promise<number>) =>
    days > 0 ? prune(db, days * DAY_MS) : 0;
  return {
    inbox: await keep(retention.inboxDays, pruneInbox),
    outbox: await keep(retention.outboxDays, pruneOutbox),
    audit: await keep(retention.auditDays, pruneAudit),
  };
}
