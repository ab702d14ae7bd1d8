import { gtaMethod } from "./gta.ts";

/** DARE + TIES sign consensus: random drop with rescale, then sign election and disjoint merge. */
export const dareTies = gtaMethod({
  name: "dare_ties",
  description: "DARE random drop (rescaled) then TIES sign election and disjoint merge",
  sparsification: "random",
  consensus: "sum",
  defaultNormalize: false,
  defaultRescale: true,
});
