/**
 * A small HTTP server in its own process that answers every request after a delay. It runs apart
 * from the demo on purpose: a server on the demo's own thread could not answer while that thread
 * is blocked.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** A running slow server: its URL, and how to stop it. */
export interface SlowServer {
  readonly url: string;
  close(): void;
}

/** Starts the server in a child process and resolves once it listens on a loopback port. */
export async function startSlowServer(delayMs: number): Promise<SlowServer> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [String(delayMs)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [port] = (await once(child, 'message')) as [number];
  return { url: `http://127.0.0.1:${port}/`, close: () => child.kill() };
}

if (process.send !== undefined && process.argv[1] === fileURLToPath(import.meta.url)) {
  const delay = Number(process.argv[2]);
  // It also counts the requests it serves at once, so a demo can show its concurrency limit held.
  let inFlight = 0;
  let peak = 0;
  const server = createServer((request, response) => {
    if (request.url === '/peak') {
      response.end(String(peak));
      peak = 0;
      return;
    }
    peak = Math.max(peak, ++inFlight);
    setTimeout(() => {
      inFlight--;
      response.end(`answered ${request.url} after ${delay} ms`);
    }, delay);
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send!(typeof address === 'object' && address ? address.port : 0);
  });
  process.on('disconnect', () => process.exit(0));
}
