/**
 * The report: `report.md` (tables, findings, links to the chart SVGs), `report.html` (self-contained: inline CSS
 * and inline SVG charts, no script, no network) and `report.json` (every analysis's full result).
 */
import type { AnalysisResult, Finding, FindingStatistic, ReportCell, ReportTable } from "@m2rl/core";
import type { AnalysisRun } from "../run.ts";
import { prefixSvgIds, renderSvg } from "./vega.ts";

export interface ReportMeta {
  title?: string;
  /** Lines shown under the title (base, arms, seed, date...). */
  facts?: [string, string][];
}

export interface RenderedChart {
  analysis: string;
  title: string;
  caption?: string;
  file: string;
  svg: string;
}

export interface RenderedReport {
  markdown: string;
  html: string;
  json: string;
  charts: RenderedChart[];
}

const SECTION_TITLES: Record<string, string> = {
  scores: "Scores",
  "weight-geometry": "Weight geometry",
  "skill-overlap": "Skill overlap",
  information: "Information and verification",
  prediction: "Prediction behaviour",
  training: "Training and efficiency",
};

export function sectionTitle(name: string): string {
  return SECTION_TITLES[name] ?? name;
}

const NUM = String.raw`[+−-]?\d+(?:\.\d+)?`;
const LEAD = new RegExp(`^${NUM}`);
const CI = new RegExp(`\\[(${NUM}), (${NUM})\\]`);
const toNumber = (s: string) => Number(s.replace("−", "-"));

/** The number a cell starts with ("45.3 [40.1, 50.2]" → 45.3); NaN when it starts with none. */
export function leadingNumber(s: string): number {
  const m = LEAD.exec(s.trim());
  return m ? toNumber(m[0]) : Number.NaN;
}

/**
 * Colour of a signed cell: +1 / −1 when a Δ with a CI ("+3.2 [+1.0, +5.4]") has its CI wholly above / below 0, or a
 * Δ without one is non-zero; 0 otherwise (unsigned numbers, zeros, CIs containing 0).
 */
export function signOf(s: string): number {
  if (!/^[+−-]\d/.test(s.trim())) return 0;
  const ci = CI.exec(s);
  if (ci) {
    const lo = toNumber(ci[1] as string);
    const hi = toNumber(ci[2] as string);
    return lo > 0 ? 1 : hi < 0 ? -1 : 0;
  }
  const v = leadingNumber(s);
  return v > 0 ? 1 : v < 0 ? -1 : 0;
}

/** "name = value [lo, hi] (yes when above threshold)". */
export function statisticText(st: FindingStatistic): string {
  const f = (x: number) =>
    Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3);
  const ci = st.ci ? ` [95% CI ${f(st.ci[0])}, ${f(st.ci[1])}]` : "";
  return `${st.name} = ${f(st.value)}${ci} (threshold: ${st.direction} ${f(st.threshold)})`;
}

