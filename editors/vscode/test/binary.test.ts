import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { INSTALL_HINT, LookupEnvironment, findOrrery } from '../src/binary';

function environment(executables: string[], overrides: Partial<LookupEnvironment> = {}): LookupEnvironment {
  return {
    platform: 'linux',
    env: { PATH: '/usr/local/bin:/usr/bin:/home/me/.cargo/bin' },
    home: '/home/me',
    workspaceFolder: '/work/project',
    isExecutable: (file) => executables.includes(file),
    ...overrides,
  };
}

test('the first orrery on PATH wins', () => {
  const found = findOrrery('', environment(['/usr/bin/orrery', '/home/me/.cargo/bin/orrery']));
  assert.deepEqual(found, { found: true, path: '/usr/bin/orrery' });
});

test('no orrery on PATH names the install command', () => {
  const found = findOrrery('', environment(['/usr/bin/other']));
  assert.equal(found.found, false);
  assert.ok(!found.found && found.message.startsWith('Orrery was not found on PATH.'));
  assert.ok(!found.found && found.message.includes(INSTALL_HINT));
  assert.ok(INSTALL_HINT.includes('cargo install --locked --path crates/orrery'));
});

test('a configured path is used as it is and PATH is not searched', () => {
  const env = environment(['/opt/orrery/bin/orrery', '/usr/bin/orrery']);
  assert.deepEqual(findOrrery('/opt/orrery/bin/orrery', env), { found: true, path: '/opt/orrery/bin/orrery' });
});

test('a configured path may start with ~ or be relative to the workspace folder', () => {
  const env = environment(['/home/me/bin/orrery', '/work/project/target/debug/orrery']);
  assert.deepEqual(findOrrery('~/bin/orrery', env), { found: true, path: '/home/me/bin/orrery' });
  assert.deepEqual(findOrrery('target/debug/orrery', env), { found: true, path: '/work/project/target/debug/orrery' });
});

test('a configured path that is not executable is reported, not replaced by PATH', () => {
  const found = findOrrery('/nowhere/orrery', environment(['/usr/bin/orrery']));
  assert.equal(found.found, false);
  assert.ok(!found.found && found.message.includes('`orrery.path` is set to /nowhere/orrery'));
});

test('on Windows, PATH is split on ; and PATHEXT names the executables', () => {
  const env = environment(['C:\\tools\\orrery.exe'], {
    platform: 'win32',
    env: { Path: 'C:\\Windows;C:\\tools', PATHEXT: '.COM;.EXE' },
    home: 'C:\\Users\\me',
    workspaceFolder: 'C:\\src\\project',
  });
  assert.deepEqual(findOrrery('', env), { found: true, path: 'C:\\tools\\orrery.exe' });
});
