// @loralab/train: one trainer for full finetuning and LoRA (issue 6). The API is filled in by the train work.
export const TRAIN_PACKAGE = '@loralab/train';
