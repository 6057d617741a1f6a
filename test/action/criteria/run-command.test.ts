import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCommand, tail } from "../../../action/src/criteria/run-command.js";
import { makeProject, removeProjects } from "./project.js";

afterAll(removeProjects);

/** Running, not merely an unreaped zombie (PID 1 in containers may never reap orphans). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return true;
  }
}

describe("runCommand", () => {
  it("captures stdout and stderr of a shell command in cwd with extra env", async () => {
    const cwd = await makeProject({ "a.txt": "hello" });
    const r = await runCommand('cat a.txt; echo " $GREETING"; echo oops >&2; exit 3', {
      cwd,
      env: { GREETING: "world" },
      timeoutMs: 10_000,
    });
    expect(r.exitCode).toBe(3);
    expect(r.output).toContain("hello world");
    expect(r.output).toContain("oops");
    expect(r.timedOut).toBe(false);
    expect(r.error).toBeUndefined();
  });

  it("keeps only the tail of long output", async () => {
    const cwd = await makeProject({});
    const r = await runCommand(`node -e "for (let i = 0; i < 20000; i++) console.log('line ' + i)"`, {
      cwd,
      timeoutMs: 10_000,
      maxOutput: 1000,
    });
    expect(r.exitCode).toBe(0);
    expect(r.truncated).toBe(true);
    expect(r.output.length).toBeLessThanOrEqual(1000);
    expect(tail(r.output, 1)).toBe("line 19999");
  });

  it("kills the whole process tree on timeout", async () => {
    const cwd = await makeProject({});
    const started = Date.now();
    const r = await runCommand(`node -e "setInterval(() => {}, 1000)" & echo $! > child.pid; wait`, {
      cwd,
      timeoutMs: 700,
    });
    expect(r.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    const pid = Number(await readFile(path.join(cwd, "child.pid"), "utf8"));
    await new Promise((res) => setTimeout(res, 200));
    expect(alive(pid)).toBe(false);
  });

  it("reports a command that cannot start instead of throwing", async () => {
    const r = await runCommand("echo hi", { cwd: "/nonexistent/trellis/dir", timeoutMs: 5000 });
    expect(r.exitCode).toBeUndefined();
    expect(r.error).toMatch(/ENOENT|nonexistent/);
  });
});
