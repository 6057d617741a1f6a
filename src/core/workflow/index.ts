export {
  boardColumn,
  createRun,
  currentStage,
  dispatchSpecFor,
  isTerminal,
  nextWake,
  reduceRun,
  stageForAttempt,
  SYSTEM_ACTOR,
  type CreateRunInput,
  type ReduceContext,
  type ReduceOutput,
} from "./machine.js";
