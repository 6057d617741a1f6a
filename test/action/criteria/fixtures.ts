import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../fixtures/criteria");

export function fixture(rel: string): string {
  return readFileSync(path.join(FIXTURES, rel), "utf8");
}
