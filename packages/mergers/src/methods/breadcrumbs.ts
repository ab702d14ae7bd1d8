import { gtaMethod } from "./gta.ts";

/** Model Breadcrumbs: drop the gamma largest and the smallest entries of each tau_i (keep density), then sum. */
export const breadcrumbs = gtaMethod({
  name: "breadcrumbs",
  description: "Model Breadcrumbs: remove outliers (gamma) and small entries, keep density; task arithmetic",
  sparsification: "magnitude_outliers",
  consensus: null,
  defaultNormalize: false,
  defaultRescale: false,
});