/** Findings of every analysis, by id. */
export function collectFindings(results: readonly AnalysisResult[]): Finding[] {
  return results
    .flatMap((r) => r.findings ?? [])
    .sort((a, b) => a.id.localeCompare(b.id, "en", { numeric: true }));
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

export async function renderReport(run: AnalysisRun, meta: ReportMeta = {}): Promise<RenderedReport> {
  const charts: RenderedChart[] = [];
  const used = new Set<string>();
  for (const r of run.results) {
    for (const c of r.charts) {
      let file = `${slug(r.analysis)}--${slug(c.title)}`;
      for (let i = 2; used.has(file); i++) file = `${slug(r.analysis)}--${slug(c.title)}-${i}`;
      used.add(file);
      // The title goes into the page (HTML caption / Markdown line), where the SVG box never clips it.
      const { title: specTitle, ...spec } = c.spec;
      charts.push({
        analysis: r.analysis,
        title: typeof specTitle === "string" ? specTitle : c.title,
        caption: c.caption,
        file: `charts/${file}.svg`,
        svg: await renderSvg(spec),
      });
    }
  }
  return {
    markdown: renderMarkdown(run, charts, meta),
    html: renderHtml(run, charts, meta),
    json: `${JSON.stringify({ meta, results: run.results, skipped: run.skipped, failed: run.failed }, jsonSafe, 2)}\n`,
    charts,
  };
}

function jsonSafe(_k: string, v: unknown): unknown {
  if (typeof v === "number" && !Number.isFinite(v)) return null;
  if (v instanceof Float32Array || v instanceof Float64Array) return Array.from(v);
  return v;
}

// ------------------------------------------------------------------------------------------------ Markdown

function mdCell(c: ReportCell): string {
  if (c === null || c === undefined) return "–";
  return String(c).replace(/\|/g, "\\|").replace(/\n/g, " ");
}

export function markdownTable(t: ReportTable): string {
  const head = `| ${t.columns.map(mdCell).join(" | ")} |`;
  const sep = `|${t.columns.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`;
  const rows = t.rows.map((r) => `| ${r.map(mdCell).join(" | ")} |`);
  return [`**${t.title}**`, "", head, sep, ...rows, ...(t.caption ? ["", `_${t.caption}_`] : [])].join("\n");
}

function renderMarkdown(run: AnalysisRun, charts: RenderedChart[], meta: ReportMeta): string {
  const out: string[] = [`# ${meta.title ?? "M2RL report"}`, ""];
  for (const [k, v] of meta.facts ?? []) out.push(`- **${k}:** ${v}`);
  const findings = collectFindings(run.results);
  if (findings.length) {
    out.push("", "## Findings", "");
    for (const f of findings) {
      const verdict = f.verdict === "n/a" ? "n/a" : `**${f.verdict}**`;
      out.push(`${f.id}. ${f.claim} — ${verdict}. ${f.evidence}`);
      for (const st of f.statistics ?? []) out.push(`   - ${statisticText(st)}`);
      out.push(`   - _rule:_ ${f.rule}`);
    }
  }
  for (const r of run.results) {
    out.push("", `## ${sectionTitle(r.analysis)}`, "");
    for (const t of r.tables) out.push(markdownTable(t), "");
    for (const c of charts.filter((x) => x.analysis === r.analysis)) {
      out.push(
        `**${c.title}**`,
        "",
        `![${c.title}](${c.file})`,
        "",
        ...(c.caption ? [`_${c.caption}_`, ""] : []),
      );
    }
    for (const n of r.notes ?? []) out.push(`> note: ${n}`);
  }
  if (run.skipped.length || run.failed.length) {
    out.push("", "## Not run", "");
    for (const s of run.skipped) out.push(`- ${s.analysis}: skipped — ${s.reason}`);
    for (const f of run.failed) out.push(`- ${f.analysis}: **failed** — ${f.error}`);
  }
  return `${out.join("\n")}\n`;
}

// ------------------------------------------------------------------------------------------------ HTML

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A number, optionally followed by its CI ("45.3 [40.1, 50.2]"). */
const NUMERIC = /^[+−-]?[\d.,]+(e[+-]?\d+)?%?°?( \[[^\]]+\])?$|^[+−-]?∞$/;

