/**
 * Plot files for the benchmarks and the demo: Vega-Lite specifications compiled by `vega-lite`,
 * rendered headless by `vega` to SVG (no browser, no canvas), and rasterised to PNG by
 * `@resvg/resvg-js` (a prebuilt native renderer shipped in the npm package). Dev dependencies of
 * bench/ and demo/ only; src/ never imports them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Renders `spec` to `<base>.svg` and `<base>.png` (2× scale); returns the two paths. */
export async function render(spec: TopLevelSpec, base: string): Promise<string[]> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, background: 'white', font: { loadSystemFonts: true } }).render().asPng();
  mkdirSync(dirname(base), { recursive: true });
  writeFileSync(`${base}.svg`, svg);
  writeFileSync(`${base}.png`, png);
  return [`${base}.svg`, `${base}.png`];
}

/**
 * A sans-serif family that the PNG rasteriser finds on Linux (DejaVu) and browsers find elsewhere.
 * Vega measures text without a canvas by estimate (about 0.8 em a character), so titles and
 * subtitles are kept to short lines: long ones widen the figure with empty space.
 */
export const FONT = { font: 'Helvetica, Arial, DejaVu Sans, sans-serif' };

/** One point of a training curve: the median and quartiles across runs of one condition. */
export interface CurvePoint {
  condition: string;
  episodes: number;
  median: number;
  q25: number;
  q75: number;
}

export interface CurvesOptions {
  title: string;
  subtitle?: string | string[];
  /** Condition names in legend order, and their colours. */
  conditions: readonly string[];
  colors: readonly string[];
  /** x positions marked with a star (p < 0.05), drawn at `starY`. */
  stars?: readonly number[];
  starY?: number;
  xTitle?: string;
  yTitle?: string;
}

/** A five-pointed star in Vega's unit square (a symbol path), as matplotlib's '*' marker. */
const STAR = 'M0,-1L0.224,-0.309L0.951,-0.309L0.363,0.118L0.588,0.809L0,0.382L-0.588,0.809L-0.363,0.118L-0.951,-0.309L-0.224,-0.309Z';

/**
 * Training curves as in the paper's Figs. 1-2: a median line per condition over its inter-quartile
 * band, every other line dashed (as `maze/makefigure.py` draws them), stars where a test is significant.
 */
export function curvesSpec(points: readonly CurvePoint[], opts: CurvesOptions): TopLevelSpec {
  const color = { field: 'condition', type: 'nominal', title: null, scale: { domain: opts.conditions, range: opts.colors }, legend: { orient: 'top-left', labelLimit: 400, symbolType: 'stroke', symbolStrokeWidth: 2.5, symbolOpacity: 1 } } as const;
  const x = { field: 'episodes', type: 'quantitative', title: opts.xTitle ?? 'Number of Episodes', axis: { format: '~s' } } as const;
  const dashes = opts.conditions.map((_, i) => (i % 2 ? [6, 3] : [1, 0]));
  // Bands drawn over the lines, faint, so that no band hides another condition's median.
  const layers: object[] = [
    {
      mark: { type: 'line', strokeWidth: 2 },
      encoding: {
        x,
        y: { field: 'median', type: 'quantitative', title: opts.yTitle ?? 'Reward' },
        color,
        strokeDash: { field: 'condition', type: 'nominal', title: null, scale: { domain: opts.conditions, range: dashes } },
      },
    },
    { mark: { type: 'area', opacity: 0.18 }, encoding: { x, y: { field: 'q25', type: 'quantitative' }, y2: { field: 'q75' }, color } },
  ];
  if (opts.stars?.length) {
    layers.push({
      data: { values: opts.stars.map((episodes) => ({ episodes, y: opts.starY ?? 0 })) },
      mark: { type: 'point', shape: STAR, filled: true, size: 40, color: '#17becf' },
      encoding: { x: { field: 'episodes', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: opts.title, subtitle: opts.subtitle, anchor: 'start' },
    width: 560,
    height: 340,
    config: FONT,
    data: { values: points as unknown as Record<string, unknown>[] },
    layer: layers,
  } as TopLevelSpec;
}
