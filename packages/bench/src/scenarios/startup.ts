/**
 * Cold start, each run in a fresh `node` process: the time to import the library, then from
 * creating a pool (default options) to the first result of a trivial call. Runs alternate between
 * the variants; medians.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { distFile } from '../paths.js';
import { row, type Row, type Scenario } from '../scenario.js';
import { median } from '../stats.js';

const run = promisify(execFile);
const VARIANTS = ['tothread', 'piscina'] as const;

interface Probe {
  readonly importMs: number;
  readonly firstResultMs: number;
}

async function probe(variant: string): Promise<Probe> {
  const { stdout } = await run(process.execPath, [distFile('probes/startup.js'), variant], { timeout: 30_000 });
  return JSON.parse(stdout) as Probe;
}

/** `pnpm bench startup`: import time and pool creation to first result, in fresh processes. */
export const startup: Scenario = {
  name: 'startup',
  about: 'in a fresh node process per run: import time, then pool creation to the first result of a trivial call (default pool options); medians',
  baseline: 'piscina',
  headline: 'ms',
  async run({ quick, progress }) {
    const runs = quick ? 3 : 9;
    const probes = new Map(VARIANTS.map((v) => [v, [] as Probe[]]));
    progress.begin(runs);
    for (let i = 1; i <= runs; i++) {
      progress.step(`run ${i}/${runs}: ${VARIANTS.join(', ')}`);
      for (const variant of VARIANTS) probes.get(variant)!.push(await probe(variant));
    }
    const rows: Row[] = [];
    for (const [label, pick] of [
      ['import', (p: Probe) => p.importMs],
      ['first-result', (p: Probe) => p.firstResultMs],
      ['total', (p: Probe) => p.importMs + p.firstResultMs],
    ] as const) {
      for (const [variant, samples] of probes) rows.push(row(`${variant}/${label}`, 'ms', median(samples.map(pick))));
    }
    return rows;
  },
};
