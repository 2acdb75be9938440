// Finding the `orrery` binary: the `orrery.path` setting, else `PATH`. Pure apart from the probe,
// so the lookup is tested under Node without VS Code.
import * as path from 'path';

export const INSTALL_HINT =
  'Install it with `cargo install --locked --path crates/orrery` in an Orrery checkout, ' +
  'or set `orrery.path` to the binary.';

export type BinaryLookup = { found: true; path: string } | { found: false; message: string };

export interface LookupEnvironment {
  /** `process.platform`. */
  platform: string;
  /** `PATH` (and `PATHEXT` on Windows) from the environment VS Code was started with. */
  env: Record<string, string | undefined>;
  /** The user's home, for a configured path starting with `~`. */
  home: string;
  /** The first workspace folder, for a relative configured path. */
  workspaceFolder?: string;
  /** True when `file` exists and may be executed. */
  isExecutable(file: string): boolean;
}

export function findOrrery(configured: string, lookup: LookupEnvironment): BinaryLookup {
  const pathApi = lookup.platform === 'win32' ? path.win32 : path.posix;
  const wanted = configured.trim();
  if (wanted !== '') {
    const resolved = resolveConfigured(wanted, lookup, pathApi);
    if (lookup.isExecutable(resolved)) {
      return { found: true, path: resolved };
    }
    return {
      found: false,
      message: `\`orrery.path\` is set to ${resolved}, which is not an executable file. ${INSTALL_HINT}`,
    };
  }
  const directories = (lookup.env.PATH ?? lookup.env.Path ?? '')
    .split(lookup.platform === 'win32' ? ';' : ':')
    .filter((dir) => dir !== '');
  for (const dir of directories) {
    for (const name of executableNames(lookup)) {
      const candidate = pathApi.join(dir, name);
      if (lookup.isExecutable(candidate)) {
        return { found: true, path: candidate };
      }
    }
  }
  return { found: false, message: `Orrery was not found on PATH. ${INSTALL_HINT}` };
}

function resolveConfigured(wanted: string, lookup: LookupEnvironment, pathApi: path.PlatformPath): string {
  if (wanted === '~' || wanted.startsWith('~/') || wanted.startsWith('~\\')) {
    return pathApi.join(lookup.home, wanted.slice(1));
  }
  if (!pathApi.isAbsolute(wanted) && lookup.workspaceFolder !== undefined) {
    return pathApi.join(lookup.workspaceFolder, wanted);
  }
  return wanted;
}

function executableNames(lookup: LookupEnvironment): string[] {
  if (lookup.platform !== 'win32') {
    return ['orrery'];
  }
  const extensions = (lookup.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';').filter((ext) => ext !== '');
  return extensions.map((ext) => `orrery${ext.toLowerCase()}`);
}
