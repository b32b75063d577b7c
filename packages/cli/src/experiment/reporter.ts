// How the experiment tells its caller what it is doing: log lines and progress of long phases.

/** Implemented by the CLI as a progress bar (plain lines when not a terminal). */
export interface Reporter {
  /** One line of log, e.g. `arm lora-r16: 120 steps, loss 1.83`. */
  log(line: string): void;
  /** Progress of a long task; `total` null when unknown. Called repeatedly with the same label. */
  progress(label: string, done: number, total: number | null): void;
  /** The task with this label has finished. */
  done?(label: string): void;
}

/** A reporter that drops everything (the default of runExperiment). */
export const silentReporter: Reporter = { log() {}, progress() {} };

/** A reporter that writes log lines (and nothing for progress) to a function, e.g. console.log. */
export function lineReporter(write: (line: string) => void): Reporter {
  return { log: write, progress() {}, done: (label) => write(`${label}: done`) };
}
