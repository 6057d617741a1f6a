/**
 * The working state of one `reduceRun` call: a mutable copy of the run plus the effects collected while one
 * event is handled, and the shape of an event handler.
 */
import type {
  Attempt,
  CheckRunConclusion,
  Effect,
  PermissionLevel,
  RunEvent,
  RunState,
  StageState,
} from "../model.js";

export interface ReduceContext {
  newAttemptId: () => string;
  /** Permission level of a profile; falls back to `state.permissions`, then "autonomous". */
  permissionOf?: (profile: string) => PermissionLevel | undefined;
}

/** The actor recorded for the machine's own decisions. */
export const SYSTEM_ACTOR = "trellis";

/** Mutable working copy plus the effects collected while handling one event. */
export class Step {
  readonly effects: Effect[] = [];
  private replies = 0;
  private audits = 0;
  readonly seq: number;
  /** Set when the state changed in a way `visible` ignores, so that it is still kept. */
  bookkept = false;

  constructor(
    readonly run: RunState,
    readonly at: number,
    readonly ctx: ReduceContext,
  ) {
    this.seq = (run.seq ?? 0) + 1;
  }

  reply(body: string): void {
    this.effects.push({ type: "reply", key: `reply:${this.run.id}:${this.seq}:${this.replies++}`, body });
  }

  audit(actor: string, action: string, detail: Record<string, unknown> = {}): void {
    this.effects.push({
      type: "audit",
      key: `audit:${this.run.id}:${this.seq}:${this.audits++}`,
      actor,
      action,
      detail,
    });
  }

  check(
    stage: StageState,
    attempt: Attempt,
    status: "queued" | "in_progress" | "completed",
    title: string,
    summary: string,
    conclusion?: CheckRunConclusion,
    phase?: string,
  ): void {
    const tag = phase ?? `${status}${conclusion ? `:${conclusion}` : ""}`;
    this.effects.push({
      type: "check_run",
      key: `check:${stage.id}:${attempt.id}:${tag}`,
      stage: stage.id,
      status,
      ...(conclusion ? { conclusion } : {}),
      title,
      summary,
      ...(attempt.runUrl ? { detailsUrl: attempt.runUrl } : {}),
      attemptId: attempt.id,
    });
  }

  permission(profile: string): PermissionLevel {
    return this.ctx.permissionOf?.(profile) ?? this.run.permissions?.[profile] ?? "autonomous";
  }

  get held(): boolean {
    return this.run.status === "held";
  }
}

export type Handler<E extends RunEvent["type"]> = (step: Step, event: Extract<RunEvent, { type: E }>) => void;
