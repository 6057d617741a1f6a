/** Counters for `/trellis/metrics`, in Prometheus' text exposition format. */
import type { Db } from "../store/db.js";
import { storeMetrics } from "../store/metrics.js";

export interface Metrics {
  inc(name: CounterName, labels?: Record<string, string>, by?: number): void;
  render(db: Db): Promise<string>;
}

export const COUNTERS = {
  trellis_deliveries_total: "Webhook deliveries received",
  trellis_duplicate_deliveries_total: "Deliveries whose id was already recorded (redeliveries)",
  trellis_effects_done_total: "Effects carried out",
  trellis_effects_failed_total: "Effect executions that failed (retried or given up)",
  trellis_dead_letters_total: "Events and effects given up on (listed by `trellis dead-letters`)",
  trellis_dispatches_total: "Agent workflow dispatches",
  trellis_stage_outcomes_total: "Stage attempts finished, by outcome",
  trellis_cost_usd_total: "Agent cost reported by the Action, USD",
} as const;

export type CounterName = keyof typeof COUNTERS;

const labelText = (labels: Record<string, string>): string => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
};

export function createMetrics(): Metrics {
  const values = new Map<string, number>();
  return {
    inc(name, labels = {}, by = 1) {
      const key = `${name}${labelText(labels)}`;
      values.set(key, (values.get(key) ?? 0) + by);
    },
    async render(db) {
      const lines: string[] = [];
      for (const [name, help] of Object.entries(COUNTERS)) {
        lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
        const own = [...values].filter(([k]) => k === name || k.startsWith(`${name}{`));
        if (own.length === 0) lines.push(`${name} 0`);
        for (const [k, v] of own) lines.push(`${k} ${v}`);
      }
      // Gauges are read from the store, so every replica reports the same totals.
      const stored = await storeMetrics(db);
      const gauge = (name: string, help: string, byStatus: Record<string, number>): void => {
        lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
        for (const [status, n] of Object.entries(byStatus)) lines.push(`${name}{status="${status}"} ${n}`);
      };
      gauge(
        "trellis_effects",
        "Effects waiting or running in the outbox (its depth), by status",
        stored.outbox,
      );
      gauge("trellis_runs", "Workflow runs by status", stored.runsByStatus);
      gauge("trellis_stages", "Current stages by status", stored.stagesByStatus);
      gauge("trellis_attempts", "Agent attempts by status", stored.attemptsByStatus);
      return `${lines.join("\n")}\n`;
    },
  };
}
