#!/usr/bin/env node
// Checks that each package imports only the @loralab packages that docs/architecture.md allows
// (the dependency table of ../shared/DESIGN.md), both in package.json and in its source files.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** package -> the @loralab packages it may depend on */
export const ALLOWED = {
  tokenizer: [],
  data: ['tokenizer'],
  model: ['kernels'],
  kernels: [],
  lora: ['model'],
  train: ['model', 'lora', 'data', 'kernels'],
  eval: ['model', 'tokenizer', 'data'],
  rank: ['model', 'lora'],
  cli: ['tokenizer', 'data', 'model', 'kernels', 'lora', 'train', 'eval', 'rank'],
};

const root = new URL('..', import.meta.url).pathname;
const pkgsDir = join(root, 'packages');
const problems = [];

function* sourceFiles(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* sourceFiles(p);
    else if (/\.(c|m)?[jt]s$/.test(name)) yield p;
  }
}

for (const name of existsSync(pkgsDir) ? readdirSync(pkgsDir) : []) {
  const dir = join(pkgsDir, name);
  if (!existsSync(join(dir, 'package.json'))) continue;
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const allowed = ALLOWED[name];
  if (!allowed) {
    problems.push(`packages/${name}: not in the allowed-dependency table of tools/check-boundaries.mjs`);
    continue;
  }
  if (pkg.name !== `@loralab/${name}`)
    problems.push(`packages/${name}/package.json: name must be @loralab/${name}`);
  const ok = (dep) => {
    const target = dep.replace('@loralab/', '').split('/')[0];
    return target === name || allowed.includes(target); // a package's own examples may import it by name
  };
  for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const dep of Object.keys(pkg[field] ?? {})) {
      if (dep.startsWith('@loralab/') && !ok(dep)) {
        problems.push(
          `packages/${name}/package.json ${field}: ${dep} is not allowed (allowed: ${allowed.join(', ') || 'none'})`,
        );
      }
    }
  }
  for (const file of sourceFiles(dir)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import|require)\s*\(?\s*['"](@loralab\/[^'"]+)['"]/g)) {
      if (!ok(m[1])) {
        const line = text.slice(0, m.index).split('\n').length;
        problems.push(
          `${file.slice(root.length)}:${line}: imports ${m[1]}, which packages/${name} may not use`,
        );
      }
    }
  }
}

if (problems.length > 0) {
  console.error(`Package boundary check failed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('Package boundaries: ok');
