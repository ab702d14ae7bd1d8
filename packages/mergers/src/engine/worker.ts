/** Worker thread entry: runs TensorExecutor tasks sent by the engine's pool. */
import { parentPort, threadId, workerData } from "node:worker_threads";
import { TensorExecutor } from "./executor.ts";
import type { TensorPlan } from "./plan.ts";
import { workerMethod } from "./plugins.ts";

interface Init {
  method: string;
  basePath?: string;
  modelPaths: string[];
  seed: number;
  measure: boolean;
  /** Accept NaN / ±Inf inputs (warnings come back with the results). */
  allowNonFinite?: boolean;
  /** Plugin modules (file URLs or package names) that register `method` when it is not built in. */
  plugins?: string[];
}

type Task =
  | { kind: "merge"; plan: TensorPlan; stats: unknown }
  | {
      kind: "accumulate";
      plans: TensorPlan[];
      pass: number;
      previous: unknown;
      stats?: "global" | "tensor";
    };

const init = workerData as Init;
// a plugin's method needs its modules imported first; tasks wait for that, and each one fails if it failed
const ready = workerMethod(init.method, init.plugins ?? []).then(
  (method) =>
    new TensorExecutor(method, init.basePath, init.modelPaths, init.seed, 0, init.allowNonFinite ?? false),
);
ready.catch(() => {});

parentPort!.on("message", async (task: Task) => {
  try {
    const exec = await ready;
    if (task.kind === "merge") {
      const r = await exec.merge(task.plan, task.stats, init.measure);
      // what this thread's executor holds now: the engine adds up the workers' reports (memory accounting)
      r.thread = threadId;
      r.held = exec.heldBytes();
      parentPort!.postMessage({ ok: true, result: r }, [r.bytes.buffer as ArrayBuffer]);
    } else {
      const acc = await exec.accumulate(task.plans, task.pass, task.previous, task.stats);
      parentPort!.postMessage({ ok: true, result: acc });
    }
  } catch (err) {
    const e = err as Error;
    parentPort!.postMessage({ ok: false, error: { name: e.name, message: e.message, stack: e.stack } });
  }
});