function htmlTable(t: ReportTable): string {
  // a column is numeric when most of its non-empty cells are
  const numericCol = t.columns.map((_, i) => {
    const cells = t.rows.map((r) => r[i]).filter((c) => c !== null && c !== undefined && c !== "");
    return (
      i > 0 && cells.length > 0 && cells.filter((c) => NUMERIC.test(String(c))).length * 2 > cells.length
    );
  });
  const isScore = /^Avg@K|^pass@K/.test(t.title);
  const rows = t.rows.map((r) => {
    let best = -1;
    if (isScore) {
      let m = Number.NEGATIVE_INFINITY;
      r.forEach((c, i) => {
        const v = i > 0 && c !== null ? leadingNumber(String(c)) : Number.NaN;
        if (v > m) {
          m = v;
          best = i;
        }
      });
    }
    const tds = r.map((c, i) => {
      const s = c === null || c === undefined ? "" : String(c);
      const cls: string[] = [];
      if (i === 0) cls.push("label");
      if (s && NUMERIC.test(s)) cls.push("num");
      const sign = signOf(s);
      if (sign > 0) cls.push("pos");
      if (sign < 0) cls.push("neg");
      if (i === best) cls.push("best");
      const body = s === "" ? '<span class="na">–</span>' : esc(s);
      const long = s.length > 60 ? ` title="${esc(s)}"` : "";
      return `<td${cls.length ? ` class="${cls.join(" ")}"` : ""}${long}>${body}</td>`;
    });
    return `<tr>${tds.join("")}</tr>`;
  });
  const body = `<div class="scroll"><table><thead><tr>${t.columns.map((c, i) => `<th${numericCol[i] ? ' class="num"' : ""}>${esc(c)}</th>`).join("")}</tr></thead>
<tbody>${rows.join("\n")}</tbody></table></div>
${t.caption ? `<p class="caption">${esc(t.caption)}</p>` : ""}`;
  if (t.collapsed) {
    return `<details class="table"><summary>${esc(t.title)} <span class="count">(${t.rows.length} rows)</span></summary>${body}</details>`;
  }
  return `<figure class="table">
<figcaption class="ttitle">${esc(t.title)}</figcaption>
${body}</figure>`;
}

const CSS = `
:root{--ink:#1f2733;--muted:#5b6675;--line:#e3e7ee;--bg:#f6f7f9;--card:#fff;--accent:#3b6fd8;--pos:#1a7f45;--neg:#c0392b}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 Inter,system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{background:linear-gradient(135deg,#1f2a44,#2f4d8a);color:#fff;padding:28px 40px 22px}
header h1{margin:0 0 8px;font-size:24px;font-weight:650;letter-spacing:-.01em}
header dl{display:flex;flex-wrap:wrap;gap:6px 22px;margin:0;font-size:13px;opacity:.92}
header dt{font-weight:600;display:inline}header dd{display:inline;margin:0 0 0 4px}
nav{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line);padding:8px 40px;display:flex;gap:18px;flex-wrap:wrap}
nav a{color:var(--accent);text-decoration:none;font-weight:550;font-size:13px}
main{max-width:1480px;margin:0 auto;padding:24px 40px 60px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:20px 24px;margin:0 0 22px;box-shadow:0 1px 2px rgba(16,24,40,.04)}
section h2{margin:0 0 14px;font-size:18px;font-weight:650}
.findings{list-style:none;padding:0;margin:0;display:grid;gap:8px}
.findings li{display:grid;grid-template-columns:34px 104px 1fr;gap:10px;align-items:start;padding:8px 10px;border:1px solid var(--line);border-radius:8px}
.fid{font-weight:700;color:var(--muted)}
.badge{display:inline-block;text-align:center;border-radius:999px;padding:1px 10px;font-size:12px;font-weight:700}
.badge.yes{background:#e3f5ea;color:var(--pos)}.badge.no{background:#fbe7e5;color:var(--neg)}.badge.na{background:#eef0f3;color:var(--muted)}.badge.inc{background:#fdf3dc;color:#8a6100}
.findings .stat,.findings .rule{font-size:12px;color:var(--muted)}
.claim{font-weight:600}.evidence{color:var(--muted);font-size:13px}
figure{margin:0 0 18px}
.ttitle{font-weight:650;margin:0 0 6px;font-size:14px}
.scroll{overflow-x:auto;border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;width:100%;font-size:13px}
th{background:#f1f3f7;text-align:left;font-weight:600;padding:6px 10px;border-bottom:1px solid var(--line);white-space:nowrap}
td{padding:5px 10px;border-bottom:1px solid #f0f2f5;vertical-align:top}
tbody tr:nth-child(even) td{background:#fbfcfd}
th.num{text-align:right}
details.table{margin:0 0 12px;border:1px solid var(--line);border-radius:8px;padding:8px 12px;background:#fbfcfd}
details.table summary{cursor:pointer;font-weight:650}
details.table .count{color:var(--muted);font-weight:400}
details.table[open] summary{margin-bottom:8px}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.label{font-weight:600;white-space:nowrap}
td.pos{color:var(--pos)}td.neg{color:var(--neg)}td.best{font-weight:750;background:#eef4ff!important}
.na{color:#b3bac5}
.caption{color:var(--muted);font-size:12.5px;margin:6px 2px 0}
.charts{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
.chart{border:1px solid var(--line);border-radius:8px;padding:12px;background:#fff;max-width:100%;overflow-x:auto}
.ctitle{font-weight:650;font-size:14px;margin:0 0 8px;color:var(--ink)}
.chart svg{display:block;max-width:none;height:auto}
.notes{color:var(--muted);font-size:12.5px;margin:10px 0 0;padding-left:18px}
footer{color:var(--muted);font-size:12px;text-align:center;padding:0 0 30px}
`;

