import type { MergeGlobalStats } from "@m2rl/core/merge";
import { num, outlierRanks, radixSelectStats } from "./common.ts";
import { gtaMethod } from "./gta.ts";

/**
 * Breadcrumbs' per-tensor thresholds over the chunks of a tensor the engine splits: for each model the outlier
 * threshold (the n_top-th largest |tau_i|) and the keep threshold, found exactly by radix select (two passes),
 * so chunks are trimmed as the whole tensor would be. Not needed when density >= 1 (nothing is trimmed).
 */
export const breadcrumbsTensorStats = radixSelectStats(
  (n, p) => {
    const { top, keep } = outlierRanks(n, num(p, "density"), num(p, "gamma"));
    return [top, keep];
  },
  (params) => params.perModel.some((p) => num(p, "density") < 1),
) as MergeGlobalStats;

/** Model Breadcrumbs: drop the gamma largest and the smallest entries of each tau_i (keep density), then sum. */
export const breadcrumbs = gtaMethod({
  name: "breadcrumbs",
  description: "Model Breadcrumbs: remove outliers (gamma) and small entries, keep density; task arithmetic",
  sparsification: "magnitude_outliers",
  consensus: null,
  defaultNormalize: false,
  defaultRescale: false,
  tensorStats: breadcrumbsTensorStats,
});
