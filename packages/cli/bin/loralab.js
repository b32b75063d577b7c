#!/usr/bin/env node
// The `loralab` command (built output; from the repository without a build: npm run loralab -- <args>).
import { runCli } from '../dist/main.js';

await runCli();
