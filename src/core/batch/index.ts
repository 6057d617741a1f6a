export * from "./parse.js";
export * from "./schedule.js";
export * from "./mermaid.js";
