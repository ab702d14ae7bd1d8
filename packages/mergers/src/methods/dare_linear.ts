import { gtaMethod } from "./gta.ts";

/** DARE + task arithmetic: each tau_i entry kept with probability density (seeded per tensor), survivors / density. */
export const dareLinear = gtaMethod({
  name: "dare_linear",
  description: "DARE: random drop (keep prob = density, rescale 1/density) then task arithmetic",
  sparsification: "random",
  consensus: null,
  defaultNormalize: false,
  defaultRescale: true,
});
