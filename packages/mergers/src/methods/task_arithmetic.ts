import { gtaMethod } from "./gta.ts";

/** Task arithmetic: base + lambda * sum_i w_i tau_i (divided by sum_i w_i when normalize). */
export const taskArithmetic = gtaMethod({
  name: "task_arithmetic",
  description: "Task arithmetic: base + lambda * sum_i w_i (theta_i - base)",
  sparsification: null,
  consensus: null,
  defaultNormalize: false,
  defaultRescale: false,
});
