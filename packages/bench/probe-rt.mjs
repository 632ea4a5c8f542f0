import { createPool } from '@tothread/core';
import { Piscina } from 'piscina';
import { increment } from './dist/workers/tasks.js';
const pool = createPool({ minThreads: 2, maxThreads: 2 });
const pis = new Piscina({ filename: new URL('./dist/workers/piscina.js', import.meta.url).pathname, minThreads: 2, maxThreads: 2 });
const variants = { tothread: (x) => pool.toThread(increment, x), piscina: (x) => pis.run(x) };
const N = Number(process.argv[2] ?? 3000), R = Number(process.argv[3] ?? 8);
const res = { tothread: [], piscina: [] }, sync = { tothread: [], piscina: [] };
for (const f of Object.values(variants)) for (let i = 0; i < 2000; i++) await f(i);
for (let r = 0; r < R; r++) for (const [k, f] of Object.entries(variants)) {
  const lat = new Float64Array(N), s = new Float64Array(N);
  for (let i = 0; i < N; i++) { const t0 = performance.now(); const p = f(i); s[i] = performance.now() - t0; await p; lat[i] = performance.now() - t0; }
  lat.sort(); s.sort();
  res[k].push(lat[N >> 1] * 1000); sync[k].push(s[N >> 1] * 1000);
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const k of Object.keys(res)) console.log(k, 'p50 rt', med(res[k]).toFixed(1), 'sync part', med(sync[k]).toFixed(2), 'rounds', res[k].map((x) => x.toFixed(0)).join(' '));
console.log('ratio', (med(res.tothread) / med(res.piscina)).toFixed(3));
await pool.close(); await pis.destroy();
