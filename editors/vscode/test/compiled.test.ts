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
  assert.equal(renderCompiled({ yaml: 'version: 2\njobs: {}\n' }), 'version: 2\njobs: {}\n');
});

test('a config that does not compile shows its errors as comments', () => {
  const text = renderCompiled({
    yaml: null,
    diagnostics: [
      { code: 'E0402', message: 'Cannot find a definition for command named chekout', range: { start: { line: 5, character: 8 } } },
      { message: 'two\nlines' },
    ],
  });
  assert.equal(
    text,
    '# The config does not compile: 2 errors.\n' +
      '# 6:9 E0402 Cannot find a definition for command named chekout\n' +
      '# two\n#   lines\n',
  );
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
    return { yaml: 'version: 2\n' };
  }, () => undefined);
  const compiled = views.show(source);
  assert.equal(await views.content(compiled), 'version: 2\n');
  assert.equal(await views.content(compiled), '# The language server could not compile this config: server stopped\n');
  assert.deepEqual(asked, [source, source]);
});
