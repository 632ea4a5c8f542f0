import fs from 'node:fs';
import { createPool } from '@tothread/core';
import { Piscina } from 'piscina';
import { increment } from './dist/workers/tasks.js';
import { distFile } from './dist/paths.js';
const which = process.argv[2], N = Number(process.argv[3] ?? 20000);
let f, close;
if (which === 'tothread') { const tt = createPool({ minThreads: 2, maxThreads: 2 }); f = (x) => tt.toThread(increment, x); close = () => tt.close(); }
else { const p = new Piscina({ filename: distFile('workers/piscina.js'), minThreads: 2, maxThreads: 2, atomics: which === 'pisSync' ? 'sync' : 'async' }); f = (x) => p.run(x, { name: 'default' }); close = () => p.destroy(); }
const ticks = () => { const m = {}; for (const t of fs.readdirSync('/proc/self/task')) { try { const s = fs.readFileSync(`/proc/self/task/${t}/stat`, 'utf8'); const c = fs.readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim(); const p = s.slice(s.lastIndexOf(')') + 2).split(' '); m[t] = { c, cpu: +p[11] + +p[12], cs: 0 }; const st = fs.readFileSync(`/proc/self/task/${t}/status`, 'utf8'); m[t].cs = +/voluntary_ctxt_switches:\s+(\d+)/.exec(st)[1] + +/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(st)[1]; } catch {} } return m; };
for (let i = 0; i < 2000; i++) await f(i);
const a = ticks(); const s = performance.now();
for (let i = 0; i < N; i++) await f(i);
const el = performance.now() - s; const b = ticks();
const out = [];
for (const t in b) { const d = b[t].cpu - (a[t]?.cpu ?? 0); const cs = b[t].cs - (a[t]?.cs ?? 0); if (d > 2 || cs > 1000) out.push(`${b[t].c}:${(d * 10000 / N).toFixed(1)}us/${(cs / N).toFixed(2)}cs`); }
console.log(which.padEnd(9), (el / N * 1000).toFixed(1), 'us/call wall;', out.join(' '));
await close();
