import { describe, expect, it } from 'vitest';
import { RunEta } from './run-experiment.js';

describe('RunEta', () => {
  it('estimates the time left for the whole run from the measured time per step', () => {
    const eta = new RunEta(100); // units of 20 + 30 + 50 steps
    expect(eta.eta()).toBeNaN(); // nothing measured yet
    eta.finished(20, 10, false); // 0.5 s per step
    expect(eta.eta()).toBeCloseTo(40, 12); // 80 steps left
    eta.finished(30, 0, true); // a skipped (already finished) unit: no time, not in the rate
    expect(eta.eta()).toBeCloseTo(25, 12);
    eta.finished(50, 50, false); // 60 s for 70 steps
    expect(eta.eta()).toBe(0);
  });
});
