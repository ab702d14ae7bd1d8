/**
 * Vega-Lite (v5) specification builders for the report's charts. Each returns a complete spec with its data
 * inline, so rendering needs nothing but the spec. Kept small and uniform: one look across the report.
 */
export type Spec = Record<string, unknown>;

const SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";
const FONT = "Inter, system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif";

/** Shared config: quiet axes, readable fonts, a colour-blind-safe palette. */
export const BASE_CONFIG: Spec = {
  font: FONT,
  background: "white",
  view: { stroke: null },
  axis: {
    labelFontSize: 11,
    titleFontSize: 12,
    gridColor: "#eceff3",
    domainColor: "#9aa4b2",
    tickColor: "#9aa4b2",
  },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, fontWeight: 600, anchor: "start", color: "#1f2733" },
  range: { category: { scheme: "tableau10" } },
};

function base(title: string, values: unknown[], extra: Spec): Spec {
  return { $schema: SCHEMA, title, data: { values }, config: BASE_CONFIG, ...extra };
}

export interface HeatCell {
  row: string;
  col: string;
  value: number | null;
  label?: string;
}

/** A matrix as a heatmap with the value printed in each cell. `diverging` centres the colour scale on 0. */
export function heatmap(
  title: string,
  cells: HeatCell[],
  opts: {
    rowTitle?: string;
    colTitle?: string;
    domain?: [number, number];
    diverging?: boolean;
    format?: string;
  } = {},
): Spec {
  const format = opts.format ?? ".2f";
  const rows = [...new Set(cells.map((c) => c.row))];
  const cols = [...new Set(cells.map((c) => c.col))];
  const size = Math.max(26, Math.min(44, Math.floor(360 / Math.max(rows.length, cols.length))));
  const [lo, hi] = opts.domain ?? [0, 1];
  // white text on the dark end(s) of the scale
  const dark = opts.diverging
    ? `abs(datum.value) > ${0.6 * Math.max(Math.abs(lo), Math.abs(hi))}`
    : `datum.value > ${lo + 0.6 * (hi - lo)}`;
  const color: Spec = opts.diverging
    ? { scheme: "redblue", domainMid: 0, reverse: true, ...(opts.domain ? { domain: opts.domain } : {}) }
    : { scheme: "blues", ...(opts.domain ? { domain: opts.domain } : {}) };
  return base(title, cells, {
    width: size * cols.length,
    height: size * rows.length,
    encoding: {
      y: { field: "row", type: "nominal", sort: rows, title: opts.rowTitle ?? null },
      x: {
        field: "col",
        type: "nominal",
        sort: cols,
        title: opts.colTitle ?? null,
        axis: { labelAngle: -35 },
      },
    },
    layer: [
      {
        mark: { type: "rect", stroke: "white", strokeWidth: 1 },
        encoding: {
          color: {
            field: "value",
            type: "quantitative",
            scale: color,
            title: null,
            legend: { gradientLength: 120 },
          },
          tooltip: [
            { field: "row", type: "nominal" },
            { field: "col", type: "nominal" },
            { field: "value", type: "quantitative", format },
          ],
        },
      },
      {
        mark: { type: "text", fontSize: 10 },
        encoding: {
          text: { field: "value", type: "quantitative", format },
          color: { condition: { test: `datum.value !== null && ${dark}`, value: "white" }, value: "#1f2733" },
        },
      },
    ],
  });
}

/** Grouped bars: one group per `group`, one bar per `series`. */
export function groupedBars(
  title: string,
  values: { group: string; series: string; value: number | null }[],
  opts: { yTitle?: string; groupTitle?: string; seriesOrder?: string[]; domain?: [number, number] } = {},
): Spec {
  const series = opts.seriesOrder ?? [...new Set(values.map((v) => v.series))];
  return base(title, values, {
    mark: { type: "bar", cornerRadiusEnd: 2 },
    width: { step: 14 },
    height: 220,
    encoding: {
      column: {
        field: "group",
        type: "nominal",
        title: opts.groupTitle ?? null,
        header: { labelFontSize: 12, labelFontWeight: 600, titleFontSize: 12 },
        spacing: 14,
      },
      x: { field: "series", type: "nominal", sort: series, axis: null, title: null },
      y: {
        field: "value",
        type: "quantitative",
        title: opts.yTitle ?? null,
        ...(opts.domain ? { scale: { domain: opts.domain } } : {}),
      },
      color: { field: "series", type: "nominal", sort: series, title: "arm" },
      tooltip: [
        { field: "group", type: "nominal" },
        { field: "series", type: "nominal" },
        { field: "value", type: "quantitative", format: ".3f" },
      ],
    },
  });
}

