import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { catalogueMarkdown, END, START, withSection } from '../../scripts/keras-catalogue.js';
import { KERAS_CATALOGUE } from '../../src/model/keras-catalogue.js';
import { ROOT } from '../helpers/fixtures.js';

test('the README lists the Keras catalogue exactly as src/model/keras-catalogue.ts holds it (regenerate: node --import tsx scripts/keras-catalogue.ts)', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(START), readme.indexOf(END) + END.length);
  assert.equal(section, catalogueMarkdown());
  assert.equal(withSection(readme, catalogueMarkdown()), readme);
  for (const entry of KERAS_CATALOGUE) assert.ok(section.includes(`| \`${entry.className}\``), `${entry.className} is listed`);
});
