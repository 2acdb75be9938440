import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  fetchOrbsCommand,
  pinOrbsCommand,
  readSettings,
  runJobCommand,
  serverLaunch,
  serverSettings,
  validateCommand,
} from '../src/settings';

function getter(values: Record<string, unknown>): (key: string) => unknown {
  return (key) => values[key];
}

test('defaults: PATH lookup, no orb paths, offline, no rule levels', () => {
  const { settings, problems } = readSettings(getter({}));
  assert.deepEqual(settings, { path: '', orbPaths: [], online: false, rules: {} });
  assert.deepEqual(problems, []);
});

test('settings become the server options every editor sends', () => {
  const { settings } = readSettings(
    getter({
      path: '/opt/orrery',
      orbPaths: ['vendor/orbs', '/srv/orbs', ''],
      online: true,
      rules: { 'unused-job': 'off', L1102: 'error' },
    }),
  );
  assert.deepEqual(serverSettings(settings, '/work/project'), {
    orbPaths: ['/work/project/vendor/orbs', '/srv/orbs'],
    online: true,
    rules: { 'unused-job': 'off', L1102: 'error' },
  });
  assert.deepEqual(serverLaunch('/opt/orrery', serverSettings(settings, '/work/project'), '/work/project'), {
    command: '/opt/orrery',
    args: ['lsp', '--orb-path', '/work/project/vendor/orbs', '--orb-path', '/srv/orbs'],
    cwd: '/work/project',
  });
});

test('values of the wrong type fall back to the default and are reported', () => {
  const { settings, problems } = readSettings(
    getter({ path: 3, orbPaths: 'orbs', online: 'yes', rules: { 'unused-job': 'loud', L1101: 'note' } }),
  );
  assert.deepEqual(settings, { path: '', orbPaths: [], online: false, rules: { L1101: 'note' } });
  assert.deepEqual(problems, [
    '`orrery.path` must be a string',
    '`orrery.orbPaths` must be a list of directories',
    '`orrery.online` must be true or false',
    '`orrery.rules`: the level of unused-job must be one of off, note, warning, error',
  ]);
});

test('CLI commands see the same orbs as the server', () => {
  const server = { orbPaths: ['/srv/orbs'], online: false, rules: {} };
  const config = '/w/.circleci/config.yml';
  assert.deepEqual(runJobCommand('orrery', server, config, 'build', '/w').args, [
    'run', '--config', config, '--job', 'build', '--orb-path', '/srv/orbs',
  ]);
  assert.deepEqual(validateCommand('orrery', { ...server, online: true }, [config], '/w').args, [
    'config', 'validate', '--orb-path', '/srv/orbs', '--online', config,
  ]);
  assert.deepEqual(pinOrbsCommand('orrery', server, config, '/w').args, ['orb', 'lock', '--orb-path', '/srv/orbs', config]);
  assert.deepEqual(fetchOrbsCommand('orrery', config, '/w'), {
    command: 'orrery',
    args: ['orb', 'fetch', '--config', config],
    cwd: '/w',
  });
});
