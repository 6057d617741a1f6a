// Entry point of the companion Action: only wiring, the pipeline lives in run.ts.
import { run } from "./run.js";

// run() reports its own failures; this only catches a failure to report one.
run().catch((error: unknown) => {
  console.error(`::error::Trellis crashed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
});
