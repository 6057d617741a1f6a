/**
 * `npm start`: the Trellis App as a Probot server. With APP_ID, PRIVATE_KEY and WEBHOOK_SECRET in the
 * environment (or .env) it serves webhooks; without them Probot walks you through creating the App
 * from app.yml. WEBHOOK_PROXY_URL (a smee.io channel) forwards webhooks to a local machine.
 */
import { run } from "probot";
import { trellis } from "./index.js";
import { createLogger } from "./logger.js";

await run(trellis(), { log: createLogger() });
