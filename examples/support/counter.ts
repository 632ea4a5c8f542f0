/** A counter that ticks every `intervalMs` and records how late each tick fired. */
export interface Counter {
  /** Stops the counter and returns each tick's lateness in ms. */
  stop(): number[];
}

/** Starts a counter; `onTick` sees each tick's number and lateness (ms). */
export function startCounter(intervalMs: number, onTick: (tick: number, lateMs: number) => void): Counter {
  const start = performance.now();
  const lags: number[] = [];
  let tick = 0;
  let timer: NodeJS.Timeout;
  const schedule = (): void => {
    const due = start + (tick + 1) * intervalMs;
    timer = setTimeout(() => {
      tick++;
      const late = Math.max(0, performance.now() - due);
      lags.push(late);
      onTick(tick, late);
      schedule();
    }, Math.max(0, due - performance.now()));
  };
  schedule();
  return {
    stop() {
      clearTimeout(timer);
      return lags;
    },
  };
}
