// @loralab/cli: the loralab command (issue 9).
export const CLI_PACKAGE = '@loralab/cli';