function renderHtml(run: AnalysisRun, charts: RenderedChart[], meta: ReportMeta): string {
  const title = meta.title ?? "M2RL report";
  const findings = collectFindings(run.results);
  const sections: string[] = [];
  const nav: string[] = [];
  if (findings.length) {
    nav.push('<a href="#findings">Findings</a>');
    sections.push(
      `<section id="findings"><h2>Findings</h2><ul class="findings">${findings
        .map((f) => {
          const cls = f.verdict === "n/a" ? "na" : f.verdict === "inconclusive" ? "inc" : f.verdict;
          const stats = (f.statistics ?? [])
            .map((st) => `<div class="stat">${esc(statisticText(st))}</div>`)
            .join("");
          return `<li><span class="fid">${esc(f.id)}</span><span><span class="badge ${cls}">${f.verdict}</span></span><span><div class="claim">${esc(f.claim)}</div><div class="evidence">${esc(f.evidence)}</div>${stats}<div class="rule">rule: ${esc(f.rule)}</div></span></li>`;
        })
        .join("")}</ul></section>`,
    );
  }
  let k = 0;
  for (const r of run.results) {
    const id = `s-${slug(r.analysis)}`;
    nav.push(`<a href="#${id}">${esc(sectionTitle(r.analysis))}</a>`);
    const cs = charts.filter((c) => c.analysis === r.analysis);
    const chartHtml = cs
      .map(
        (c) =>
          `<figure class="chart" data-chart="${esc(c.title)}"><figcaption class="ctitle">${esc(c.title)}</figcaption>${prefixSvgIds(c.svg, `c${k++}`)}${c.caption ? `<p class="caption">${esc(c.caption)}</p>` : ""}</figure>`,
      )
      .join("\n");
    sections.push(`<section id="${id}"><h2>${esc(sectionTitle(r.analysis))}</h2>
${r.tables
  .filter((t) => !t.collapsed)
  .map(htmlTable)
  .join("\n")}
${cs.length ? `<div class="charts">${chartHtml}</div>` : ""}
${r.tables
  .filter((t) => t.collapsed)
  .map(htmlTable)
  .join("\n")}
${r.notes?.length ? `<ul class="notes">${r.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : ""}
</section>`);
  }
  if (run.skipped.length || run.failed.length) {
    nav.push('<a href="#not-run">Not run</a>');
    sections.push(
      `<section id="not-run"><h2>Not run</h2><ul class="notes">${[
        ...run.skipped.map((s) => `<li><b>${esc(s.analysis)}</b>: skipped — ${esc(s.reason)}</li>`),
        ...run.failed.map(
          (f) =>
            `<li><b>${esc(f.analysis)}</b>: <span style="color:var(--neg)">failed</span> — ${esc(f.error)}</li>`,
        ),
      ].join("")}</ul></section>`,
    );
  }
  const facts = (meta.facts ?? [])
    .map(([a, b]) => `<div><dt>${esc(a)}</dt><dd>${esc(b)}</dd></div>`)
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body><header><h1>${esc(title)}</h1><dl>${facts}</dl></header>
<nav>${nav.join("")}</nav>
<main>
${sections.join("\n")}
</main>
<footer>Generated by M2RL · charts: Vega-Lite rendered to SVG at build time · no scripts, no network</footer>
</body></html>
`;
}
