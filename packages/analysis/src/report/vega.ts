/**
 * Vega-Lite → SVG at build time, headless, in Node: compile with vega-lite, run the dataflow with vega's
 * renderer-less View and serialise the scenegraph to SVG. No canvas, no browser, no network. vega and vega-lite
 * are imported on the first render, so importing this package (or its plugins) does not load them.
 */

/**
 * Advance widths (1/1000 em) of ASCII 32–126 in Helvetica / Arial, the metrics of the sans-serif fallback the
 * report's font stack ends in. Without a canvas vega estimates every glyph at 0.8 em, which truncates labels and
 * leaves wide margins; these widths make the layout match what a browser draws.
 */
const ASCII_WIDTHS = [
  278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556,
  556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278,
  500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469,
  556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500,
  278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/**
 * Text width in px for vega's layout: per-glyph Helvetica widths, 5% wider for bold, plus 15% so that wider
 * fallback fonts (DejaVu Sans on Linux) still fit.
 */
export function textWidth(text: string, fontSize: number, bold = false): number {
  let w = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    w += c >= 32 && c <= 126 ? ASCII_WIDTHS[c - 32] : 600;
  }
  return (w / 1000) * fontSize * (bold ? 1.05 : 1) * 1.15;
}

interface TextMetrics {
  width: (item: { fontSize?: number; fontWeight?: string | number }, text: unknown) => number;
}

let metricsInstalled = false;
function installTextMetrics(vega: typeof import("vega")): void {
  if (metricsInstalled) return;
  metricsInstalled = true;
  // vega re-exports vega-scenegraph's textMetrics at run time; its typings do not declare it.
  const tm: TextMetrics | undefined = Reflect.get(vega, "textMetrics");
  if (!tm)
    throw new Error("vega no longer exports textMetrics: the report's text measurement needs updating");
  tm.width = (item, text) => {
    const bold = item.fontWeight === "bold" || Number(item.fontWeight) >= 600;
    return textWidth(text == null ? "" : String(text), item.fontSize ?? 11, bold);
  };
}

/** Renders one Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const [vega, vl] = await Promise.all([import("vega"), import("vega-lite")]);
  installTextMetrics(vega);
  // biome-ignore lint/suspicious/noExplicitAny: vega-lite's TopLevelSpec union is wider than our builders' records
  const compiled = vl.compile(spec as any).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none", logLevel: vega.Warn });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Makes the ids inside an SVG unique (`prefix-…`) so that several inline SVGs in one page don't share clip paths. */
export function prefixSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id) => `url(#${prefix}-${id})`)
    .replace(/\bhref="#([^"]+)"/g, (_, id) => `href="#${prefix}-${id}"`);
}
