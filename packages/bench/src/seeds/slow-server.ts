/**
 * An HTTP server in its own process (child_process.fork) that answers each request after a delay:
 * `?delay=ms` per request, 100 ms otherwise. It must not share a thread with the bench, whose main
 * thread the `sync` variants block on purpose.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

/** A running slow server: its URL, and how to stop it. */
export interface SlowServer {
  readonly url: string;
  close(): Promise<void>;
}

const DEFAULT_DELAY_MS = 100;

/** Forks the server and resolves once it listens on a loopback port. */
export async function startSlowServer(): Promise<SlowServer> {
  const child = fork(fileURLToPath(import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [port] = (await once(child, 'message')) as [number];
  return {
    url: `http://127.0.0.1:${port}/`,
    async close() {
      const exited = once(child, 'exit');
      child.disconnect();
      await exited;
    },
  };
}

function serve(): void {
  const server = createServer((request, response) => {
    const delay = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('delay') ?? DEFAULT_DELAY_MS);
    setTimeout(() => response.end(`answered after ${delay} ms`), delay);
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send!(typeof address === 'object' && address !== null ? address.port : 0);
  });
  process.on('disconnect', () => process.exit(0));
}

if (process.send !== undefined && process.argv[1] === fileURLToPath(import.meta.url)) serve();
