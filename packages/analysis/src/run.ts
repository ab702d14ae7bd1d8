/**
 * Runs a selection of analyses over a context: options validated with ajv against each analysis's schema before
 * anything runs, dependencies (`after`) first, analyses whose inputs are missing skipped with the reason.
 */
import type { Analysis, AnalysisContext, AnalysisResult } from "@m2rl/core";
import { ConfigError } from "@m2rl/core/errors";
import { formatPath, validateWithSchema } from "@m2rl/core/plugin";

export interface AnalysisSelection {
  name: string;
  options?: Record<string, unknown>;
}

export interface AnalysisRun {
  results: AnalysisResult[];
  skipped: { analysis: string; reason: string }[];
  failed: { analysis: string; error: string }[];
}

/**
 * Runs `selection` (default: every analysis in `available`, with default options). An analysis that throws is
 * recorded in `failed` (the others still run, so a report is written); the caller decides the exit code.
 */
export async function runAnalyses(
  ctx: AnalysisContext,
  available: readonly Analysis[],
  selection?: readonly AnalysisSelection[],
): Promise<AnalysisRun> {
  const byName = new Map(available.map((a) => [a.name, a]));
  const chosen: readonly AnalysisSelection[] = selection ?? available.map((a) => ({ name: a.name }));
  const problems: string[] = [];
  const opts = new Map<string, Record<string, unknown>>();
  for (const s of chosen) {
    const a = byName.get(s.name);
    if (!a) {
      problems.push(`unknown analysis '${s.name}' (known: ${[...byName.keys()].join(", ")})`);
      continue;
    }
    const o = structuredClone(s.options ?? {});
    if (a.optionsSchema) {
      for (const p of validateWithSchema(a.name, a.optionsSchema, o, ["analyses", a.name])) {
        problems.push(`${formatPath(p.path)}: ${p.message}`);
      }
    }
    opts.set(a.name, o);
  }
  if (problems.length)
    throw new ConfigError(`bad analysis selection:\n  ${problems.join("\n  ")}`, { plugin: "analysis" });

  // Order: dependencies that are selected run first (stable otherwise).
  const names = chosen.map((c) => c.name);
  const ordered: string[] = [];
  const visit = (n: string, stack: string[]) => {
    if (ordered.includes(n) || !names.includes(n)) return;
    if (stack.includes(n)) throw new ConfigError(`analysis dependency cycle: ${[...stack, n].join(" → ")}`);
    for (const d of byName.get(n)!.after ?? []) visit(d, [...stack, n]);
    ordered.push(n);
  };
  for (const n of names) visit(n, []);

  const out: AnalysisRun = { results: [], skipped: [], failed: [] };
  const previous = new Map<string, AnalysisResult>();
  for (const n of ordered) {
    const a = byName.get(n)!;
    const ok = a.applicable ? a.applicable(ctx) : true;
    if (ok !== true) {
      out.skipped.push({ analysis: n, reason: ok });
      ctx.log?.(`analysis ${n} skipped: ${ok}`);
      continue;
    }
    ctx.log?.(`analysis ${n}…`);
    const t0 = Date.now();
    try {
      const r = await a.run(ctx, opts.get(n) ?? {}, previous);
      r.summary = { ...r.summary, seconds: (Date.now() - t0) / 1000 };
      previous.set(n, r);
      out.results.push(r);
    } catch (err) {
      out.failed.push({ analysis: n, error: (err as Error).message });
      ctx.log?.(`analysis ${n} failed: ${(err as Error).message}`);
    }
  }
  return out;
}
