export {
  boardColumn,
  createRun,
  currentStage,
  isTerminal,
  nextWake,
  reduceRun,
  stageForAttempt,
  SYSTEM_ACTOR,
  type CreateRunInput,
  type ReduceContext,
  type ReduceOutput,
} from "./machine.js";
