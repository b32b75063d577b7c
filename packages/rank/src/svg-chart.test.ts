import { describe, expect, it } from 'vitest';
import { escapeXml, niceTicks, renderPanels } from './svg-chart.js';

describe('svg chart', () => {
  it('picks 1-2-5 ticks inside the range, integer steps when asked', () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 3, 6)).toEqual([0, 0.5, 1, 1.5, 2, 2.5, 3]);
    expect(niceTicks(0, 3, 6, 1)).toEqual([0, 1, 2, 3]);
    expect(niceTicks(5, 5)).toEqual([5]);
  });

  it('escapes text and draws one path per series, skipping non-positive values on a log axis', () => {
    expect(escapeXml('a<b & "c"')).toBe('a&lt;b &amp; &quot;c&quot;');
    const svg = renderPanels(
      [
        {
          title: 'σ <spectrum>',
          xLabel: 'i',
          yLabel: 'σ',
          logY: true,
          series: [
            {
              label: 'a',
              color: '#000',
              points: [
                [1, 10],
                [2, 1],
                [3, 0],
              ],
            },
            { label: 'b', color: '#f00', points: [[1, 0]] },
          ],
        },
      ],
      1,
    );
    expect(svg).toContain('σ &lt;spectrum&gt;');
    // The document is named for assistive technology by its panels' titles.
    expect(svg).toMatch(/^<svg [^>]*role="img"[^>]*>\n<title>σ &lt;spectrum&gt;<\/title>/);
    expect(svg.match(/<path /g)!.length).toBe(1);
    expect(svg).not.toMatch(/NaN|Infinity/);
  });
});
