import { gtaMethod } from "./gta.ts";

/** DELLA: magnitude-ranked random drop (MagPrune) with 1/p rescale, TIES sign consensus, normalized. */
export const della = gtaMethod({
  name: "della",
  description:
    "DELLA: MagPrune (keep prob by magnitude rank in density ± epsilon, rescale 1/p) + TIES consensus",
  sparsification: "della_magprune",
  consensus: "sum",
  defaultNormalize: true,
  defaultRescale: true,
});

/** DELLA without sign consensus. */
export const dellaLinear = gtaMethod({
  name: "della_linear",
  description: "DELLA MagPrune then task arithmetic (no sign consensus)",
  sparsification: "della_magprune",
  consensus: null,
  defaultNormalize: false,
  defaultRescale: true,
});
