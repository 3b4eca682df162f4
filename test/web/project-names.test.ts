import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { distinctNames } from '../../src/web/project.js';

/** The names `convscope serve a b c` gives its models in the page's model menu and the diff pickers. */
describe('serve: names of models given one by one', () => {
  it('is the base name where that is unique', () => {
    assert.deepEqual(distinctNames(['/data/run1/model.h5', 'after.h5', './x/y.onnx']), ['model.h5', 'after.h5', 'y.onnx']);
  });

  it('lengthens only the names that read the same, by as many parent folders as tell them apart', () => {
    assert.deepEqual(
      distinctNames(['/f/11_tm/model.json', '/f/08/digits.h5', '/f/08/model/model.json', 'a/run/model.json', 'b/run/model.json']),
      ['11_tm/model.json', 'digits.h5', 'model/model.json', 'a/run/model.json', 'b/run/model.json'],
    );
  });

  it('a path named twice keeps one name (nothing tells them apart)', () => {
    assert.deepEqual(distinctNames(['m/model.json', 'm/model.json']), ['m/model.json', 'm/model.json']);
  });
});
