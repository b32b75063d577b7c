// The package version, read from package.json at run time (from src/ or dist/ alike).
import { readFileSync } from 'node:fs';

export const CLI_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
