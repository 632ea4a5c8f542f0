/**
 * Progress of a long run, on stderr so stdout keeps only the tables: a redrawn bar on a TTY, one
 * line per step otherwise (CI logs).
 */

/** What a scenario reports while it runs. */
export interface Progress {
  /** The scenario will take `total` steps. */
  begin(total: number): void;
  /** One step is starting; `label` says what it measures. */
  step(label: string): void;
}

/** The runner's side: names the scenario, and clears the bar when it is over. */
export interface ProgressReporter extends Progress {
  start(scenario: string): void;
  end(): void;
}

const BAR_WIDTH = 24;

/**
 * A progress reporter writing to `stream`: a bar when it is a TTY, plain lines otherwise.
 * @example
 * const progress = createProgress(process.stderr)
 * progress.start('cpu'); progress.begin(6); progress.step('tothread 1ms'); progress.end()
 */
export function createProgress(stream: NodeJS.WriteStream): ProgressReporter {
  const tty = stream.isTTY === true;
  let scenario = '';
  let total = 1;
  let done = 0;
  let started = 0;
  const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(1)}s`;
  return {
    start(name) {
      scenario = name;
      total = 1;
      done = 0;
      started = performance.now();
    },
    begin(steps) {
      total = Math.max(1, steps);
    },
    step(label) {
      done++;
      if (!tty) {
        stream.write(`[${scenario}] ${done}/${total} ${label} (${elapsed()})\n`);
        return;
      }
      const filled = Math.min(BAR_WIDTH, Math.round((BAR_WIDTH * (done - 1)) / total));
      const line = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)} ${scenario} ${done}/${total} ${label} ${elapsed()}`;
      stream.write(`\r\x1b[2K${line.slice(0, (stream.columns || 100) - 1)}`);
    },
    end() {
      stream.write(tty ? '\r\x1b[2K' : `[${scenario}] done in ${elapsed()}\n`);
    },
  };
}
