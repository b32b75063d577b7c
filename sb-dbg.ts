import { executeProgram, resolveSandboxConfig } from './packages/eval/src/index.ts';
import { execSync } from 'node:child_process';
const c = resolveSandboxConfig({ timeoutS: 2, reliabilityGuard: false, uidBase: 2_090_000_000 });
const p = process.argv[2]!;
const r = await executeProgram(p, c, 'rlimits');
console.log(r.result, r.killed, r.pidsPeak, r.memoryPeakBytes, r.durationMs);
console.log(execSync('ps -eo pid,uid,ppid,stat,cmd | grep 2090000 | grep -v grep || true').toString());
await new Promise((r) => setTimeout(r, 1000));
console.log(execSync('ps -eo pid,uid,ppid,stat,cmd | grep 2090000 | grep -v grep || true').toString());
