/**
 * Starts and stops the whole offline sandbox: the GitHub stand-in on 127.0.0.1 backed by real bare git repositories,
 * the real Trellis App in a real Probot server on 127.0.0.1 (pointed at the stand-in by its base URL) with the
 * default store (embedded PGlite in a temporary data directory), the scripted Messages API, and the runner that
 * executes dispatched workflows with the real Action. Humans are played through the stand-in's mutations.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Probot, ProbotOctokit, Server } from "probot";
import { trellis, type TrellisApp } from "../../src/index.js";
import { createLogger } from "../../src/logger.js";
import { openDb } from "../../src/store/db.js";
import { startFakeAnthropic, type FakeAnthropic, type Turn } from "./fake-anthropic.js";
import {
  addComment,
  addLabels,
  createGitHubServer,
  createGitHubState,
  createIssue,
  createRepoOnDisk,
  fullName,
  getRepo,
  installApp,
  mergePullRequest,
  type GitHubServer,
  type GitHubServerOptions,
  type GitHubState,
  type Issue,
  type MergeDeliveryOrder,
  type RepoSeed,
  type Repository,
  type RequestLogEntry,
  type Chaos,
  type Role,
  type Actions,
  startActions,
} from "./github/index.js";
import { ciRunner } from "./ci-runner.js";
import { createRunner, type Job, type Runner } from "./runner.js";
import { repoFiles, scriptedAgent } from "./scenario.js";

export const ACTIONS_TOKEN = "ghs_sandboxWorkflowToken0000000000000000";
export const ORG = "octo-org";

export interface SandboxRepo {
  name: string;
  files?: Record<string, string>;
  collaborators?: Record<string, Role>;
}

export interface SandboxOptions {
  /** Repositories of the organisation `octo-org` (default: one, `tiny-shop`, seeded by scenario.ts). */
  repos?: SandboxRepo[];
  /** The agents' behaviour (default: scenario.ts `scriptedAgent`). */
  agent?: Turn;
  /** Install the App on every repository at start (default true). */
  install?: boolean;
  /** Also write every request made to the stand-in here, one JSON object per line. */
  recordFile?: string;
  /** The App's log level (default "warn"); the log goes to `<dir>/app.log`. */
  logLevel?: string;
  onJob?: (job: Job) => void;
  /** Remove the temporary directory on stop (default true). */
  cleanup?: boolean;
  /** GitHub on a bad day: API faults, duplicated and reordered deliveries (github/chaos.ts). */
  chaos?: Chaos;
}

export interface RecordedRequest extends RequestLogEntry {
  at: number;
}

