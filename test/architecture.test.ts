import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

// The layer order lives in src/README.md (a ```layers block, one layer per line, lowest first); this test
// computes the import graph of src/ from the code and checks it against that order.
const SRC = resolve('src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.(ts|mts)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The unit of layering: the first folder under src/, or the file name for files directly in src/. */
function unitOf(file: string): string {
  const parts = relative(SRC, file).split('/');
  return parts.length === 1 ? parts[0]! : parts[0]!;
}

function readLayers(): string[][] {
  const text = readFileSync(join(SRC, 'README.md'), 'utf8');
  const block = /```layers\n([\s\S]*?)```/.exec(text);
  assert.ok(block, 'src/README.md has no ```layers block');
  return block[1]!.split('\n').map((l) => l.trim().split(/\s+/).filter(Boolean)).filter((l) => l.length > 0);
}

interface Edge {
  from: string;
  to: string;
  fromUnit: string;
  toUnit: string;
}

/** Every relative import of every file: static, type-only, re-exports, side-effect and dynamic imports. */
function importEdges(files: readonly string[]): Edge[] {
  const edges: Edge[] = [];
  const pattern = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[\w*{},\s]+?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(pattern)) {
      const target = resolve(dirname(file), (m[1] ?? m[2])!.replace(/\.js$/, '.ts'));
      edges.push({ from: relative(SRC, file), to: relative(SRC, target), fromUnit: unitOf(file), toUnit: unitOf(target) });
    }
  }
  return edges;
}

/** Strongly connected components with more than one folder (Tarjan). */
function folderCycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const on = new Set<string>();
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}


