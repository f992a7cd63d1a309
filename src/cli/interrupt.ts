/** Ctrl-C handling shared by every long-running command. */

/** Exit status of a run stopped by a signal (its checkpoint is saved), as shells report SIGINT. */
export const INTERRUPTED = 130;

/**
 * An AbortSignal raised by Ctrl-C (SIGINT) or SIGTERM while `fn` runs; a second signal exits at
 * once (the last checkpoint was written atomically, so it stays intact). `say` prints one line.
 */
export async function withInterrupt<T>(
  what: string,
  fn: (signal: AbortSignal) => Promise<T>,
  say: (line: string) => void = (line) => process.stderr.write(`\n${line}\n`),
): Promise<T> {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      say(`${sig} again: exiting now`);
      process.exit(INTERRUPTED);
    }
    say(`${sig}: ${what} (press Ctrl-C again to quit at once)`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