export interface Sandbox {
  dir: string;
  state: GitHubState;
  github: GitHubServer;
  app: TrellisApp;
  appUrl: string;
  anthropic: FakeAnthropic;
  runner: Runner;
  /** GitHub Actions' push and pull_request runs (the repository's own CI, github/ci.ts). */
  actions: Actions;
  requests: RecordedRequest[];
  repo(name?: string): Repository;
  /** What a person does on GitHub (each one sends its webhook). */
  human: {
    openIssue(input: { title: string; body?: string; labels?: string[]; by?: string; repo?: string }): Issue;
    label(issue: number, name: string, by?: string, repo?: string): void;
    comment(issue: number, body: string, by?: string, repo?: string): void;
    /** Merges a PR; `order` says which of its deliveries leaves first (default: the stand-in's setting). */
    merge(pr: number, by?: string, repo?: string, order?: MergeDeliveryOrder): Promise<string>;
    rerun(checkRunId: number, by?: string): void;
  };
  /** Polls `check` until it returns a truthy value; fails with `what` after `timeoutMs`. */
  waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs?: number): Promise<T>;
  /** Writes the stand-in's state as JSON (for inspection) and returns the path. */
  dumpState(file?: string): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      const port = typeof address === "object" && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), "trellis-sandbox-"));
  const closers: (() => Promise<unknown> | unknown)[] = [];
  const stop = async (): Promise<void> => {
    for (const close of closers.reverse()) await Promise.resolve(close()).catch(() => undefined);
    closers.length = 0;
    if (options.cleanup !== false) await rm(dir, { recursive: true, force: true });
  };
  try {
    // Opening the embedded database and loading GitHub's API descriptions both take seconds: overlap them.
    const dbReady = openDb({ dataDir: join(dir, "db") });
    dbReady.catch(() => undefined);
    const anthropic = await startFakeAnthropic({ script: [], afterScript: options.agent ?? scriptedAgent });
    closers.push(() => anthropic.close());

    const specs = options.repos ?? [{ name: "tiny-shop" }];
    const repoDirs = new Map<string, string>();
    const seeds: RepoSeed[] = [];
    for (const spec of specs) {
      const repoDir = join(dir, "repos", ORG, `${spec.name}.git`);
      const backend = await createRepoOnDisk(repoDir, { files: spec.files ?? repoFiles() });
      repoDirs.set(`${ORG}/${spec.name}`.toLowerCase(), repoDir);
      seeds.push({
        owner: ORG,
        name: spec.name,
        backend,
        collaborators: spec.collaborators ?? { octocat: "admin", monalisa: "write", mallory: "read" },
        workflows: [
          {
            path: ".github/workflows/trellis-agent.yml",
            name: "Trellis agent",
            runName: "Trellis ${{ inputs.stage }} #${{ inputs.issue }} [trellis:${{ inputs.attempt_id }}]",
          },
        ],
      });
    }
    const state = createGitHubState({
      users: [{ login: ORG, type: "Organization" }, "octocat", "monalisa", "mallory"],
      repos: seeds,
      installations: [],
      // The agent workflow's GITHUB_TOKEN: `permissions: contents: read`, so it clones but cannot push.
      userTokens: { [ACTIONS_TOKEN]: { login: "github-actions[bot]", contents: "read" } },
    });

    const requests: RecordedRequest[] = [];
    let record: WriteStream | undefined;
    if (options.recordFile) {
      const stream = createWriteStream(options.recordFile);
      record = stream;
      closers.push(() => new Promise<void>((r) => stream.end(() => r())));
    }
    const secret = randomBytes(16).toString("hex");
    // The webhook URL is known once the App listens; the stand-in reads it at each delivery.
    const githubOptions: GitHubServerOptions = {
      ...(options.chaos ? { chaos: options.chaos } : {}),
      onRequest: (entry) => {
        requests.push({ ...entry, at: Date.now() });
        record?.write(
          `${JSON.stringify({ method: entry.method, url: entry.url, body: entry.body ?? null, status: entry.status, by: entry.by })}\n`,
        );
      },
    };
    const github = await createGitHubServer(state, githubOptions);
    closers.push(() => github.close());

    // The real App in a real Probot server: only configuration points it at the stand-in.
    const { privateKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs1", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const logStream = createWriteStream(join(dir, "app.log"));
    closers.push(() => new Promise<void>((r) => logStream.end(() => r())));
    const log = createLogger({ level: options.logLevel ?? "warn", destination: logStream });
    const port = await freePort();
    const server = new Server({
      Probot: Probot.defaults({
        appId: state.app.id,
        privateKey,
        secret,
        baseUrl: github.apiUrl,
        log,
        Octokit: ProbotOctokit,
      }),
      host: "127.0.0.1",
      port,
      log,
      enablePing: false,
      enableStaticFiles: false,
    });
    const db = await dbReady;
    closers.push(() => db.close());
    const fn = trellis({ db, workerOptions: { idleMs: 500 } });
    await server.load(fn);
    await server.start();
    closers.push(() => server.stop());
    const app = await fn.ready;
    closers.push(() => app.close());
    const appUrl = `http://127.0.0.1:${port}`;
    githubOptions.webhook = { url: `${appUrl}/api/github/webhooks`, secret };

    const repoDir = (repo: Repository): string => repoDirs.get(fullName(repo).toLowerCase()) ?? "";
    // The repository's own CI runs on pushes and pull requests, except those made with the workflow's token.
    const actions = startActions(state, { execute: ciRunner({ repoDir, dir }) });
    closers.push(async () => {
      actions.stop();
      await actions.idle();
    });
    // The job clones over HTTP with the workflow's GITHUB_TOKEN (read-only: a push with it is refused, github/git-http.ts);
    // the runner removes it from the clone's configuration, as actions/checkout does with persist-credentials: false.
    const cloneUrl = (repo: Repository): string =>
      `${state.htmlBase.replace("://", `://x-access-token:${ACTIONS_TOKEN}@`)}/${fullName(repo)}.git`;
    const runner = createRunner({
      github,
      repoDir: cloneUrl,
      anthropicUrl: anthropic.url,
      token: ACTIONS_TOKEN,
      dir,
      ...(options.onJob ? { onJob: options.onJob } : {}),
    });
    // Stop dispatching first, then let running jobs finish before the servers go away.
    closers.push(async () => {
      runner.stop();
      await runner.idle();
    });

    const repo = (name = specs[0]!.name): Repository => {
      const r = getRepo(state, ORG, name);
      if (!r) throw new Error(`no sandbox repository ${ORG}/${name}`);
      return r;
    };
    const issueOf = (number: number, name?: string): Issue => {
      const issue = repo(name).issues.get(number);
      if (!issue) throw new Error(`no issue #${number} in ${fullName(repo(name))}`);
      return issue;
    };

    if (options.install !== false)
      installApp(
        state,
        ORG,
        specs.map((s) => repo(s.name)),
        "octocat",
      );

    const sandbox: Sandbox = {
      dir,
      state,
      github,
      app,
      appUrl,
      anthropic,
      runner,
      actions,
      requests,
      repo,
      human: {
        openIssue: (input) =>
          createIssue(state, repo(input.repo), {
            title: input.title,
            body: input.body ?? "",
            labels: input.labels ?? [],
            user: input.by ?? "octocat",
          }),
        label: (issue, name, by = "octocat", r) => addLabels(state, repo(r), issueOf(issue, r), [name], by),
        comment: (issue, body, by = "octocat", r) => {
          addComment(state, repo(r), issueOf(issue, r), body, by);
        },
        merge: (pr, by = "octocat", r, order) =>
          mergePullRequest(state, repo(r), issueOf(pr, r), by, undefined, order),
        rerun: (checkRunId, by = "octocat") => github.rerequestCheckRun(checkRunId, by),
      },
      async waitFor(what, check, timeoutMs = 60_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const value = check();
          if (value) return value;
          if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      },
      async dumpState(file = join(dir, "github-state.json")) {
        await writeFile(file, JSON.stringify(stateSnapshot(state), null, 2));
        return file;
      },
      stop,
    };
    return sandbox;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The stand-in's state as plain JSON (Maps as objects, no functions or git internals). */
export function stateSnapshot(state: GitHubState): unknown {
  const plain = (value: unknown): unknown => {
    if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), plain(v)]));
    if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
    if (Array.isArray(value)) return value.map(plain);
    if (value && typeof value === "object")
      return Object.fromEntries(
        Object.entries(value)
          .filter(([k, v]) => typeof v !== "function" && k !== "backend")
          .map(([k, v]) => [k, plain(v)]),
      );
    return value;
  };
  return {
    app: state.app,
    users: plain(state.users),
    installations: plain(state.installations),
    repos: [...state.repos.values()].map((r) => plain(r)),
    projects: plain(state.projects),
  };
}
