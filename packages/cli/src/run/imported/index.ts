/**
 * Arms and generations imported from a distributed engine (verl, OpenRLHF): checkpoints linked in as arms,
 * generation dumps scored with the experiment's verifiers, the size limit of generation on this machine, and their
 * file checks. See the README's "Scaling out" section.
 */
export * from "./checkpoint.ts";
export * from "./evaluate.ts";
export * from "./validate.ts";
