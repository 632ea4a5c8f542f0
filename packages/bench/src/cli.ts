/**
 * `pnpm bench [scenario...] [--quick]`: runs the scenarios (all by default), prints each one's
 * table and writes bench-results/ (JSON and SVG per scenario, summary.md). With more than one, each
 * runs in a fresh Node process of its own, so that none measures what an earlier one left behind
 * (heap, threads, loaded pools).
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createProgress } from './progress.js';
import { formatTable, writeResult } from './report.js';
import { SCENARIOS } from './scenarios/index.js';
import { writeSummary } from './summary.js';

const USAGE = `usage: pnpm bench [scenario...] [--quick]
  scenarios: ${SCENARIOS.map((s) => s.name).join(', ')} (all when none is named)
  --quick    shrink every count so the whole suite takes about a minute (what CI runs)`;

function parseArgs(argv: readonly string[]): { names: string[]; quick: boolean; apart: boolean } {
  const args = argv.filter((arg) => arg !== '--');
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    process.exit(0);
  }
  // --apart: run by the parent for one scenario (see runApart), not typed by hand.
  const unknown = args.filter((arg) => arg.startsWith('-') && arg !== '--quick' && arg !== '--apart');
  const names = args.filter((arg) => !arg.startsWith('-'));
  const missing = names.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length > 0 || missing.length > 0) {
    console.error(`bench: unknown ${[...unknown, ...missing].map((a) => `\`${a}\``).join(', ')}\n${USAGE}`);
    process.exit(2);
  }
  return { names, quick: args.includes('--quick'), apart: args.includes('--apart') };
}

const { names, quick, apart } = parseArgs(process.argv.slice(2));
const selected = names.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => names.includes(s.name));
const progress = createProgress(process.stderr);
const cpus = availableParallelism();
let settled = false;
// A promise that never settles (a pool's close(), a worker's reply) lets the event loop empty with
// the run unfinished, and Node would exit quietly: say so.
process.on('exit', () => {
  if (!settled) {
    console.error('bench: the event loop emptied before every scenario finished (a promise never settled)');
    process.exitCode = 1;
  }
});

/**
 * Runs `name` in a child process of this same script; resolves once it has exited, rejects if it
 * failed. A Ctrl-C or SIGTERM to this process ends the child too.
 */
function runApart(name: string): Promise<void> {
  const args = [...process.execArgv, fileURLToPath(import.meta.url), name, ...(quick ? ['--quick'] : []), '--apart'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit' });
    const stop = (signal: NodeJS.Signals): void => {
      child.kill(signal);
      process.exitCode = 1;
    };
    process.once('SIGINT', stop).once('SIGTERM', stop);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', stop).off('SIGTERM', stop);
      if (code === 0) resolve();
      else reject(new Error(`scenario \`${name}\` exited with ${signal ?? `code ${code}`}`));
    });
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  if (!apart) console.log(`tothread bench${quick ? ' (--quick)' : ''}: node ${process.version}, ${cpus} cpus`);
  if (selected.length > 1) {
    for (const scenario of selected) await runApart(scenario.name);
  } else {
    for (const scenario of selected) {
      const notes: string[] = [];
      progress.start(scenario.name);
      const rows = await scenario.run({ quick, cpus, progress, note: (text) => notes.push(text) });
      progress.end();
      const path = writeResult(scenario, rows);
      console.log(`\n## ${scenario.name}: ${scenario.about}\n${formatTable(scenario, rows)}`);
      for (const text of notes) console.log(`note: ${text}`);
      console.log(`(saved ${path})`);
    }
  }
  // Run apart, the parent writes the summary once every scenario has run: a failed run leaves the last one whole.
  if (!apart) console.log(`\nsummary: ${writeSummary(SCENARIOS, quick)} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

main().then(
  () => {
    settled = true;
    // A handle a scenario left open must not keep the parent waiting for the next one.
    if (apart) process.exit();
  },
  (error: unknown) => {
    settled = true;
    console.error('bench: a scenario failed:', error);
    process.exitCode = 1;
    if (apart) process.exit();
  },
);
