// Every `loralab` command, in the order the help lists them, and the groups that hold subcommands.
import type { CommandSpec } from './command.js';
import { dataInspect } from './data-inspect.js';
import { dataPrepare } from './data-prepare.js';
import { evalGsm8k } from './eval-gsm8k.js';
import { evalHumaneval } from './eval-humaneval.js';
import { evalMc } from './eval-mc.js';
import { evalPerplexity } from './eval-perplexity.js';
import { experimentJobs, experimentMerge, experimentPlan, experimentRunUnit } from './experiment-jobs.js';
import { experimentRun, report } from './experiment-run.js';
import { finetune } from './finetune.js';
import { pretrain } from './pretrain.js';
import { rank } from './rank.js';
import { tokenizerTrain } from './tokenizer-train.js';

export const COMMANDS: readonly CommandSpec[] = [
  tokenizerTrain,
  dataPrepare,
  dataInspect,
  pretrain,
  finetune,
  evalHumaneval,
  evalGsm8k,
  evalMc,
  evalPerplexity,
  rank,
  experimentRun,
  experimentPlan,
  experimentRunUnit,
  experimentMerge,
  experimentJobs,
  report,
];

/** Groups of subcommands and their one-line summaries. */
export const GROUPS: Record<string, string> = {
  tokenizer: 'train tokenizers',
  data: 'tokenized datasets: prepare shards, inspect examples',
  eval: 'learning (humaneval, gsm8k) and forgetting (mc, perplexity) evaluations',
  experiment: 'the learn-vs-forget experiment of Biderman et al. (2024)',
};
