/** A hand-rolled SVG chart: one horizontal bar per variant for the scenario's headline metric. */
import { HIGHER_IS_BETTER, type Row, type Scenario } from './scenario.js';

const BAR_HEIGHT = 22;
const GAP = 6;
const LABEL_WIDTH = 190;
const BAR_AREA = 420;
const VALUE_WIDTH = 110;
const TOP = 44;

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The SVG document charting `rows` of `scenario.headline`; the baseline's bars are drawn darker.
 * @example
 * writeFileSync('cpu.svg', renderChart(cpuScenario, rows))
 */
export function renderChart(scenario: Scenario, rows: readonly Row[]): string {
  const bars = rows.filter((row) => row.metric === scenario.headline);
  const max = Math.max(...bars.map((row) => row.value), Number.MIN_VALUE);
  const width = LABEL_WIDTH + BAR_AREA + VALUE_WIDTH;
  const height = TOP + bars.length * (BAR_HEIGHT + GAP) + 10;
  const better = HIGHER_IS_BETTER.has(scenario.headline) ? 'higher is better' : 'lower is better';
  const unit = bars[0]?.unit ?? '';
  const title = `${scenario.name}: ${scenario.headline} (${unit}), ${better}`;
  const body = bars.map((row, i) => {
    const y = TOP + i * (BAR_HEIGHT + GAP);
    const length = Math.max(1, (row.value / max) * BAR_AREA);
    const isBaseline = row.variant === scenario.baseline || row.variant.startsWith(`${scenario.baseline}/`);
    const value = Number(row.value.toPrecision(3)).toLocaleString('en-US');
    return [
      `<text x="${LABEL_WIDTH - 8}" y="${y + 15}" text-anchor="end">${escape(row.variant)}</text>`,
      `<rect x="${LABEL_WIDTH}" y="${y}" width="${length.toFixed(1)}" height="${BAR_HEIGHT}" fill="${isBaseline ? '#555' : '#3b82f6'}"/>`,
      `<text x="${(LABEL_WIDTH + length + 6).toFixed(1)}" y="${y + 15}">${escape(`${value} ${unit}`)}</text>`,
    ].join('\n  ');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `  <rect width="100%" height="100%" fill="#fff"/>`,
    `  <text x="10" y="24" font-size="15" font-weight="bold">${escape(title)}</text>`,
    `  ${body.join('\n  ')}`,
    '</svg>',
    '',
  ].join('\n');
}
