/**
 * The Probot entry: wires webhook handlers to the pipeline, the effect worker, and the health and
 * metrics routes. Nothing is decided here.
 */
import type { ApplicationFunction, Probot } from "probot";
import { createApp, type TrellisApp, type TrellisAppOptions } from "./app/app.js";

export type { TrellisApp, TrellisAppOptions };

/** Returns the Probot application function and, once Probot calls it, the running Trellis App. */
export function trellis(
  options: TrellisAppOptions = {},
): ApplicationFunction & { ready: Promise<TrellisApp> } {
  let resolveReady!: (app: TrellisApp) => void;
  let rejectReady!: (error: unknown) => void;
  const ready = new Promise<TrellisApp>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  const fn = async (app: Probot, { addHandler }: Parameters<ApplicationFunction>[1]): Promise<void> => {
    try {
      resolveReady(await createApp(app, addHandler, options));
    } catch (error) {
      rejectReady(error);
      throw error;
    }
  };
  return Object.assign(fn, { ready });
}
