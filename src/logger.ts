/** The one logger: pino, with every place a secret could sit redacted before anything is written. */
import { pino, type Logger } from "pino";

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

/** Strings that look like credentials are masked even where they hide inside messages. */
const SECRET_PATTERNS: [RegExp, string][] = [
  [/gh[pousr]_[A-Za-z0-9]{20,}/g, "[REDACTED]"],
  [/github_pat_[A-Za-z0-9_]{20,}/g, "[REDACTED]"],
  [/sk-ant-[A-Za-z0-9_-]{10,}/g, "[REDACTED]"],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, "[REDACTED]"],
  [/(postgres(?:ql)?:\/\/[^:/\s]+:)[^@\s]+@/g, "$1[REDACTED]@"],
  [/(\bBearer\s+)[A-Za-z0-9._-]{12,}/gi, "$1[REDACTED]"],
];

export function scrubSecrets(text: string): string {
  return SECRET_PATTERNS.reduce((t, [re, replacement]) => t.replace(re, replacement), text);
}

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
