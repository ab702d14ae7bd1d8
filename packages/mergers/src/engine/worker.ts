/** Worker thread entry: runs TensorExecutor tasks sent by the engine's pool. */
import { parentPort, workerData } from "node:worker_threads";
import { METHODS } from "../methods/index.ts";
import { TensorExecutor } from "./executor.ts";
import type { TensorPlan } from "./plan.ts";

interface Init {
  method: string;
  basePath?: string;
  modelPaths: string[];
  seed: number;
  measure: boolean;
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
const method = METHODS.get(init.method);
if (!method) throw new Error(`worker: unknown merge method '${init.method}'`);
const exec = new TensorExecutor(method, init.basePath, init.modelPaths, init.seed);

parentPort!.on("message", async (task: Task) => {
  try {
    if (task.kind === "merge") {
      const r = await exec.merge(task.plan, task.stats, init.measure);
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
