// Which files the server handles, which config a command acts on, and the jobs a config
// defines (from the server's document symbols). No VS Code types: tested under Node.

/** Glob patterns of the files Orrery serves: configs, split configs and orb sources. */
export const ORRERY_FILE_PATTERNS = [
  '**/.circleci/*.{yml,yaml}',
  '**/.circleci/config/**/*.{yml,yaml}',
  '**/src/@orb.{yml,yaml}',
  '**/src/{commands,jobs,executors,examples}/*.{yml,yaml}',
];

/** The same test as the patterns, on a `/`-separated path. */
export function isOrreryFile(filePath: string): boolean {
  const p = filePath.replace(/\\/g, '/');
  if (!/\.ya?ml$/.test(p)) {
    return false;
  }
  return (
    /(^|\/)\.circleci\/[^/]+$/.test(p) ||
    /(^|\/)\.circleci\/config\/.+$/.test(p) ||
    /(^|\/)src\/@orb\.ya?ml$/.test(p) ||
    /(^|\/)src\/(commands|jobs|executors|examples)\/[^/]+$/.test(p)
  );
}

/**
 * The config a project command (run, fetch, pin) acts on: the active file when it is a config
 * directly under `.circleci/`, else `.circleci/config.yml` of the workspace folder.
 */
export function configFor(activeFile: string | undefined, workspaceFolder: string): string {
  if (activeFile !== undefined) {
    const p = activeFile.replace(/\\/g, '/');
    if (/(^|\/)\.circleci\/[^/]+\.ya?ml$/.test(p) && !/orbs\.lock$/.test(p)) {
      return activeFile;
    }
  }
  return `${workspaceFolder.replace(/[\\/]$/, '')}/.circleci/config.yml`;
}

export interface SymbolLike {
  name: string;
  children?: SymbolLike[];
}

/** Job names from a config's hierarchical document symbols: the children of `jobs`. */
export function jobNames(symbols: SymbolLike[] | undefined): string[] {
  const jobs = symbols?.find((symbol) => symbol.name === 'jobs');
  return (jobs?.children ?? []).map((job) => job.name);
}
