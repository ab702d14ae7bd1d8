// @m2rl/analysis: weight geometry, prediction behaviour, skill overlap, information, training efficiency, reports.
export * from "./arms.ts";
export * from "./builtins.ts";
export * from "./geometry/analysis.ts";
export * from "./geometry/compute.ts";
export * from "./information.ts";
export * from "./io/rows.ts";
export * from "./judge.ts";
export * from "./math/bootstrap.ts";
export * from "./math/divergence.ts";
export * from "./math/linalg.ts";
export * from "./math/magnitude-histogram.ts";
export * from "./math/projection.ts";
export * from "./math/stats.ts";
export * from "./math/verdict.ts";
export * from "./prediction.ts";
export * from "./report/charts.ts";
export * from "./report/render.ts";
export * from "./report/vega.ts";
export * from "./report/write.ts";
export * from "./run.ts";
export * from "./scores.ts";
export * from "./self-judging.ts";
export * from "./skills.ts";
export * from "./tensors/align.ts";
export * from "./tensors/memory-source.ts";
export * from "./tensors/names.ts";
export * from "./training.ts";

import type { Plugin } from "@m2rl/core";
import { analysisPlugin } from "./builtins.ts";

/** The plugins the CLI applies by default (every built-in analysis). */
export const builtinPlugins: Plugin[] = [analysisPlugin];
