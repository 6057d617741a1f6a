/**
 * One process at a time on an embedded database's data directory: two PGlite instances writing the same files
 * corrupt it. The process that opens the directory creates `<dataDir>.lock` exclusively (`open(…, "wx")`) with its
 * pid, and removes it when it closes the database. A lock whose process is gone (a crash, SIGKILL) is taken over.
 *
 * On Linux the lock also records when its process started (/proc/<pid>/stat): in a container restarted on the same
 * volume, pids repeat, and a live process that merely has the old pid must not pass for the holder.
 */
import { readFileSync } from "node:fs";
import { open, readFile, rm } from "node:fs/promises";
import { resolve } from "node:path";

export interface DataDirLock {
  readonly path: string;
  release(): Promise<void>;
}

/** The locks this process holds: a pid equal to ours in a lock we do not hold is a previous life's (a restart). */
const held = new Set<string>();

/** An empty lock file may be one being written: how long it may stay empty before it counts as abandoned. */
const UNWRITTEN_GRACE_MS = 1_000;

export const lockPathOf = (dataDir: string): string => `${resolve(dataDir)}.lock`;

/** Whether a process with this pid exists (EPERM: it does, and belongs to someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** When a process started, in clock ticks since boot (Linux); undefined elsewhere or when it is gone. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 22; the fields counted from the one after the command name, which may itself hold spaces.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

interface Holder {
  pid: number;
  startTime?: string;
}

async function holderOf(path: string): Promise<Holder | undefined> {
  const [first = "", second = ""] = (await readFile(path, "utf8").catch(() => "")).split("\n");
  const pid = Number(first.trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return { pid, ...(second.trim() ? { startTime: second.trim() } : {}) };
}

/** Whether the lock's process is still the one running under its pid. */
function holds(holder: Holder): boolean {
  if (!processAlive(holder.pid)) return false;
  const now = startTimeOf(holder.pid);
  return holder.startTime === undefined || now === undefined || now === holder.startTime;
}

/** Takes the data directory's lock, or throws a clear error naming the process that holds it. */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const path = lockPathOf(dataDir);
  let emptySince: number | undefined;
  for (;;) {
    try {
      const file = await open(path, "wx");
      try {
        await file.writeFile(`${process.pid}\n${startTimeOf(process.pid) ?? ""}\n`);
      } finally {
        await file.close();
      }
      held.add(path);
      return {
        path,
        async release() {
          held.delete(path);
          // Only our own lock: one taken over meanwhile (we were thought dead) belongs to its new holder.
          if ((await holderOf(path))?.pid === process.pid) await rm(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = await holderOf(path);
    if (holder === undefined) {
      // Created but not written yet, or left empty by a crash between the two.
      emptySince ??= Date.now();
      if (Date.now() - emptySince < UNWRITTEN_GRACE_MS) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
    } else if (holds(holder) && (holder.pid !== process.pid || held.has(path))) {
      throw new Error(
        `The embedded database ${dataDir} is in use by process ${holder.pid}; stop it or set DATABASE_URL ` +
          `(its lock: ${path}).`,
      );
    }
    // Stale: its process is gone. Take it over.
    await rm(path, { force: true });
    emptySince = undefined;
  }
}
