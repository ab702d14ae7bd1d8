import { breadcrumbsTensorStats } from "./breadcrumbs.ts";
import { gtaMethod } from "./gta.ts";

/** Model Breadcrumbs sparsification with TIES sign consensus. */
export const breadcrumbsTies = gtaMethod({
  name: "breadcrumbs_ties",
  description: "Model Breadcrumbs sparsification, then TIES sign election and disjoint merge",
  sparsification: "magnitude_outliers",
  consensus: "sum",
  defaultNormalize: false,
  defaultRescale: false,
  tensorStats: breadcrumbsTensorStats,
});
