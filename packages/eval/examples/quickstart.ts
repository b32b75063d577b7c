import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { evaluateFunctionalCorrectness, loadCodeProblems, scoreGsm8k } from '@loralab/eval';

const problemFile = '../shared/data/humaneval/HumanEval.jsonl.gz'; // from the repository root
const p = loadCodeProblems(problemFile).get('HumanEval/0')!;
const samples = [p.canonical_solution, '    return False\n', '    while True: pass\n'];
const file = `${mkdtempSync(`${tmpdir()}/quickstart-`)}/samples.jsonl`;
writeFileSync(
  file,
  samples.map((completion) => JSON.stringify({ task_id: p.task_id, completion })).join('\n'),
);
const ev = await evaluateFunctionalCorrectness(file, problemFile, { ignoreIncomplete: true });
console.log(
  ev.isolation,
  ev.passAtK,
  ev.results.map((r) => r.result),
  ev.resultsFile.endsWith('_results.jsonl'),
);
console.log(scoreGsm8k([{ question: '1+1?', answer: '1+1=2\n#### 2' }], [' It is 2.\n#### 2']).strictMatch);
