import { createPool } from '@tothread/core';
import { Piscina } from 'piscina';
import { increment } from './dist/workers/tasks.js';
import { distFile } from './dist/paths.js';
const which = process.argv[2], N = Number(process.argv[3] ?? 20000);
let f, close;
if (which === 'tothread') { const tt = createPool({ minThreads: 2, maxThreads: 2 }); f = (x) => tt.toThread(increment, x); close = () => tt.close(); }
else { const p = new Piscina({ filename: distFile('workers/piscina.js'), minThreads: 2, maxThreads: 2, atomics: 'async' }); f = (x) => p.run(x, { name: 'default' }); close = () => p.destroy(); }
for (let i = 0; i < 500; i++) await f(i);
const s = performance.now();
for (let i = 0; i < N; i++) await f(i);
console.log(which, ((performance.now() - s) / N * 1000).toFixed(1), 'us/call mean');
await close();
