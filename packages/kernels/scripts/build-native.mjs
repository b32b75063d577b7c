#!/usr/bin/env node
// Install step of @loralab/kernels: compiles the N-API addon from source with node-gyp against the system
// OpenBLAS (Linux; with OpenMP) or Apple's Accelerate (macOS; without OpenMP, so the fused kernels run on one thread). The addon is optional: when it cannot be built (no compiler, no BLAS, LORALAB_KERNELS=off) this
// prints one notice and exits 0, so `npm ci` succeeds and loralab runs on the TensorFlow.js wasm backend.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const notice = (why) =>
  console.log(
    `@loralab/kernels: native kernels not built (${why}); loralab will use the TensorFlow.js backends.`,
  );

if ((process.env.LORALAB_KERNELS ?? '').toLowerCase() === 'off') {
  notice('LORALAB_KERNELS=off');
  process.exit(0);
}

/** node-gyp: the copy npm ships (npm exports its path to scripts), else one resolvable from here. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  const npmDir = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm');
  candidates.push(join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed locally
  }
  return candidates.find((p) => existsSync(p));
}

const nodeGyp = findNodeGyp();
if (!nodeGyp) {
  notice('node-gyp not found');
  process.exit(0);
}

// macOS links Apple's Accelerate (always present); elsewhere the system OpenBLAS, found by pkg-config.
const pc =
  process.platform === 'darwin'
    ? { status: 0 }
    : spawnSync('pkg-config', ['--exists', 'openblas'], { stdio: 'ignore' });
if (pc.status !== 0) {
  notice('OpenBLAS not found by pkg-config; on Debian/Ubuntu: apt-get install libopenblas-dev');
  process.exit(0);
}

// Node's own headers when it was installed with them (Debian, nvm, official tarballs): node-gyp would otherwise
// download them, and the network may not reach nodejs.org.
const args = [nodeGyp, 'rebuild', '--jobs=2'];
const prefix = resolve(dirname(process.execPath), '..');
if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);

const r = spawnSync(process.execPath, args, { cwd: pkgDir, stdio: 'inherit', timeout: 600_000 });
if (r.status !== 0) {
  rmSync(join(pkgDir, 'build'), { recursive: true, force: true });
  notice(`node-gyp exited with ${r.status ?? r.signal ?? r.error?.message}`);
  process.exit(0);
}
console.log('@loralab/kernels: native kernels built (build/Release/loralab_kernels.node).');
