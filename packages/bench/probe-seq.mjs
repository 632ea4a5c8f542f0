import { createPool } from '@tothread/core';
import { Piscina } from 'piscina';
import { increment } from './dist/workers/tasks.js';
import { distFile } from './dist/paths.js';
const only = process.argv[2];
const N = Number(process.argv[3] ?? 3000), R = Number(process.argv[4] ?? 5);
const tt = createPool({ minThreads: 2, maxThreads: 2 });
const pis = new Piscina({ filename: distFile('workers/piscina.js'), minThreads: 2, maxThreads: 2 });
const variants = { tothread: (x) => tt.toThread(increment, x), piscina: (x) => pis.run(x, { name: 'default' }) };
for (const f of Object.values(variants)) for (let i = 0; i < 500; i++) await f(i);
const res = {};
for (let r = 0; r < R; r++) for (const [name, f] of Object.entries(variants)) {
  if (only && only !== 'both' && name !== only) continue;
  const t = [];
  for (let i = 0; i < N; i++) { const s = performance.now(); await f(i); t.push(performance.now() - s); }
  t.sort((a, b) => a - b);
  (res[name] ??= []).push((t[N >> 1] * 1000).toFixed(1));
}
console.log(JSON.stringify(res));
await tt.close(); await pis.destroy();
