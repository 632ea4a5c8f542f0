/**
 * Run in a fresh `node` process by the startup scenario: `node startup.js <tothread|piscina>`
 * imports the library, creates a pool with default options, awaits the first result of a trivial
 * call and prints `{ importMs, firstResultMs }` as JSON.
 */
import { distFile } from '../paths.js';
import { increment } from '../workers/tasks.js';

async function probe(variant: string): Promise<{ importMs: number; firstResultMs: number }> {
  const start = performance.now();
  if (variant === 'tothread') {
    const { createPool } = await import('@tothread/core');
    const imported = performance.now();
    const pool = createPool();
    await pool.toThread(increment, 1);
    const first = performance.now();
    await pool.close();
    return { importMs: imported - start, firstResultMs: first - imported };
  }
  if (variant === 'piscina') {
    const { Piscina } = await import('piscina');
    const imported = performance.now();
    const pool = new Piscina({ filename: distFile('workers/piscina.js') });
    await pool.run(1);
    const first = performance.now();
    await pool.destroy();
    return { importMs: imported - start, firstResultMs: first - imported };
  }
  throw new TypeError(`Expected the variant to be \`tothread\` or \`piscina\`, got \`${variant}\``);
}

process.stdout.write(JSON.stringify(await probe(process.argv[2] ?? '')));