/** Flags the CLI declares (`.option('--x ...')`, `.requiredOption(...)`, `new Option(...)` in src/cli). */
function cliFlags(files: readonly string[]): Set<string> {
  const flags = new Set<string>();
  for (const f of files.filter((x) => unitOf(x) === 'cli')) {
    for (const m of readFileSync(f, 'utf8').matchAll(/(?:option|Option)\(\s*['"`](?:-\w, )?--([a-z][a-z0-9-]*)/g)) flags.add(m[1]!);
  }
  return flags;
}

/** Every string literal and template text of a file (comments excluded), with its line. */
function stringLiterals(file: string): { line: number; text: string; templatePart: boolean }[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: { line: number; text: string; templatePart: boolean }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
      const templatePart = ts.isTemplateHead(node) || ts.isTemplateMiddle(node);
      out.push({ line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1, text: node.text, templatePart });
    }
    node.forEachChild(visit);
  };
  visit(source);
  return out;
}

/** `--flag` spellings in a text that are flags of the CLI, and `--${...}` (a flag built from a value). */
function namedFlags(text: string, flags: ReadonlySet<string>, templatePart: boolean): string[] {
  const named = [...text.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)].map((m) => `--${m[1]!}`).filter((f) => flags.has(f.slice(2)));
  return templatePart && /(?<![\w-])--$/.test(text) ? [...named, '--${...}'] : named;
}

/**
 * The page's words for settings it has no control of its own for name the command that opens it with
 * them (`convscope serve <file> --max-tensor-mb <n>`): the one place outside src/cli that may name a flag.
 */
const PAGE_WORDING = 'web/client/wording.ts';

describe('architecture: data flows one way through the layers of src/README.md', () => {
  const files = sourceFiles(SRC);
  const edges = importEdges(files);
  const layers = readLayers();
  const rank = new Map(layers.flatMap((line, i) => line.map((u) => [u, i] as const)));

  it('the import scan sees the code (guards against a pattern that matches nothing)', () => {
    assert.ok(files.length > 100, `only ${files.length} source files found`);
    assert.ok(edges.length > 300, `only ${edges.length} imports found`);
    assert.ok(edges.some((e) => e.from === 'cli/main.ts'), 'no import of cli/main.ts seen');
    assert.ok(
      edges.some((e) => /import\s+type\s/.test(readFileSync(join(SRC, e.from), 'utf8'))),
      'no type-only import seen',
    );
  });

  it('every folder of src/ has a line in the layer order', () => {
    const units = new Set(files.map(unitOf));
    const missing = [...units].filter((u) => !rank.has(u));
    assert.deepEqual(missing, [], `add these to the layers block of src/README.md: ${missing.join(', ')}`);
  });

  it('no import points sideways or upwards (zero back edges)', () => {
    const back = edges
      .filter((e) => e.fromUnit !== e.toUnit && rank.has(e.fromUnit) && rank.has(e.toUnit) && rank.get(e.toUnit)! >= rank.get(e.fromUnit)!)
      .map((e) => `${e.from} -> ${e.to} (${e.fromUnit} may not import ${e.toUnit})`);
    assert.deepEqual(back, []);
  });

  it('zero cycles between folders', () => {
    const graph = new Map<string, Set<string>>();
    for (const e of edges) {
      if (e.fromUnit === e.toUnit) continue;
      if (!graph.has(e.fromUnit)) graph.set(e.fromUnit, new Set());
      graph.get(e.fromUnit)!.add(e.toUnit);
    }
    assert.deepEqual(folderCycles(graph).map((c) => c.join(' <-> ')), []);
  });

  it('compute/ runs the Keras call graph on the Model (model/graph.ts) and never reads the stored Keras JSON or its readers', () => {
    const bad = edges
      .filter((e) => e.fromUnit === 'compute' && /^formats\/(schema\/keras|keras-)/.test(e.to))
      .map((e) => `${e.from} -> ${e.to}`);
    assert.deepEqual(bad, []);
  });

  it('library text names concepts, never CLI flags: no string literal outside src/cli names a flag the CLI declares', () => {
    const flags = cliFlags(files);
    assert.ok(flags.has('config') && flags.has('layout') && flags.has('max-weight-mb') && flags.size > 40, `only ${flags.size} CLI flags found`);
    const bad = files
      .filter((f) => unitOf(f) !== 'cli' && relative(SRC, f) !== PAGE_WORDING)
      .flatMap((f) => stringLiterals(f).flatMap(({ line, text, templatePart }) => namedFlags(text, flags, templatePart).map((flag) => `${relative(SRC, f)}:${line} names ${flag}`)));
    assert.deepEqual(bad, [], 'say the concept in words and pass { concept } (model/errors.ts); the CLI appends its flag (cli/run.ts), the viewer its control (web/client/wording.ts)');
  });

  it('the flags the page names for settings it cannot set itself are flags the CLI declares', () => {
    const flags = cliFlags(files);
    const named = stringLiterals(join(SRC, PAGE_WORDING)).flatMap(({ line, text }) => [...text.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)].map((m) => [line, m[1]!] as const));
    assert.ok(named.length >= 5, `only ${named.length} flags named in ${PAGE_WORDING}`);
    assert.deepEqual(named.filter(([, f]) => !flags.has(f)).map(([line, f]) => `${PAGE_WORDING}:${line} names --${f}, which the CLI does not declare`), []);
  });

  it('analyze/ is maths over data it is given: it reads no files and opens no models (no node: module, no formats/open)', () => {
    const bad = files
      .filter((f) => unitOf(f) === 'analyze')
      .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/from\s+['"](node:[^'"]+|\.\.\/formats\/open\.js)['"]/g)].map((m) => `${relative(SRC, f)} imports ${m[1]}`));
    assert.deepEqual(bad, []);
  });

  it('numbers are formatted in one place: toPrecision/toExponential only in model/format.ts', () => {
    const bad = files
      .filter((f) => relative(SRC, f) !== 'model/format.ts')
      .flatMap((f) => readFileSync(f, 'utf8').split('\n').map((line, i) => [f, i, line] as const))
      .filter(([, , line]) => /\.(toPrecision|toExponential)\(/.test(line))
      .map(([f, i]) => `${relative(SRC, f)}:${i + 1}`);
    assert.deepEqual(bad, [], 'use formatNumber from model/format.ts');
  });

  it('renderers never touch files or processes: render/ imports no node: module', () => {
    const bad = files
      .filter((f) => unitOf(f) === 'render')
      .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/from\s+['"](node:[^'"]+)['"]/g)].map((m) => `${relative(SRC, f)} imports ${m[1]}`));
    assert.deepEqual(bad, []);
  });
});
