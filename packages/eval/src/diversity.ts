// Output diversity as in the paper's Figure 5 (Biderman et al. 2024): among the n samples of each problem,
// how many distinct completions there are, exactly and after normalising whitespace and comments, overall
// and split into passing and failing samples.

/**
 * Python source with `#` comments removed (string literals, including triple-quoted ones, are respected)
 * and every run of whitespace collapsed to one space, trimmed.
 */
export function normalizeCompletion(code: string): string {
  let out = '';
  let i = 0;
  while (i < code.length) {
    const ch = code[i]!;
    if (ch === '#') {
      while (i < code.length && code[i] !== '\n') i++;
      continue;
    }
    if (ch === '"' || ch === "'") {
      const quote = code.startsWith(ch.repeat(3), i) ? ch.repeat(3) : ch;
      let j = i + quote.length;
      while (j < code.length && !code.startsWith(quote, j)) {
        if (code[j] === '\\') j++;
        else if (quote.length === 1 && code[j] === '\n') break; // unterminated one-line string
        j++;
      }
      j = Math.min(code.length, j + (code.startsWith(quote, j) ? quote.length : 0));
      out += code.slice(i, j);
      i = j;
      continue;
    }
    out += ch;
    i++;
  }
  return out.replace(/\s+/g, ' ').trim();
}

/** Distinct-completion counts of one group of samples. */
export interface UniqueCounts {
  samples: number;
  /** Distinct completions, compared exactly. */
  unique: number;
  /** Distinct completions after normalizeCompletion. */
  uniqueNormalized: number;
}

/** Counts of one problem, overall and split by the sample's `passed`. */
export interface ProblemDiversity {
  task_id: string;
  all: UniqueCounts;
  passing: UniqueCounts;
  failing: UniqueCounts;
}

function count(completions: string[]): UniqueCounts {
  return {
    samples: completions.length,
    unique: new Set(completions).size,
    uniqueNormalized: new Set(completions.map(normalizeCompletion)).size,
  };
}

/** Per-problem diversity (problems in first-seen order) and the mean of each count over problems. */
export function outputDiversity(
  samples: readonly { task_id: string; completion: string; passed: boolean }[],
): {
  problems: ProblemDiversity[];
  mean: { all: UniqueCounts; passing: UniqueCounts; failing: UniqueCounts };
} {
  const groups = new Map<string, { passing: string[]; failing: string[] }>();
  for (const s of samples) {
    let g = groups.get(s.task_id);
    if (!g) {
      g = { passing: [], failing: [] };
      groups.set(s.task_id, g);
    }
    (s.passed ? g.passing : g.failing).push(s.completion);
  }
  const problems = [...groups].map(([task_id, g]) => ({
    task_id,
    all: count([...g.passing, ...g.failing]),
    passing: count(g.passing),
    failing: count(g.failing),
  }));
  const mean = (pick: (p: ProblemDiversity) => UniqueCounts): UniqueCounts => {
    const n = problems.length || 1;
    const sum = (f: (c: UniqueCounts) => number) => problems.reduce((a, p) => a + f(pick(p)), 0) / n;
    return {
      samples: sum((c) => c.samples),
      unique: sum((c) => c.unique),
      uniqueNormalized: sum((c) => c.uniqueNormalized),
    };
  };
  return {
    problems,
    mean: { all: mean((p) => p.all), passing: mean((p) => p.passing), failing: mean((p) => p.failing) },
  };
}
