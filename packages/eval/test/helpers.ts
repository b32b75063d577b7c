// Paths of the shared real data files; tests that need them skip with a message when they are absent.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const shared = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));

export const HUMANEVAL_FILE = `${shared}humaneval/HumanEval.jsonl.gz`;
export const GSM8K_TEST_FILE = `${shared}gsm8k/test.jsonl`;
export const GSM8K_TRAIN_FILE = `${shared}gsm8k/train.jsonl`;
export const HELLASWAG_FILE = `${shared}hellaswag/hellaswag_val_sample1000.jsonl`;

/** True when the file exists; otherwise prints why the dependent tests are skipped. */
export function haveShared(file: string): boolean {
  if (existsSync(file)) return true;
  console.warn(
    `skipping: ${file} is missing (../shared/data from the repository root holds the real data files)`,
  );
  return false;
}

/**
 * A completion body (indented) that forks 2 processes of 300 MiB each, alive together for 2 s, then prints the
 * children's wait statuses: each is within a 512 MiB RLIMIT_AS, together they are over a 512 MiB program limit,
 * so under a per-program cgroup one is OOM-killed (status 9); without one both exit 0.
 */
export const MEMORY_HOG_BODY = `    import os, time
    pids = []
    for i in range(2):
        pid = os.fork()
        if pid == 0:
            b = bytearray(b'\\x01') * (300 << 20)
            time.sleep(2)
            os._exit(0)
        pids.append(pid)
    print('statuses', sorted(os.waitpid(p, 0)[1] for p in pids))
    return 0
`;
