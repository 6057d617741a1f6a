/** The store's public API: open a database, then use the repository functions with it or a transaction. */
export * from "./db.js";
export * from "./migrate.js";
export * from "./inbox.js";
export * from "./locks.js";
export * from "./outbox.js";
export * from "./backoff.js";
