// The emulator stays behind its own entry point: loading the middleware never loads the emulator, selfsigned or
// the Reflect polyfill selfsigned's X.509 library installs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** Loads `entry` in a fresh process and returns the modules it loaded and whether Reflect was polyfilled. */
function load(entry: string): { modules: string[]; reflectMetadata: boolean } {
  const script = `
    require(${JSON.stringify(entry)});
    process.stdout.write(JSON.stringify({
      modules: Object.keys(require.cache),
      reflectMetadata: typeof Reflect.getMetadata === 'function',
    }));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return JSON.parse(out) as { modules: string[]; reflectMetadata: boolean };
}

describe('emulator entry point', function () {
  this.timeout(30_000);

  it('is not loaded by the main entry (lib/index.ts): no emulator module, no selfsigned, no Reflect polyfill', () => {
    const { modules, reflectMetadata } = load('./lib/index.ts');
    assert.ok(
      modules.some((path) => path.endsWith(join('lib', 'index.ts'))),
      'the main entry was loaded',
    );
    const leaked = modules.filter((path) =>
      /[\\/]lib[\\/]emulator[\\/]|selfsigned|@peculiar|pkijs/.test(path),
    );
    assert.deepEqual(leaked, []);
    assert.equal(reflectMetadata, false);
  });

  it('is loaded by express-duo-mfa/emulator (lib/emulator/index.ts), selfsigned with it', () => {
    const { modules } = load('./lib/emulator/index.ts');
    assert.ok(modules.some((path) => /[\\/]selfsigned[\\/]/.test(path)));
  });
});
