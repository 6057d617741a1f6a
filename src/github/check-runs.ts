import type { CheckRunConclusion } from "../core/model.js";
import type { Annotation } from "../core/result.js";
import type { RepoRef } from "../core/repo.js";
import type { GitHub } from "./client.js";
import { cutText, idOf, outgoingText, repoParams, statusOf } from "./client.js";

/**
 * GitHub accepts at most 50 annotations per create/update request; the rest go in further updates, which append
 * (REST docs, "Create a check run": "a maximum of 50 per API request", https://docs.github.com/rest/checks/runs).
 */
export const ANNOTATIONS_PER_REQUEST = 50;
/** GitHub's cap for a check run's output summary and text ("Maximum length: 65535 characters", same page). */
export const MAX_OUTPUT_CHARS = 65_535;

export const checkRunName = (stage: string): string => `Trellis / ${stage}`;

export interface CheckRunOutput {
  title: string;
  summary: string;
  text?: string;
  annotations?: Annotation[];
}

export interface CheckRunFields {
  status?: "queued" | "in_progress" | "completed";
  conclusion?: CheckRunConclusion;
  detailsUrl?: string;
  output?: CheckRunOutput;
}

export interface NewCheckRun extends CheckRunFields {
  name: string;
  headSha: string;
  /** The stable key (run + stage) that finds this check run again after a crash. */
  externalId: string;
}

export interface CheckRunRef {
  id: number;
  htmlUrl?: string;
  status?: string;
  conclusion?: string | null;
}

export async function createCheckRun(octokit: GitHub, repo: RepoRef, run: NewCheckRun): Promise<CheckRunRef> {
  const [first, ...rest] = annotationChunks(run.output);
  const { data } = await octokit.request("POST /repos/{owner}/{repo}/check-runs", {
    ...repoParams(repo),
    name: run.name,
    head_sha: run.headSha,
    external_id: run.externalId,
    ...fields(run),
    ...(run.output ? { output: outputWith(run.output, first) } : {}),
  });
  await appendAnnotations(octokit, repo, idOf(data.id), run.output, rest);
  return {
    id: idOf(data.id),
    htmlUrl: data.html_url ?? undefined,
    status: data.status,
    conclusion: data.conclusion,
  };
}

export async function updateCheckRun(
  octokit: GitHub,
  repo: RepoRef,
  checkRunId: number,
  update: CheckRunFields,
): Promise<CheckRunRef> {
  const [first, ...rest] = annotationChunks(update.output);
  const { data } = await octokit.request("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", {
    ...repoParams(repo),
    check_run_id: checkRunId,
    ...fields(update),
    ...(update.output ? { output: outputWith(update.output, first) } : {}),
  });
  await appendAnnotations(octokit, repo, checkRunId, update.output, rest);
  return {
    id: idOf(data.id),
    htmlUrl: data.html_url ?? undefined,
    status: data.status,
    conclusion: data.conclusion,
  };
}

/** Our check run for `externalId` on `ref` (a sha or branch), if one was already created. */
export async function findCheckRun(
  octokit: GitHub,
  repo: RepoRef,
  ref: string,
  name: string,
  externalId: string,
): Promise<CheckRunRef | undefined> {
  const runs = await octokit.paginate("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", {
    ...repoParams(repo),
    ref,
    check_name: name,
    filter: "all",
    per_page: 100,
  });
  const found = runs.find((r) => r.external_id === externalId);
  return found
    ? {
        id: found.id,
        htmlUrl: found.html_url ?? undefined,
        status: found.status,
        conclusion: found.conclusion,
      }
    : undefined;
}

/**
 * Check run ids this process created or found, per Octokit (one per installation) and per repo + sha + external id,
 * so that each later update is one PATCH without listing the commit's check runs. The listing by external id stays
 * the fallback (after a restart, or when the remembered check run is gone).
 */
const remembered = new WeakMap<object, Map<string, number>>();

function memoOf(octokit: GitHub): Map<string, number> {
  let memo = remembered.get(octokit);
  if (!memo) remembered.set(octokit, (memo = new Map()));
  return memo;
}

/** Idempotent create: update the check run with this external id if it exists, create it otherwise. */
export async function upsertCheckRun(octokit: GitHub, repo: RepoRef, run: NewCheckRun): Promise<CheckRunRef> {
  const memo = memoOf(octokit);
  const key = `${repo.owner}/${repo.name}@${run.headSha}\n${run.externalId}`.toLowerCase();
  const { name: _name, headSha: _sha, externalId: _key, ...update } = run;
  const known = memo.get(key);
  if (known !== undefined) {
    try {
      return await updateCheckRun(octokit, repo, known, update);
    } catch (error) {
      memo.delete(key);
      if (statusOf(error) !== 404) throw error;
    }
  }
  const existing = await findCheckRun(octokit, repo, run.headSha, run.name, run.externalId);
  const ref = existing
    ? await updateCheckRun(octokit, repo, existing.id, update)
    : await createCheckRun(octokit, repo, run);
  memo.set(key, ref.id);
  return ref;
}

function fields(f: CheckRunFields): Record<string, unknown> {
  return {
    ...(f.status ? { status: f.status } : {}),
    ...(f.conclusion ? { conclusion: f.conclusion, status: "completed" } : {}),
    ...(f.detailsUrl ? { details_url: f.detailsUrl } : {}),
  };
}

function annotationChunks(output: CheckRunOutput | undefined): Annotation[][] {
  const all = output?.annotations ?? [];
  const chunks: Annotation[][] = [];
  for (let i = 0; i < all.length; i += ANNOTATIONS_PER_REQUEST)
    chunks.push(all.slice(i, i + ANNOTATIONS_PER_REQUEST));
  return chunks;
}

function outputWith(output: CheckRunOutput, annotations: Annotation[] | undefined) {
  return {
    title: cutText(outgoingText(output.title), 1000),
    summary: bound(output.summary),
    ...(output.text !== undefined ? { text: bound(output.text) } : {}),
    ...(annotations && annotations.length > 0 ? { annotations: annotations.map(toGitHubAnnotation) } : {}),
  };
}

function toGitHubAnnotation(a: Annotation) {
  return {
    path: a.path,
    start_line: a.start_line,
    end_line: Math.max(a.end_line, a.start_line),
    annotation_level: a.annotation_level,
    message: bound(a.message, 64_000),
    ...(a.title ? { title: cutText(outgoingText(a.title), 255) } : {}),
  };
}

async function appendAnnotations(
  octokit: GitHub,
  repo: RepoRef,
  checkRunId: number,
  output: CheckRunOutput | undefined,
  chunks: Annotation[][],
): Promise<void> {
  if (!output) return;
  // Sequential on purpose: annotations are appended in order, and GitHub rate-limits bursts of writes.
  for (const chunk of chunks) {
    await octokit.request("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", {
      ...repoParams(repo),
      check_run_id: checkRunId,
      output: {
        title: cutText(outgoingText(output.title), 1000),
        summary: bound(output.summary),
        annotations: chunk.map(toGitHubAnnotation),
      },
    });
  }
}

function bound(raw: string, max = MAX_OUTPUT_CHARS): string {
  const text = outgoingText(raw);
  return text.length <= max ? text : `${cutText(text, max - 16)}\n… (truncated)`;
}
