/** Where things are, from the compiled `dist/` files. */
import { fileURLToPath } from 'node:url';

/** `bench-results/` at the repository root: the output other tools read. */
export const RESULTS_DIR = fileURLToPath(new URL('../../../bench-results/', import.meta.url));

/** The bench package's own directory (`packages/bench/`). */
export const PACKAGE_DIR = fileURLToPath(new URL('../', import.meta.url));

/** The absolute path of a compiled file of this package, e.g. `distFile('workers/raw.js')`. */
export function distFile(relative: string): string {
  return fileURLToPath(new URL(relative, import.meta.url));
}
