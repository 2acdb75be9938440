import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

// Runs from out/test/; the manifest and sources are two levels up.
const root = path.join(__dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const extension = fs.readFileSync(path.join(root, 'src', 'extension.ts'), 'utf8');

test('every command in the manifest is registered by the extension, and no other', () => {
  const declared: string[] = manifest.contributes.commands.map((entry: { command: string }) => entry.command).sort();
  const registered = [...extension.matchAll(/registerCommand\('([^']+)'/g)].map((match) => match[1]).sort();
  assert.deepEqual(registered, declared);
  for (const name of ['orrery.showCompiledConfig', 'orrery.runJob', 'orrery.validateWorkspace', 'orrery.fetchOrbs', 'orrery.pinOrbs']) {
    assert.ok(declared.includes(name), name);
  }
});

test('the manifest settings are the ones the extension reads', () => {
  const properties = Object.keys(manifest.contributes.configuration.properties).sort();
  assert.deepEqual(properties, ['orrery.online', 'orrery.orbPaths', 'orrery.path', 'orrery.rules', 'orrery.trace.server']);
  assert.equal(manifest.contributes.configuration.properties['orrery.online'].default, false);
});

test('the entry point is the bundle npm run bundle writes', () => {
  assert.equal(manifest.main, './dist/extension.js');
  assert.match(manifest.scripts.bundle, /--outfile=dist\/extension\.js/);
  assert.match(manifest.scripts.bundle, /--external:vscode/);
});
