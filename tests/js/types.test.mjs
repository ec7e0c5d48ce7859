// The package's TypeScript types compile against real usage (tests/js/types/usage.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

test('the TypeScript types describe the package', () => {
  const root = new URL('../..', import.meta.url).pathname;
  const r = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '--noEmit', '--strict', '--target', 'es2022',
    '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', 'false', `${root}tests/js/types/usage.ts`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
