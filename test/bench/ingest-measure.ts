// The measurement of `npm run bench:ingest` (ingest.ts): one burst of load against one server process,
// with the CPU time and memory it cost, read from /proc (Linux).
import { readFileSync } from "node:fs";
import { sendAll, type Delivery, type LoadResult } from "./ingest-load.js";
import type { ChildHandle } from "./ingest-setup.js";

/** CPU time (user + system) a process has used so far, in ms (Linux; clock ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  // The command name (field 2) may contain spaces; the fields after its closing parenthesis don't.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Peak and current resident set size of a process, in MB (Linux). */
function memoryOf(pid: number): { hwmMb: number; rssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { hwmMb: kb("VmHWM") / 1024, rssMb: kb("VmRSS") / 1024 };
}

/** The processes a process started (Linux): the App's embedded database, for one. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(" ").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export interface Phase {
  load: LoadResult;
  /** The lifetime peak (VmHWM), the RSS at the end, and the highest RSS sampled during the load. */
  memory: { hwmMb: number; rssMb: number; underLoadMb: number };
  /** Peak RSS of the server's child processes together (none for a bare server or PostgreSQL). */
  childrenHwmMb: number | null;
  cpuMs: number;
  /** The part of `cpuMs` spent in the server's child processes (the embedded database). */
  childrenCpuMs: number;
}

/** One measured burst against one server: latencies, the CPU it cost, its memory while it ran. */
export async function measure(
  child: ChildHandle,
  port: number,
  deliveries: Delivery[],
  concurrency: number,
): Promise<Phase> {
  // The embedded database's process counts too: its CPU is the App's cost.
  const childrenCpu = () => childrenOf(child.pid).reduce((sum, pid) => sum + cpuMsOf(pid), 0);
  const cpuOfTree = () => childrenCpu() + cpuMsOf(child.pid);
  const cpu0 = cpuOfTree();
  const childrenCpu0 = childrenCpu();
  // Resident memory while the load runs, sampled (the process's lifetime peak is reported apart).
  let rssUnderLoadMb = memoryOf(child.pid).rssMb;
  const sampler = setInterval(() => {
    rssUnderLoadMb = Math.max(rssUnderLoadMb, memoryOf(child.pid).rssMb);
  }, 20);
  let load: LoadResult;
  try {
    load = await sendAll(port, deliveries, concurrency);
  } finally {
    clearInterval(sampler);
  }
  const memory = memoryOf(child.pid);
  const children = childrenOf(child.pid);
  const childrenHwmMb = children.length ? children.reduce((sum, pid) => sum + memoryOf(pid).hwmMb, 0) : null;
  return {
    load,
    memory: { ...memory, underLoadMb: Math.max(rssUnderLoadMb, memory.rssMb) },
    childrenHwmMb,
    cpuMs: cpuOfTree() - cpu0,
    childrenCpuMs: childrenCpu() - childrenCpu0,
  };
}

/** The rounds of one server, pooled: every latency, summed wall and CPU time, peak memory. */
export function pool(phases: Phase[]): Phase {
  const sum = (f: (p: Phase) => number) => phases.reduce((total, p) => total + f(p), 0);
  const max = (f: (p: Phase) => number) => Math.max(...phases.map(f));
  const children = phases.map((p) => p.childrenHwmMb).filter((m): m is number => m !== null);
  return {
    load: {
      latenciesMs: phases.flatMap((p) => p.load.latenciesMs),
      errors: sum((p) => p.load.errors),
      resets: sum((p) => p.load.resets),
      wallMs: sum((p) => p.load.wallMs),
    },
    memory: {
      hwmMb: max((p) => p.memory.hwmMb),
      rssMb: phases[phases.length - 1]?.memory.rssMb ?? 0,
      underLoadMb: max((p) => p.memory.underLoadMb),
    },
    childrenHwmMb: children.length ? Math.max(...children) : null,
    cpuMs: sum((p) => p.cpuMs),
    childrenCpuMs: sum((p) => p.childrenCpuMs),
  };
}
