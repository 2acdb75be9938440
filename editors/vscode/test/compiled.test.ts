import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompiledViews, Timers, compiledUriFor, renderCompiled, sourceUriOf } from '../src/compiled';

const source = 'file:///w/my%20app/.circleci/config.yml';

test('a compiled view has a YAML name beside its source and finds its way back', () => {
  const compiled = compiledUriFor(source);
  assert.equal(compiled, 'orrery-compiled:/w/my%20app/.circleci/config.compiled.yml?file%3A%2F%2F%2Fw%2Fmy%2520app%2F.circleci%2Fconfig.yml');
  assert.equal(sourceUriOf(compiled), source);
  assert.equal(sourceUriOf('file:///w/x.yml'), undefined);
});

test('the compiled YAML is shown as the server returns it', () => {
  assert.equal(renderCompiled({ yaml: 'version: 2\njobs: {}\n', errors: 0 }), 'version: 2\njobs: {}\n');
});

test('a config that does not compile says how many errors keep it from compiling', () => {
  assert.equal(renderCompiled({ yaml: null, errors: 2 }), '# The config does not compile: 2 errors (see the diagnostics).\n');
  assert.equal(renderCompiled({ yaml: null, errors: 1 }), '# The config does not compile: 1 error (see the diagnostics).\n');
  assert.equal(renderCompiled(null), '# The config does not compile.\n');
});

class FakeTimers implements Timers {
  private next = 0;
  readonly waiting = new Map<number, () => void>();
  setTimeout(callback: () => void): unknown {
    this.next += 1;
    this.waiting.set(this.next, callback);
    return this.next;
  }
  clearTimeout(handle: unknown): void {
    this.waiting.delete(handle as number);
  }
  fire(): void {
    const callbacks = [...this.waiting.values()];
    this.waiting.clear();
    callbacks.forEach((callback) => callback());
  }
}

test('typing refreshes an open view once per pause, and never a closed one', () => {
  const timers = new FakeTimers();
  const refreshed: string[] = [];
  const views = new CompiledViews(async () => null, (uri) => refreshed.push(uri), 150, timers);

  views.sourceChanged(source);
  assert.equal(timers.waiting.size, 0, 'no view open: nothing scheduled');

  const compiled = views.show(source);
  views.sourceChanged(source);
  views.sourceChanged(source);
  views.sourceChanged(source);
  assert.equal(timers.waiting.size, 1, 'keystrokes collapse into one refresh');
  timers.fire();
  assert.deepEqual(refreshed, [compiled]);

  views.sourceChanged(source);
  views.closed(compiled);
  timers.fire();
  assert.deepEqual(refreshed, [compiled], 'closing cancels the pending refresh');
});

test('the view asks the server about its source and shows a failed request as a comment', async () => {
  const asked: string[] = [];
  const views = new CompiledViews(async (uri) => {
    asked.push(uri);
    if (asked.length === 2) {
      throw new Error('server stopped');
    }
    return { yaml: 'version: 2\n', errors: 0 };
  }, () => undefined);
  const compiled = views.show(source);
  assert.equal(await views.content(compiled), 'version: 2\n');
  assert.equal(await views.content(compiled), '# The language server could not compile this config: server stopped\n');
  assert.deepEqual(asked, [source, source]);
});

test('a request overtaken by an edit (ContentModified) is asked again', async () => {
  let calls = 0;
  const immediate: Timers = { setTimeout: (callback) => setImmediate(callback), clearTimeout: () => undefined };
  const views = new CompiledViews(
    async () => {
      calls += 1;
      if (calls < 3) {
        throw Object.assign(new Error('content modified'), { code: -32801 });
      }
      return { yaml: 'version: 2\n', errors: 0 };
    },
    () => undefined,
    150,
    immediate,
  );
  assert.equal(await views.content(views.show(source)), 'version: 2\n');
  assert.equal(calls, 3);
});
