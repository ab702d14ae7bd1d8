/**
 * Generalized task arithmetic (mergekit's GeneralizedTaskArithmeticMerge): task vectors tau_i = theta_i - base,
 * optionally sparsified per model, combined with optional sign consensus, scaled by lambda and added to the base.
 * task_arithmetic, ties, dare_linear, dare_ties, breadcrumbs, breadcrumbs_ties, della and della_linear are this
 * recipe with different sparsification / consensus / defaults.
 */
import type { MergeGlobalStats, MergeMethod, MergeParamDef, TensorMergeInput } from "@m2rl/core/merge";
import {
  bool,
  combineDeltas,
  dellaMagpruneInPlace,
  magnitudeOutliersInPlace,
  magnitudeThreshold,
  magnitudeTrimInPlace,
  num,
  P,
  perModel,
  randomDropInPlace,
  requireBase,
  resultArray,
  taskArithmeticDirect,
  taskVectors,
} from "./common.ts";

export type Sparsification = "magnitude" | "random" | "magnitude_outliers" | "della_magprune" | null;

export interface GtaRecipe {
  name: string;
  description: string;
  sparsification: Sparsification;
  consensus: "sum" | null;
  defaultNormalize: boolean;
  defaultRescale: boolean;
  /** Extra parameters (e.g. trim_scope for ties). */
  extra?: MergeParamDef[];
  globalStats?: MergeGlobalStats;
  /** Per-tensor statistics for tensors the engine splits into chunks (see MergeMethod.tensorStats). */
  tensorStats?: MergeGlobalStats;
}

/**
 * Whether merging a chunk gives that chunk of the whole-tensor result: the element-wise recipes (no sparsification,
 * random drop by blocks), the magnitude trims given per-tensor thresholds from tensorStats (TIES; Breadcrumbs' two
 * thresholds), and DELLA's per-row ranking on row-aligned chunks (each row whole, drawing from its own stream).
 */
function chunkable(r: GtaRecipe): boolean {
  return (
    r.sparsification === null ||
    r.sparsification === "random" ||
    r.sparsification === "della_magprune" ||
    ((r.sparsification === "magnitude" || r.sparsification === "magnitude_outliers") &&
      r.tensorStats !== undefined)
  );
}

export function gtaParameters(r: GtaRecipe): MergeParamDef[] {
  const defs: MergeParamDef[] = [P.weight(), P.density(1), P.normalize(r.defaultNormalize), P.lambda()];
  if (r.sparsification === "random" || r.sparsification === "della_magprune")
    defs.push(P.rescale(r.defaultRescale));
  if (r.sparsification === "magnitude_outliers") {
    defs.push({
      name: "gamma",
      type: "number",
      default: 0.01,
      scope: "model",
      perTensor: true,
      minimum: 0,
      maximum: 1,
      description: "Fraction of the largest-magnitude entries removed as outliers.",
    });
  }
  if (r.sparsification === "della_magprune") {
    defs.push({
      name: "epsilon",
      type: "number",
      default: 0.15,
      scope: "model",
      perTensor: true,
      minimum: 0,
      maximum: 1,
      description: "Spread of keep probabilities around density, by magnitude rank.",
    });
  }
  return [...defs, ...(r.extra ?? [])];
}

export function gtaMerge(r: GtaRecipe, input: TensorMergeInput): Float32Array {
  const base = requireBase(input, r.name);
  const g = input.params.global;
  const weights = perModel(input.params, "weight");
  if (!r.sparsification && !r.consensus) {
    return taskArithmeticDirect(
      base,
      input.models,
      weights,
      bool(g, "normalize"),
      num(g, "lambda"),
      resultArray(input),
    );
  }
  const deltas = taskVectors(base, input.models);
  const thresholds = input.stats as number[] | undefined; // global (whole-model) magnitude thresholds, per model
  if (r.sparsification === "magnitude" && r.consensus) {
    // TIES: the trim is fused into the sign election (one pass over the deltas instead of two)
    const th = deltas.map(
      (d, i) => thresholds?.[i] ?? magnitudeThreshold(d, num(input.params.perModel[i], "density")),
    );
    const out = resultArray(input);
    return combineDeltas(base, deltas, weights, r.consensus, bool(g, "normalize"), num(g, "lambda"), th, out);
  }
  if (r.sparsification) {
    deltas.forEach((d, i) => {
      const p = input.params.perModel[i];
      const density = num(p, "density");
      switch (r.sparsification) {
        case "magnitude":
          magnitudeTrimInPlace(d, density, thresholds?.[i]);
          break;
        case "random":
          randomDropInPlace(d, density, bool(g, "rescale"), input, i);
          break;
        case "magnitude_outliers":
          // per model [hiT, loT] when the engine split the tensor (radixSelectStats over its chunks)
          magnitudeOutliersInPlace(
            d,
            density,
            num(p, "gamma"),
            (input.stats as [number, number][] | undefined)?.[i],
          );
          break;
        case "della_magprune":
          dellaMagpruneInPlace(
            d,
            input.shape,
            density,
            num(p, "epsilon"),
            bool(g, "rescale"),
            {
              seed: input.seed,
              name: input.name,
              model: i,
              rowOffset: (input.offset ?? 0) / Math.max(1, input.shape[input.shape.length - 1] ?? 1),
            },
            input.name,
          );
          break;
      }
    });
  }
  const out = resultArray(input);
  return combineDeltas(
    base,
    deltas,
    weights,
    r.consensus,
    bool(g, "normalize"),
    num(g, "lambda"),
    undefined,
    out,
  );
}

export function gtaMethod(r: GtaRecipe): MergeMethod {
  return {
    name: r.name,
    description: r.description,
    parameters: gtaParameters(r),
    base: "required",
    minModels: 1,
    mergeTensor: (input) => gtaMerge(r, input),
    globalStats: r.globalStats,
    tensorStats: r.tensorStats,
    chunkable: chunkable(r),
    // DELLA ranks within rows: chunks of whole rows
    rowAligned: r.sparsification === "della_magprune" ? true : undefined,
  };
}
