import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const CUCUMBER = `node ${JSON.stringify(path.join(REPO, "node_modules/@cucumber/cucumber/bin/cucumber.js"))}`;

const created: string[] = [];

/** A throwaway project directory with the given files. */
export async function makeProject(
  files: Record<string, string>,
  options: { cucumber?: boolean } = {},
): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "trellis-criteria-"));
  created.push(dir);
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(dir, rel);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
  if (options.cucumber) {
    // Step definitions import @cucumber/cucumber; resolve it to the same copy the runner uses.
    await mkdir(path.join(dir, "node_modules/@cucumber"), { recursive: true });
    await symlink(
      path.join(REPO, "node_modules/@cucumber/cucumber"),
      path.join(dir, "node_modules/@cucumber/cucumber"),
    );
  }
  return dir;
}

export async function removeProjects(): Promise<void> {
  await Promise.all(created.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}
