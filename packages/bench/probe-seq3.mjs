import { createPool } from '@tothread/core';
import { Piscina } from 'piscina';
import { increment } from './dist/workers/tasks.js';
import { distFile } from './dist/paths.js';
const N = Number(process.argv[2] ?? 3000), R = Number(process.argv[3] ?? 5);
const tt = createPool({ minThreads: 2, maxThreads: 2 });
const mk = (atomics) => new Piscina({ filename: distFile('workers/piscina.js'), minThreads: 2, maxThreads: 2, atomics });
const ps = mk('sync'), pa = mk('async'), pd = mk('disabled');
const variants = { tothread: (x) => tt.toThread(increment, x), pisSync: (x) => ps.run(x, { name: 'default' }), pisAsync: (x) => pa.run(x, { name: 'default' }), pisOff: (x) => pd.run(x, { name: 'default' }) };
for (const f of Object.values(variants)) for (let i = 0; i < 500; i++) await f(i);
const res = {};
for (let r = 0; r < R; r++) for (const [name, f] of Object.entries(variants)) {
  const t = [];
  for (let i = 0; i < N; i++) { const s = performance.now(); await f(i); t.push(performance.now() - s); }
  t.sort((a, b) => a - b);
  (res[name] ??= []).push(+(t[N >> 1] * 1000).toFixed(1));
}
console.log(JSON.stringify(res));
await tt.close(); await ps.destroy(); await pa.destroy(); await pd.destroy();
