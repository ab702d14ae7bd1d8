/** The names of the loss aggregations and KL estimators (no tensor code: the config schema reads them). */

export type LossAggregation =
  | "token-mean"
  | "seq-mean-token-mean"
  | "seq-mean-token-sum"
  | "seq-mean-token-sum-norm";
export const LOSS_AGGREGATIONS: readonly LossAggregation[] = [
  "token-mean",
  "seq-mean-token-mean",
  "seq-mean-token-sum",
  "seq-mean-token-sum-norm",
];

export type KlEstimator = "k1" | "k2" | "k3";
export const KL_ESTIMATORS: readonly KlEstimator[] = ["k1", "k2", "k3"];
