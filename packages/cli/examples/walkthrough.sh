#!/usr/bin/env bash
# The README's walkthrough: every loralab command once, on the built-in corpora, at a size that runs in minutes on
# two CPU cores. Usage: examples/walkthrough.sh [WORK_DIR]   (LORALAB overrides the command, e.g. LORALAB=loralab)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
LORALAB="${LORALAB:-$here/../../../node_modules/.bin/tsx --conditions=@loralab/source $here/../src/main.ts}"
work="${1:-$(mktemp -d)}"
mkdir -p "$work" && cd "$work"
step() { echo; echo "\$ loralab $*"; $LORALAB "$@"; }

step tokenizer train --corpus brown --corpus gsm8k-style --corpus code --vocab-size 2048 -o tok
step data prepare -t tok --corpus brown -o data/brown
step data prepare -t tok --corpus gsm8k-style --kind chat --count 2000 -o data/math-ift
step data inspect -t tok data/math-ift --row 3
step pretrain -t tok --data data/brown -o runs/base --steps 60 --backend wasm
step finetune --method lora --task ift --model runs/base/final --data data/math-ift --seq-len 192 --rank 16 --steps 20 -o runs/lora-r16 --backend wasm
step finetune --method full --task ift --model runs/base/final --data data/math-ift --seq-len 192 --steps 20 -o runs/full --backend wasm
step rank --base runs/base/final --adapter runs/lora-r16/final
step rank --base runs/base/final --finetuned runs/full/final -o runs/full/rank
step eval perplexity --model runs/base/final --adapter runs/lora-r16/final --corpus brown --categories r --limit 4 --backend wasm
step eval mc --model runs/base/final --task continuation --corpus brown --categories r --backend wasm
step eval gsm8k --model runs/full/final --corpus gsm8k-style --count 8 --max-new-tokens 64 --backend wasm
step eval humaneval --model runs/base/final --corpus humaneval-style --count 4 --n 4 --max-new-tokens 48 --k 1,4 --backend wasm