/** Lines over a numeric x, one per series, optionally one panel per facet. */
export function lines(
  title: string,
  values: { x: number; y: number | null; series: string; facet?: string }[],
  opts: {
    xTitle?: string;
    yTitle?: string;
    facetTitle?: string;
    width?: number;
    height?: number;
    points?: boolean;
    integerX?: boolean;
  } = {},
): Spec {
  const faceted = values.some((v) => v.facet !== undefined);
  const inner: Spec = {
    mark: {
      type: "line",
      point: opts.points ?? values.length < 60,
      strokeWidth: 1.8,
      interpolate: "monotone",
    },
    width: opts.width ?? (faceted ? 220 : 460),
    height: opts.height ?? 180,
    encoding: {
      x: {
        field: "x",
        type: "quantitative",
        title: opts.xTitle ?? null,
        ...(opts.integerX ? { axis: { tickMinStep: 1, format: "d" } } : {}),
      },
      y: { field: "y", type: "quantitative", title: opts.yTitle ?? null, scale: { zero: false } },
      color: { field: "series", type: "nominal", title: null },
      tooltip: [
        { field: "series", type: "nominal" },
        { field: "x", type: "quantitative" },
        { field: "y", type: "quantitative", format: ".4f" },
      ],
    },
  };
  if (!faceted) return base(title, values, inner);
  return base(title, values, {
    facet: { field: "facet", type: "nominal", title: opts.facetTitle ?? null },
    columns: 3,
    spec: inner,
    resolve: { scale: { y: "independent" } },
  });
}

/** Stacked horizontal bars (status counts per arm and domain). */
export function stackedBars(
  title: string,
  values: { row: string; stack: string; value: number; facet?: string }[],
  opts: {
    xTitle?: string;
    stackOrder?: string[];
    colors?: string[];
    normalize?: boolean;
    rowOrder?: string[];
  } = {},
): Spec {
  const faceted = values.some((v) => v.facet !== undefined);
  const inner: Spec = {
    mark: { type: "bar" },
    width: faceted ? 180 : 420,
    height: { step: 16 },
    encoding: {
      y: { field: "row", type: "nominal", title: null, ...(opts.rowOrder ? { sort: opts.rowOrder } : {}) },
      x: {
        field: "value",
        type: "quantitative",
        title: opts.xTitle ?? null,
        ...(opts.normalize ? { stack: "normalize", axis: { format: "%" } } : {}),
      },
      color: {
        field: "stack",
        type: "nominal",
        title: null,
        ...(opts.stackOrder
          ? {
              sort: opts.stackOrder,
              scale: { domain: opts.stackOrder, ...(opts.colors ? { range: opts.colors } : {}) },
            }
          : {}),
      },
      order: { field: "stackIndex", type: "quantitative" },
      tooltip: [
        { field: "row", type: "nominal" },
        { field: "stack", type: "nominal" },
        { field: "value", type: "quantitative" },
      ],
    },
  };
  const order = opts.stackOrder ?? [];
  const withIndex = values.map((v) => ({ ...v, stackIndex: order.indexOf(v.stack) }));
  if (!faceted) return base(title, withIndex, inner);
  return base(title, withIndex, {
    facet: { field: "facet", type: "nominal", title: null },
    columns: 3,
    spec: inner,
  });
}

/** Scatter with a label per point and an optional least-squares line. */
export function scatter(
  title: string,
  values: { x: number; y: number; series: string; label?: string }[],
  opts: { xTitle?: string; yTitle?: string; trend?: boolean } = {},
): Spec {
  const layers: Spec[] = [
    {
      mark: { type: "point", filled: true, size: 70 },
      encoding: {
        color: { field: "series", type: "nominal", title: null },
        tooltip: [
          { field: "label", type: "nominal" },
          { field: "x", type: "quantitative", format: ".4f" },
          { field: "y", type: "quantitative", format: ".4f" },
        ],
      },
    },
  ];
  if (opts.trend && values.length >= 2) {
    layers.push({
      mark: { type: "line", color: "#9aa4b2", strokeDash: [4, 3] },
      transform: [{ regression: "y", on: "x" }],
    });
  }
  return base(title, values, {
    width: 360,
    height: 240,
    encoding: {
      x: { field: "x", type: "quantitative", title: opts.xTitle ?? null, scale: { zero: false } },
      y: { field: "y", type: "quantitative", title: opts.yTitle ?? null, scale: { zero: false } },
    },
    layer: layers,
  });
}
