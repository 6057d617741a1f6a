/**
 * Every aggregate key the shell uses, in one place. An aggregate is two things:
 *
 * - a lock: a transaction that changes a repository's runs or batches first takes `repoAggregate`, so events and
 *   outcomes of one repository are applied one at a time, in order (they can touch the same runs and batches);
 * - an outbox lane: the effects stored under one aggregate are carried out strictly in order, and different
 *   aggregates in parallel (effects of one run in order, different runs side by side).
 */
import type { DomainEvent } from "../handlers/events.js";
import { repoName, type Target } from "./runtime.js";

type RepoRef = { owner: string; name: string };

/** The lock of a repository's runs and batches. */
export const repoAggregate = (repo: RepoRef): string => `repo:${repoName(repo)}`;

/** Where a received event waits and what processing it locks: its repository, else its installation. */
export function eventAggregate(event: DomainEvent): string {
  return "repo" in event ? repoAggregate(event.repo) : `installation:${event.installationId ?? 0}`;
}

/** A run's effects, in order. */
export const runAggregate = (runId: string): string => `run:${runId}`;

/** A run's timer: a lane of its own, so a tick due later never holds back the run's other effects. */
export const tickAggregate = (runId: string): string => `tick:${runId}`;

/** Replies and reactions on an issue. */
export const issueAggregate = (t: Target): string => `issue:${repoName(t.repo)}#${t.issue}`;

/** A batch's effects, in order. */
export const batchAggregate = (batchId: string): string => `batch:${batchId}`;

/** A batch effect that must not hold back the batch's others (a deadline that waits, a cancellation). */
export const batchSideAggregate = (batchId: string, effectKey: string): string =>
  `${batchAggregate(batchId)}:${effectKey}`;

/** Replies about the batch of a tracking issue (there may be no batch yet, so no batch id). */
export const trackingIssueAggregate = (repo: RepoRef, issue: number): string =>
  batchAggregate(`${repoName(repo)}#${issue}`);
