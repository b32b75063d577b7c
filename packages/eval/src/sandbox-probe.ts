// Finds out once per interpreter which isolation this machine allows (`unshare` namespaces or rlimits only).

import { SandboxError } from './errors.js';
import { type ConcreteIsolation, executeProgram } from './execute-program.js';
import type { ResolvedSandboxConfig } from './sandbox-config.js';

/** What the probe found. */
export interface SandboxProbe {
  /** The isolation `auto` resolves to. */
  isolation: ConcreteIsolation;
  /** Why namespaces are not used, when they are not. */
  reason: string | undefined;
  /** True when programs run as an unprivileged uid (root with namespaces). */
  dropsPrivileges: boolean;
}

const cache = new Map<string, Promise<SandboxProbe>>();

/** Runs a one-line program under `unshare` to see whether namespaces work here; cached per python. */
export function probeSandbox(config: ResolvedSandboxConfig): Promise<SandboxProbe> {
  let probe = cache.get(config.python);
  if (!probe) {
    probe = runProbe(config);
    cache.set(config.python, probe);
  }
  return probe;
}

async function runProbe(config: ResolvedSandboxConfig): Promise<SandboxProbe> {
  // A fresh import after the privilege drop shows that the interpreter's library is readable by the sandbox uid.
  const program =
    'import os, fractions\nassert os.getpid() == 1, "not in a new PID namespace"\nprint(os.getuid())';
  const probeConfig = { ...config, timeoutS: 10, reliabilityGuard: false };
  try {
    const r = await executeProgram(program, probeConfig, 'namespaces');
    if (r.passed) {
      return { isolation: 'namespaces', reason: undefined, dropsPrivileges: r.stdout.trim() !== '0' };
    }
    return {
      isolation: 'rlimits',
      reason: `probe program ${r.result}; stderr: ${r.stderr}`,
      dropsPrivileges: false,
    };
  } catch (e) {
    if (!(e instanceof SandboxError)) throw e;
    // Namespaces refused; check that the interpreter itself works before falling back.
    await executeProgram('pass', probeConfig, 'rlimits');
    return { isolation: 'rlimits', reason: e.message, dropsPrivileges: false };
  }
}

/** The isolation a run uses: `auto` becomes what the probe found; `namespaces` fails loudly if unavailable. */
export async function decideIsolation(config: ResolvedSandboxConfig): Promise<ConcreteIsolation> {
  if (config.isolation === 'rlimits') return 'rlimits';
  const probe = await probeSandbox(config);
  if (config.isolation === 'namespaces' && probe.isolation !== 'namespaces') {
    throw new SandboxError(`isolation "namespaces" was asked for but is not available here: ${probe.reason}`);
  }
  return probe.isolation;
}
