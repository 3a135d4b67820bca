// The one seeded PRNG (mulberry32) shared by features (permutation importance) and models
// (tuning, forests, shuffles). Runs are reproducible from their seed only while these numbers hold;
// they were taken from the copy features/selection.ts had before the two merged (issue 17).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, deriveSeed, shuffleInPlace } from '../../../src/platform/rng.js';

describe('platform rng', () => {
  it('gives the mulberry32 sequence for a seed', () => {
    const a = createRng(1);
    assert.deepEqual([a(), a(), a()], [0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
    const b = createRng(42);
    assert.deepEqual([b(), b(), b()], [0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
  });

  it('shuffles reproducibly and derives integer seeds', () => {
    const x = shuffleInPlace([1, 2, 3, 4, 5, 6], createRng(7));
    assert.deepEqual(shuffleInPlace([1, 2, 3, 4, 5, 6], createRng(7)), x);
    assert.deepEqual([...x].sort(), [1, 2, 3, 4, 5, 6]);
    const s = deriveSeed(3, 5);
    assert.ok(Number.isInteger(s) && s >= 0 && s < 0x7fffffff);
    assert.equal(deriveSeed(3, 5), s);
  });
});
