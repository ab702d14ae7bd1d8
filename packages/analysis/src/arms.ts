/** Arm names, kinds and the report's column order (base, SFT, each single RL, each merge, MOPD, mix). */
import type { ArmInput, ArmKind } from "@m2rl/core";

export interface ArmRef {
  name: string;
  kind: ArmKind;
  domain?: string;
  method?: string;
}

/** `single:math` → single/math, `merge:ties` → merge/ties, `mix`, `mopd`, `base`, `sft`; else `other`. */
export function parseArmName(name: string): ArmRef {
  const [head, ...rest] = name.split(":");
  const tail = rest.join(":");
  switch (head) {
    case "base":
    case "sft":
      return { name, kind: head };
    case "mix":
    case "multi":
      return { name, kind: "mix" };
    case "mopd":
    case "mt-opd":
      return { name, kind: "mopd" };
    case "single":
    case "rl":
      return tail ? { name, kind: "single", domain: tail } : { name, kind: "other" };
    case "merge":
      return { name, kind: "merge", method: tail || undefined };
    default:
      return { name, kind: "other" };
  }
}

const KIND_RANK: Record<ArmKind, number> = {
  base: 0,
  sft: 1,
  single: 2,
  merge: 3,
  mopd: 4,
  mix: 5,
  other: 6,
};

/** Sorts arms into the paper's column order; within a kind, by `domainOrder` then name. */
export function orderArms<T extends { name: string; kind: ArmKind; domain?: string }>(
  arms: readonly T[],
  domainOrder: readonly string[] = [],
): T[] {
  const di = (d?: string) =>
    d === undefined ? -1 : domainOrder.indexOf(d) === -1 ? 1e6 : domainOrder.indexOf(d);
  return [...arms].sort(
    (a, b) =>
      KIND_RANK[a.kind] - KIND_RANK[b.kind] || di(a.domain) - di(b.domain) || a.name.localeCompare(b.name),
  );
}

/** The arm every delta is taken against: the context's base, else an `sft` arm, else a `base` arm. */
export function referenceArm(names: readonly string[], base?: ArmInput): string | undefined {
  if (base && names.includes(base.name)) return base.name;
  return (
    names.find((n) => parseArmName(n).kind === "sft") ?? names.find((n) => parseArmName(n).kind === "base")
  );
}

/** The single-domain expert of `domain` among `arms`. */
export function expertOf<T extends { kind: ArmKind; domain?: string }>(
  arms: readonly T[],
  domain: string,
): T | undefined {
  return arms.find((a) => a.kind === "single" && a.domain === domain);
}
