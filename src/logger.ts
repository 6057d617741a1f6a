/** The one logger: pino, with every place a secret could sit redacted before anything is written. */
import { pino, type Logger } from "pino";
import { scrubSecrets } from "./core/secrets.js";

export const REDACT_PATHS = [
  "token",
  "*.token",
  "password",
  "*.password",
  "secret",
  "*.secret",
  "privateKey",
  "*.privateKey",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
  "request.headers.authorization",
  "*.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-hub-signature"]',
  'req.headers["x-hub-signature-256"]',
  "env.PRIVATE_KEY",
  "env.WEBHOOK_SECRET",
  "env.ANTHROPIC_API_KEY",
  "env.GITHUB_TOKEN",
  "env.DATABASE_URL",
  "databaseUrl",
];

/** Strings that look like credentials are masked even where they hide inside messages (one scrubber, in the core). */
export { scrubSecrets };

export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? "info",
      redact: { paths: REDACT_PATHS, censor: "[REDACTED]" },
      // Scrub the finished line: cheaper than walking objects, and safe with circular ones (requests).
      hooks: { streamWrite: scrubSecrets },
    },
    options.destination,
  );
}
