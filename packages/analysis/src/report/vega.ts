/**
 * Vega-Lite → SVG at build time, headless, in Node: compile with vega-lite, run the dataflow with vega's
 * renderer-less View and serialise the scenegraph to SVG. No canvas, no browser, no network.
 */
import * as vega from "vega";
import * as vl from "vega-lite";

/** Renders one Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
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
