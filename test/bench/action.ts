/**
 * `npm run bench:action`: the Action's own overhead — from starting `node action/dist/index.js` to the
 * moment it spawns the agent (a stand-in CLI that records the time), excluding the CLI's install.
 * Also a `node -e ""` baseline from the same run, and the size of action/dist. Target: < 1 s.
 */
import { execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
const DIST = join(ROOT, "action", "dist");
const RUNS = Number(process.env["BENCH_RUNS"] ?? 9);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

function git(cwd: string, ...args: string[]): void {
  execFileSync("git", args, {
    cwd,
    stdio: "ignore",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "b",
      GIT_AUTHOR_EMAIL: "b@x",
      GIT_COMMITTER_NAME: "b",
      GIT_COMMITTER_EMAIL: "b@x",
    },
  });
}

function dirSize(dir: string): number {
  return readdirSync(dir).reduce((n, f) => {
    const p = join(dir, f);
    const st = statSync(p);
    return n + (st.isDirectory() ? dirSize(p) : st.size);
  }, 0);
}

function timeProcess(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ start: number; end: number; code: number | null; stdout: string }> {
  return new Promise((done, fail) => {
    const start = performance.timeOrigin + performance.now();
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "ignore"] });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.on("error", fail);
    child.on("close", (code) =>
      done({ start, end: performance.timeOrigin + performance.now(), code, stdout }),
    );
  });
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), "trellis-bench-"));
  // A workspace with a local bare origin.
  const origin = join(tmp, "origin.git");
  const seed = join(tmp, "seed");
  const work = join(tmp, "work");
  git(tmp, "init", "-q", "--bare", "--initial-branch=main", origin);
  git(tmp, "init", "-q", "--initial-branch=main", seed);
  writeFileSync(join(seed, "README.md"), "# bench\n");
  git(seed, "add", "-A");
  git(seed, "commit", "-q", "-m", "init");
  git(seed, "push", "-q", origin, "main");
  git(tmp, "clone", "-q", origin, work);
  // The stand-in agent: a shell script (≈1 ms to start) that records when it was spawned.
  const stamp = join(tmp, "spawned-at");
  const cli = join(tmp, "claude");
  writeFileSync(
    cli,
    `#!/bin/sh\ndate +%s%3N > "${stamp}"\necho '{"type":"result","subtype":"success","is_error":false,"num_turns":1,"total_cost_usd":0,"result":"ok"}'\n`,
  );
  chmodSync(cli, 0o755);
  // GitHub's API, locally.
  const api = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(
      req.url?.includes("/comments")
        ? "[]"
        : JSON.stringify({ number: 1, title: "Bench", body: "b", user: { login: "u" } }),
    );
  });
  await new Promise<void>((r) => api.listen(0, "127.0.0.1", r));
  const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  const spec = {
    attemptId: "att_bench00000001",
    runId: "r",
    repo: { owner: "acme", name: "bench" },
    issue: 1,
    // The stage's criteria run after the agent, so they do not count here.
    workflow: "feature",
    stage: "dev",
    profile: "dev",
    attempt: 1,
    branch: "trellis/1-bench",
    baseRef: "main",
    costCapUsd: 1,
    timeoutMinutes: 10,
  };
  const overhead: number[] = [];
  const baseline: number[] = [];
  const phases: string[] = [];
  for (let i = 0; i < RUNS; i++) {
    const runner = join(tmp, `runner-${i}`);
    mkdirSync(runner);
    writeFileSync(join(runner, "out"), "");
    writeFileSync(join(runner, "summary"), "");
    const env: NodeJS.ProcessEnv = {
      PATH: process.env["PATH"],
      HOME: runner,
      INPUT_SPEC: JSON.stringify(spec),
      INPUT_ATTEMPT_ID: spec.attemptId,
      INPUT_ISSUE: "1",
      INPUT_STAGE: "dev",
      INPUT_PROFILE: "dev",
      INPUT_GITHUB_TOKEN: "ghs_bench",
      INPUT_ANTHROPIC_API_KEY: "test",
      GITHUB_API_URL: apiUrl,
      GITHUB_WORKSPACE: work,
      GITHUB_OUTPUT: join(runner, "out"),
      GITHUB_STEP_SUMMARY: join(runner, "summary"),
      RUNNER_TEMP: runner,
      CLAUDE_PATH: cli,
    };
    rmSync(stamp, { force: true });
    const run = await timeProcess(process.execPath, [join(DIST, "index.js")], env);
    if (!existsSync(stamp)) {
      const result = readFileSync(join(runner, "trellis", "result.json"), "utf8");
      throw new Error(`bench run ${i} never spawned the agent; result: ${result}`);
    }
    const spawned = Number(readFileSync(stamp, "utf8").trim());
    overhead.push(spawned - run.start);
    const entered = /run\(\) entered (\d+) ms/.exec(run.stdout)?.[1];
    phases.push(
      `run() entered ${entered ?? "?"}; ` +
        [...run.stdout.matchAll(/trellis phase (.+?) \+(\d+) ms/g)].map((m) => `${m[1]} ${m[2]}`).join(", ") +
        `, agent spawned ${Math.round(spawned - run.start)} ms after process start`,
    );
    const base = await timeProcess(process.execPath, ["-e", ""], { PATH: process.env["PATH"] });
    baseline.push(base.end - base.start);
  }
  api.close();
  const m = median(overhead);
  const b = median(baseline);
  const size = dirSize(DIST);
  console.log(`Action overhead (process start → agent spawned), ${RUNS} runs`);
  console.log(
    `  median ${m.toFixed(0)} ms   min ${Math.min(...overhead).toFixed(0)} ms   max ${Math.max(...overhead).toFixed(0)} ms`,
  );
  console.log(`  baseline \`node -e ""\`: median ${b.toFixed(0)} ms   ratio ${(m / b).toFixed(1)}×`);
  console.log(
    `  phases of the median run (ms since run() began): ${phases[overhead.indexOf(median(overhead))] ?? phases[0]}`,
  );
  console.log(`  target < 1000 ms: ${m < 1000 ? "met" : "NOT met"}`);
  console.log(`action/dist: ${(size / 1024).toFixed(0)} KiB (${size} bytes)`);
}

await main();
