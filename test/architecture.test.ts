// The shape of lib/: imports run one way (no cycle, type-only imports included), the middleware's files stay
// small enough to read, and the main entry's import graph never reaches the emulator.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const LIB = resolve(__dirname, '..', 'lib');
/** "About 300 lines" (the architecture issue): a little slack for a file that is about to be split. */
const MAX_MIDDLEWARE_LINES = 320;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Every relative module a file imports or re-exports, resolved to a file in lib/ (types included). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'(\.[^']+)'/gms),
    ...text.matchAll(/^\s*import\s+'(\.[^']+)'/gm),
    ...text.matchAll(/\b(?:require|import)\(\s*'(\.[^']+)'\s*\)/g),
  ].map((match) => match[1]!);
  return specifiers.map((specifier) => {
    const base = resolve(dirname(file), specifier);
    for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) {
      try {
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // try the next form
      }
    }
    throw new Error(`${relative(LIB, file)} imports ${specifier}, which does not resolve to a file in lib/`);
  });
}

const files = sourceFiles(LIB);
const graph = new Map(files.map((file) => [file, importsOf(file)]));

describe('lib/ architecture', () => {
  it('has no import cycle anywhere (type-only imports count too)', () => {
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        const loop = [...path.slice(path.indexOf(file)), file].map((f) => relative(LIB, f));
        cycles.push(loop.join(' → '));
        return;
      }
      state.set(file, 'visiting');
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    assert.deepEqual(cycles, [], `import cycles:\n${cycles.join('\n')}`);
  });

  it(`keeps every file in lib/middleware/ under about 300 lines (at most ${MAX_MIDDLEWARE_LINES})`, () => {
    const long = files
      .filter((file) => relative(LIB, file).startsWith('middleware/'))
      .map((file) => ({ file: relative(LIB, file), lines: readFileSync(file, 'utf8').split('\n').length }))
      .filter((entry) => entry.lines > MAX_MIDDLEWARE_LINES);
    assert.deepEqual(long, []);
  });

  it('never reaches the emulator (or its certificate library) from the main entry', () => {
    const seen = new Set<string>();
    const walk = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const next of graph.get(file) ?? []) walk(next);
    };
    walk(join(LIB, 'index.ts'));
    const emulator = [...seen].filter((file) => relative(LIB, file).startsWith('emulator'));
    assert.deepEqual(
      emulator.map((file) => relative(LIB, file)),
      [],
    );
    const selfsigned = [...seen].filter((file) => /from\s+'selfsigned'/.test(readFileSync(file, 'utf8')));
    assert.deepEqual(selfsigned, []);
  });
});
