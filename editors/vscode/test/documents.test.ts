import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFor, isOrreryFile, jobNames } from '../src/documents';

test('configs, split configs and orb sources are Orrery files; other YAML is not', () => {
  for (const file of [
    '/w/.circleci/config.yml',
    '/w/.circleci/continue.yaml',
    '/w/.circleci/config/jobs/build.yml',
    '/w/orb/src/@orb.yml',
    '/w/orb/src/commands/greet.yml',
    '/w/orb/src/jobs/test.yaml',
    '/w/orb/src/executors/default.yml',
    'C:\\w\\.circleci\\config.yml',
  ]) {
    assert.ok(isOrreryFile(file), file);
  }
  for (const file of ['/w/docker-compose.yml', '/w/.github/workflows/ci.yml', '/w/.circleci/orbs.lock', '/w/src/other/x.yml']) {
    assert.ok(!isOrreryFile(file), file);
  }
});

test('project commands act on the active config, else .circleci/config.yml', () => {
  assert.equal(configFor('/w/.circleci/release.yml', '/w'), '/w/.circleci/release.yml');
  assert.equal(configFor('/w/src/main.rs', '/w/'), '/w/.circleci/config.yml');
  assert.equal(configFor('/w/orb/src/@orb.yml', '/w'), '/w/.circleci/config.yml');
  assert.equal(configFor(undefined, '/w'), '/w/.circleci/config.yml');
});

test('job names are the children of the jobs symbol', () => {
  const symbols = [
    { name: 'version' },
    { name: 'jobs', children: [{ name: 'build' }, { name: 'test', children: [{ name: 'docker' }] }] },
    { name: 'workflows', children: [{ name: 'main' }] },
  ];
  assert.deepEqual(jobNames(symbols), ['build', 'test']);
  assert.deepEqual(jobNames([{ name: 'workflows' }]), []);
  assert.deepEqual(jobNames(undefined), []);
});
