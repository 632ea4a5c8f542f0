/**
 * The legacy synchronous HTTP client of examples/legacy/http-client.cjs: the bench offloads the
 * very code the examples show. `sendRequestSync(url)` parks its thread in Atomics.wait while a
 * helper thread of its own does the fetch; like Python's `urllib.request.urlopen`, a blocked
 * caller uses no CPU.
 */
import { createRequire } from 'node:module';

// From dist/legacy/ (and src/legacy/): up to the repository root.
const client = createRequire(import.meta.url)('../../../../examples/legacy/http-client.cjs') as typeof import('../../../../examples/legacy/http-client.cjs');

/** GETs `url`, blocking the calling thread until the whole response is in. */
export const sendRequestSync = client.sendRequestSync;
