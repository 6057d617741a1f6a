/** The store's public API: open a database, then use the repository functions with it or a transaction. */
export * from "./db.js";
export * from "./migrate.js";
export * from "./inbox.js";
export * from "./locks.js";
export * from "./outbox.js";
export * from "./backoff.js";
export * from "./runs.js";
export * from "./attempts.js";
export * from "./batches.js";
export * from "./costs.js";
export * from "./audit.js";
export * from "./installations.js";
export * from "./metrics.js";
export * from "./retention.js";
export * from "./reconcile.js";
