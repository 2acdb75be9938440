// The extension's settings, what they become for the language server (launch command and
// `initializationOptions`, the same JSON every editor sends; see docs/editors.md), and the CLI
// command lines the terminal commands run. No VS Code types: tested under Node.
import * as path from 'path';

export const RULE_LEVELS = ['off', 'note', 'warning', 'error'] as const;
export type RuleLevel = (typeof RULE_LEVELS)[number];

export interface OrrerySettings {
  path: string;
  orbPaths: string[];
  online: boolean;
  rules: Record<string, RuleLevel>;
}

/** What the server receives in `initializationOptions` and `workspace/didChangeConfiguration`. */
export interface ServerSettings {
  orbPaths: string[];
  online: boolean;
  rules: Record<string, RuleLevel>;
}

export interface Launch {
  command: string;
  args: string[];
  cwd?: string;
}

/**
 * Reads the `orrery.*` settings through `get` (VS Code's `WorkspaceConfiguration.get`). A value of
 * the wrong type falls back to the default and is named in `problems`, so the user hears of it.
 */
export function readSettings(get: (key: string) => unknown): { settings: OrrerySettings; problems: string[] } {
  const problems: string[] = [];
  const rawPath = get('path');
  const rawOrbPaths = get('orbPaths');
  const rawOnline = get('online');
  const rawRules = get('rules');

  let binaryPath = '';
  if (typeof rawPath === 'string') {
    binaryPath = rawPath;
  } else if (rawPath !== undefined && rawPath !== null) {
    problems.push('`orrery.path` must be a string');
  }

  let orbPaths: string[] = [];
  if (Array.isArray(rawOrbPaths) && rawOrbPaths.every((entry) => typeof entry === 'string')) {
    orbPaths = rawOrbPaths.filter((entry) => entry.trim() !== '');
  } else if (rawOrbPaths !== undefined && rawOrbPaths !== null) {
    problems.push('`orrery.orbPaths` must be a list of directories');
  }

  let online = false;
  if (typeof rawOnline === 'boolean') {
    online = rawOnline;
  } else if (rawOnline !== undefined && rawOnline !== null) {
    problems.push('`orrery.online` must be true or false');
  }

  const rules: Record<string, RuleLevel> = {};
  if (rawRules !== undefined && rawRules !== null) {
    if (typeof rawRules === 'object' && !Array.isArray(rawRules)) {
      for (const [rule, level] of Object.entries(rawRules as Record<string, unknown>)) {
        if (typeof level === 'string' && (RULE_LEVELS as readonly string[]).includes(level)) {
          rules[rule] = level as RuleLevel;
        } else {
          problems.push(`\`orrery.rules\`: the level of ${rule} must be one of ${RULE_LEVELS.join(', ')}`);
        }
      }
    } else {
      problems.push('`orrery.rules` must map rule names or codes to levels');
    }
  }

  return { settings: { path: binaryPath, orbPaths, online, rules }, problems };
}

/** Orb paths made absolute against the workspace folder (the server's cwd may differ per client). */
export function serverSettings(settings: OrrerySettings, workspaceFolder?: string): ServerSettings {
  return {
    orbPaths: settings.orbPaths.map((dir) =>
      workspaceFolder === undefined || path.isAbsolute(dir) ? dir : path.join(workspaceFolder, dir),
    ),
    online: settings.online,
    rules: { ...settings.rules },
  };
}

/**
 * `orrery lsp` over stdio, started in the workspace folder. Orb paths go on the command line
 * (`--orb-path`, as for every other command); the server never goes online by itself, so
 * `online` only reaches it as an initialization option.
 */
export function serverLaunch(binary: string, server: ServerSettings, workspaceFolder?: string): Launch {
  return {
    command: binary,
    args: ['lsp', ...server.orbPaths.flatMap((dir) => ['--orb-path', dir])],
    cwd: workspaceFolder,
  };
}

/** Flags that make a CLI command see the same orbs as the server. */
function storeFlags(server: ServerSettings): string[] {
  const flags = server.orbPaths.flatMap((dir) => ['--orb-path', dir]);
  if (server.online) {
    flags.push('--online');
  }
  return flags;
}

export function runJobCommand(binary: string, server: ServerSettings, config: string, job: string, cwd: string): Launch {
  return { command: binary, args: ['run', '--config', config, '--job', job, ...storeFlags(server)], cwd };
}

export function validateCommand(binary: string, server: ServerSettings, configs: string[], cwd: string): Launch {
  return { command: binary, args: ['config', 'validate', ...storeFlags(server), ...configs], cwd };
}

/** Fetching is the one explicit network step, so it never depends on `orrery.online`. */
export function fetchOrbsCommand(binary: string, config: string, cwd: string): Launch {
  return { command: binary, args: ['orb', 'fetch', '--config', config], cwd };
}

export function pinOrbsCommand(binary: string, server: ServerSettings, config: string, cwd: string): Launch {
  return { command: binary, args: ['orb', 'lock', ...storeFlags(server), config], cwd };
}
