import type { MergeMethod } from "@m2rl/core/merge";
import { mergeParametersSchema } from "../config/params-schema.ts";
import { arceeFusion } from "./arcee_fusion.ts";
import { breadcrumbs } from "./breadcrumbs.ts";
import { breadcrumbsTies } from "./breadcrumbs_ties.ts";
import { dareLinear } from "./dare_linear.ts";
import { dareTies } from "./dare_ties.ts";
import { della, dellaLinear } from "./della.ts";
import { karcher } from "./karcher.ts";
import { linear } from "./linear.ts";
import { modelStock } from "./model_stock.ts";
import { multislerp } from "./multislerp.ts";
import { nearswap } from "./nearswap.ts";
import { nuslerp } from "./nuslerp.ts";
import { passthrough } from "./passthrough.ts";
import { sce } from "./sce.ts";
import { slerp } from "./slerp.ts";
import { taskArithmetic } from "./task_arithmetic.ts";
import { ties } from "./ties.ts";

export * from "./common.ts";
export { kernelInfo, kernels } from "./kernels.ts";
export { jsKernels, type MergeKernels } from "./kernels-js.ts";
export { slerpVectors } from "./slerp.ts";
export {
  arceeFusion,
  breadcrumbs,
  breadcrumbsTies,
  dareLinear,
  dareTies,
  della,
  dellaLinear,
  karcher,
  linear,
  modelStock,
  multislerp,
  nearswap,
  nuslerp,
  passthrough,
  sce,
  slerp,
  taskArithmetic,
  ties,
};

/**
 * Every built-in method, by mergekit name, each with its `optionsSchema` derived from its declared parameters
 * (mergeParametersSchema): what an experiment's merge arm is validated with is what a mergekit YAML accepts.
 */
export const BUILTIN_METHODS: readonly MergeMethod[] = [
  linear,
  taskArithmetic,
  ties,
  dareLinear,
  dareTies,
  breadcrumbs,
  breadcrumbsTies,
  della,
  dellaLinear,
  slerp,
  nuslerp,
  modelStock,
  sce,
  karcher,
  passthrough,
  multislerp,
  arceeFusion,
  nearswap,
].map((m) => Object.assign(m, { optionsSchema: mergeParametersSchema(m.parameters) }));

/** Plain name -> method map (usable without a plugin host). */
export const METHODS: ReadonlyMap<string, MergeMethod> = new Map(BUILTIN_METHODS.map((m) => [m.name, m]));
