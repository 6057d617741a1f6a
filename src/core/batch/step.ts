/** One reducer step: the state it changes, the effects it emits, and the keys that make those effects unique. */
import type { BatchContext, BatchEffect, BatchState } from "./types.js";

export class Step {
  readonly effects: BatchEffect[] = [];
  seq: number;
  constructor(
    readonly state: BatchState,
    readonly at: number,
    readonly ctx: BatchContext,
  ) {
    this.seq = state.seq;
  }
  key(what: string): string {
    return `batch:${this.state.id}:${this.seq + 1}:${what}`;
  }
  status(): void {
    this.effects.push({ type: "batch_status", key: this.key("status"), seq: this.seq + 1 });
    this.state.statusSeq = this.seq + 1;
  }
  reply(body: string): void {
    this.effects.push({ type: "reply", key: this.key(`reply:${this.effects.length}`), body });
  }
  audit(actor: string, action: string, detail: Record<string, unknown> = {}): void {
    this.effects.push({
      type: "audit",
      key: this.key(`audit:${this.effects.length}`),
      actor,
      action,
      detail: { batch: this.state.id, ...detail },
    });
  }
}
