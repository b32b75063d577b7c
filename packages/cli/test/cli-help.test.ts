// The command line itself: help on every command, usage errors and their exit codes, the version.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS, GROUPS } from '../src/commands/index.js';
import { run } from './helpers.js';

describe('help', () => {
  it('lists every command at the top level, with the exit codes', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toContain(`  ${c.path.join(' ')} `);
    expect(r.stdout).toContain('Exit codes: 0 ok, 1 failure, 2 usage error, 3 config error, 4 data error');
    expect((await run(['-h'])).stdout).toBe(r.stdout);
  });

  it.each(COMMANDS.map((c) => [c.path.join(' '), c] as const))('loralab %s --help', async (_name, c) => {
    for (const flag of ['--help', '-h']) {
      const r = await run([...c.path, flag]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(
        r.stdout.startsWith(
          `loralab ${c.path.join(' ')}: ${c.summary}\n\nUsage: loralab ${c.path.join(' ')} `,
        ),
      ).toBe(true);
      for (const name of Object.keys(c.options)) expect(r.stdout).toContain(`--${name}`);
      expect(r.stdout).toContain('--verbose');
      expect(r.stdout).toContain('Examples:');
      if (c.config) expect(r.stdout).toContain('--set KEY=VALUE');
    }
    // --help wins over anything else on the line, even bad flags
    expect((await run([...c.path, '--no-such-flag', '--help'])).code).toBe(0);
  });

  it.each(Object.keys(GROUPS))('loralab %s (a group) lists its commands', async (group) => {
    for (const argv of [[group], [group, '--help']]) {
      const r = await run(argv);
      expect(r.code).toBe(0);
      for (const c of COMMANDS.filter((x) => x.path[0] === group))
        expect(r.stdout).toContain(`  ${c.path[1]} `);
    }
  });

  it('prints the version of package.json', async () => {
    const version = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
    expect(await run(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });
});

describe('usage errors exit 2 with one line and a hint', () => {
  it('no command: the help on stderr', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: loralab <command>');
  });

  it('unknown commands, with a suggestion', async () => {
    const r = await run(['finetuen']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "loralab: unknown command 'finetuen'; did you mean 'finetune'? (commands: tokenizer, data, pretrain, finetune, eval, rank, experiment, report)\nRun 'loralab --help' for usage.\n",
    );
    const sub = await run(['data', 'prepar']);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toContain("unknown command 'data prepar'; did you mean 'prepare'?");
    expect(sub.stderr).toContain("Run 'loralab data --help' for usage.");
    expect((await run(['--bogus'])).code).toBe(2);
  });

  it('unknown flags, missing values, bad numbers and choices, wrong positionals', async () => {
    const cases: [string[], RegExp][] = [
      [['rank', '--bogus'], /Unknown option '--bogus'/],
      [['rank', '--base'], /--base <value>/],
      [
        ['eval', 'humaneval', '--samples', 's', '--problems', 'p', '--k', '1,x'],
        /--k expects positive integers/,
      ],
      [['finetune', '--method', 'qlora'], /--method must be one of full, lora, found "qlora"/],
      [['data', 'inspect', '--tokenizer', 't'], /expected 1 argument, found 0/],
      [['data', 'inspect', '--tokenizer', 't', 'a', 'b'], /expected 1 argument, found 2 \(a b\)/],
      [['rank', '--base', 'b'], /exactly one of --finetuned DIR and --adapter DIR/],
      [
        ['tokenizer', 'train', '--output', 'x', '--vocab-size', '1.5', '--corpus', 'brown'],
        /--vocab-size must be an integer >= 1, got 1.5/,
      ],
      [['tokenizer', 'train', '--output', 'x'], /no input: give text files or --corpus NAME/],
      [['pretrain', '--data', 'd', '--output', 'o'], /missing --tokenizer/],
      [['finetune', '--task', 'ift'], /missing --method full\|lora/],
      [['eval', 'humaneval', '--samples', 's'], /--samples needs --problems FILE/],
    ];
    for (const [argv, message] of cases) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr, argv.join(' ')).toMatch(message);
      expect(r.stderr).toContain(
        `Run 'loralab ${argv[0] === 'eval' || argv[0] === 'data' || argv[0] === 'tokenizer' ? `${argv[0]} ${argv[1]}` : argv[0]} --help' for usage.`,
      );
      expect(r.stdout).toBe('');
    }
  });
});
