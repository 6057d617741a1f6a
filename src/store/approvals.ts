/** Human decisions on stages (approvals, rejections) and questions asked by agents with their answers. */
import type { Db } from "./db.js";

export interface ApprovalInput {
  runId: string;
  stage: string;
  actor: string;
  decision: "approve" | "reject";
  reason?: string;
  at?: Date;
}

export interface ApprovalRow extends Required<Omit<ApprovalInput, "reason">> {
  id: number;
  reason: string | null;
}

export async function recordApproval(tx: Db, a: ApprovalInput): Promise<void> {
  await tx.query(
    `INSERT INTO approvals (run_id, stage, actor, decision, reason, at)
     VALUES ($1, $2, $3, $4, $5, COALESCE($6, now()))`,
    [a.runId, a.stage, a.actor, a.decision, a.reason ?? null, a.at ?? null],
  );
}

export async function listApprovals(db: Db, runId: string, stage?: string): Promise<ApprovalRow[]> {
  const r = await db.query<{
    id: number;
    run_id: string;
    stage: string;
    actor: string;
    decision: "approve" | "reject";
    reason: string | null;
    at: Date;
  }>(
    `SELECT id, run_id, stage, actor, decision, reason, at FROM approvals
      WHERE run_id = $1 AND ($2::text IS NULL OR stage = $2) ORDER BY id`,
    [runId, stage ?? null],
  );
  return r.rows.map((x) => ({
    id: x.id,
    runId: x.run_id,
    stage: x.stage,
    actor: x.actor,
    decision: x.decision,
    reason: x.reason,
    at: x.at,
  }));
}

export interface QuestionRow {
  id: number;
  runId: string;
  stage: string;
  attemptId: string | null;
  question: string;
  askedBy: string;
  askedAt: Date;
  answer: string | null;
  answeredBy: string | null;
  answeredAt: Date | null;
}

interface QuestionRecord {
  id: number;
  run_id: string;
  stage: string;
  attempt_id: string | null;
  question: string;
  asked_by: string;
  asked_at: Date;
  answer: string | null;
  answered_by: string | null;
  answered_at: Date | null;
}

const toQuestion = (q: QuestionRecord): QuestionRow => ({
  id: q.id,
  runId: q.run_id,
  stage: q.stage,
  attemptId: q.attempt_id,
  question: q.question,
  askedBy: q.asked_by,
  askedAt: q.asked_at,
  answer: q.answer,
  answeredBy: q.answered_by,
  answeredAt: q.answered_at,
});

export async function askQuestion(
  tx: Db,
  q: { runId: string; stage: string; attemptId?: string; question: string; askedBy: string; at?: Date },
): Promise<number> {
  const r = await tx.query<{ id: number }>(
    `INSERT INTO questions (run_id, stage, attempt_id, question, asked_by, asked_at)
     VALUES ($1, $2, $3, $4, $5, COALESCE($6, now())) RETURNING id`,
    [q.runId, q.stage, q.attemptId ?? null, q.question, q.askedBy, q.at ?? null],
  );
  const id = r.rows[0]?.id;
  if (id === undefined) throw new Error("INSERT … RETURNING returned no row");
  return id;
}

/** Answers the run's oldest open question; returns it, or undefined when none is open. */
export async function answerQuestion(
  tx: Db,
  runId: string,
  a: { answer: string; answeredBy: string; at?: Date },
): Promise<QuestionRow | undefined> {
  const r = await tx.query<QuestionRecord>(
    `UPDATE questions SET answer = $2, answered_by = $3, answered_at = COALESCE($4, now())
      WHERE id = (SELECT id FROM questions WHERE run_id = $1 AND answer IS NULL ORDER BY id LIMIT 1 FOR UPDATE)
      RETURNING *`,
    [runId, a.answer, a.answeredBy, a.at ?? null],
  );
  const row = r.rows[0];
  return row ? toQuestion(row) : undefined;
}

export async function listQuestions(
  db: Db,
  runId: string,
  options: { open?: boolean } = {},
): Promise<QuestionRow[]> {
  const r = await db.query<QuestionRecord>(
    `SELECT * FROM questions WHERE run_id = $1 AND (NOT $2::boolean OR answer IS NULL) ORDER BY id`,
    [runId, options.open ?? false],
  );
  return r.rows.map(toQuestion);
}
