// The compiled-config view: a read-only virtual document per source config, filled from the
// server's `orrery/compiledConfig` request and refreshed (debounced) as the source changes. URIs
// are strings here so the logic runs under Node's test runner; extension.ts adapts VS Code's types.

export const COMPILED_SCHEME = 'orrery-compiled';
export const COMPILED_REQUEST = 'orrery/compiledConfig';

/** `file:///w/.circleci/config.yml` → `orrery-compiled:/w/.circleci/config.compiled.yml?<source>`. */
export function compiledUriFor(sourceUri: string): string {
  const sourcePath = decodeURIComponent(new URL(sourceUri).pathname);
  const shown = sourcePath.replace(/(\.ya?ml)?$/, (ext) => `.compiled${ext || '.yml'}`);
  return `${COMPILED_SCHEME}:${encodePath(shown)}?${encodeURIComponent(sourceUri)}`;
}

export function sourceUriOf(compiledUri: string): string | undefined {
  if (!compiledUri.startsWith(`${COMPILED_SCHEME}:`)) {
    return undefined;
  }
  const query = compiledUri.indexOf('?');
  return query < 0 ? undefined : decodeURIComponent(compiledUri.slice(query + 1));
}

function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

/** The answer of `orrery/compiledConfig`: the YAML `config process` prints, or how many errors
 * keep the document from compiling (the diagnostics say which). */
export interface CompiledConfigResult {
  yaml: string | null;
  errors: number;
}

/** The text shown for an answer: the compiled YAML, else a comment saying why there is none. */
export function renderCompiled(result: CompiledConfigResult | null | undefined): string {
  if (result !== null && result !== undefined && typeof result.yaml === 'string') {
    return result.yaml;
  }
  const errors = result?.errors ?? 0;
  if (errors === 0) {
    return '# The config does not compile.\n';
  }
  return `# The config does not compile: ${errors} ${errors === 1 ? 'error' : 'errors'} (see the diagnostics).\n`;
}

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Which sources have an open compiled view, and their refreshes. `request` asks the server;
 * `changed` tells VS Code a view's content changed (it then asks `content` again).
 */
export class CompiledViews {
  private readonly open = new Set<string>();
  private readonly pending = new Map<string, unknown>();

  constructor(
    private readonly request: (sourceUri: string) => Promise<CompiledConfigResult | null>,
    private readonly changed: (compiledUri: string) => void,
    private readonly delayMs = 150,
    private readonly timers: Timers = { setTimeout, clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
  ) {}

  /** Starts tracking `sourceUri`; returns the URI to open. */
  show(sourceUri: string): string {
    const compiledUri = compiledUriFor(sourceUri);
    this.open.add(compiledUri);
    return compiledUri;
  }

  closed(compiledUri: string): void {
    this.open.delete(compiledUri);
    const handle = this.pending.get(compiledUri);
    if (handle !== undefined) {
      this.timers.clearTimeout(handle);
      this.pending.delete(compiledUri);
    }
  }

  /** The source changed: refresh its view once typing pauses for `delayMs`. */
  sourceChanged(sourceUri: string): void {
    const compiledUri = compiledUriFor(sourceUri);
    if (!this.open.has(compiledUri)) {
      return;
    }
    const previous = this.pending.get(compiledUri);
    if (previous !== undefined) {
      this.timers.clearTimeout(previous);
    }
    this.pending.set(
      compiledUri,
      this.timers.setTimeout(() => {
        this.pending.delete(compiledUri);
        this.changed(compiledUri);
      }, this.delayMs),
    );
  }

  async content(compiledUri: string): Promise<string> {
    const source = sourceUriOf(compiledUri);
    if (source === undefined) {
      return `# ${compiledUri} is not an Orrery compiled-config view.\n`;
    }
    for (let attempt = 1; ; attempt += 1) {
      try {
        return renderCompiled(await this.request(source));
      } catch (error) {
        // The text changed while the server compiled it: ask again about the new text.
        if (isContentModified(error) && attempt < MAX_ATTEMPTS) {
          await new Promise<void>((resolve) => this.timers.setTimeout(resolve, this.delayMs));
          continue;
        }
        const message = error instanceof Error ? error.message : String(error);
        return `# The language server could not compile this config: ${message}\n`;
      }
    }
  }
}

/** LSP's ContentModified: the request was about a document version that is gone. */
const CONTENT_MODIFIED = -32801;
const MAX_ATTEMPTS = 5;

function isContentModified(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === CONTENT_MODIFIED;
}
