// VS Code glue: starts `orrery lsp` through vscode-languageclient and wires the commands. The
// decisions (which binary, which options, which config, what a compiled view shows) live in the
// pure modules next to this one, which have unit tests.
import * as fs from 'fs';
import * as os from 'os';
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
} from 'vscode-languageclient/node';
import { findOrrery } from './binary';
import { COMPILED_REQUEST, COMPILED_SCHEME, CompiledConfigResult, CompiledViews } from './compiled';
import { ORRERY_FILE_PATTERNS, SymbolLike, configFor, isOrreryFile, jobNames } from './documents';
import {
  Launch,
  OrrerySettings,
  ServerSettings,
  fetchOrbsCommand,
  pinOrbsCommand,
  readSettings,
  runJobCommand,
  serverLaunch,
  serverSettings,
} from './settings';

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;

function workspaceFolder(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

function currentSettings(): OrrerySettings {
  const configuration = vscode.workspace.getConfiguration('orrery');
  const { settings, problems } = readSettings((key) => configuration.get(key));
  for (const problem of problems) {
    void vscode.window.showWarningMessage(`Orrery: ${problem}; using the default.`);
  }
  return settings;
}

function currentServerSettings(): ServerSettings {
  return serverSettings(currentSettings(), workspaceFolder());
}

/** The binary, or undefined after telling the user how to install it. */
function binary(): string | undefined {
  const lookup = findOrrery(currentSettings().path, {
    platform: process.platform,
    env: process.env,
    home: os.homedir(),
    workspaceFolder: workspaceFolder(),
    isExecutable: (file) => {
      try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
      } catch {
        return false;
      }
    },
  });
  if (lookup.found) {
    return lookup.path;
  }
  void vscode.window.showErrorMessage(lookup.message, 'Open settings').then((choice) => {
    if (choice === 'Open settings') {
      void vscode.commands.executeCommand('workbench.action.openSettings', 'orrery.path');
    }
  });
  return undefined;
}

async function startClient(context: vscode.ExtensionContext): Promise<void> {
  const command = binary();
  if (command === undefined) {
    return;
  }
  const launch = serverLaunch(command, currentServerSettings(), workspaceFolder());
  const serverOptions: ServerOptions = {
    command: launch.command,
    args: launch.args,
    options: { cwd: launch.cwd },
  };
  const watcher = vscode.workspace.createFileSystemWatcher(
    '**/{.orrery.toml,.circleci/orbs.lock,.circleci/orbs/**/*.yml}',
  );
  context.subscriptions.push(watcher);
  const clientOptions: LanguageClientOptions = {
    documentSelector: ORRERY_FILE_PATTERNS.map((pattern) => ({ scheme: 'file', pattern })),
    initializationOptions: currentServerSettings(),
    outputChannel: output,
    synchronize: { fileEvents: watcher },
    middleware: {
      workspace: {
        // A server that pulls settings gets the same values as initializationOptions.
        configuration: (params) =>
          params.items.map((item) => (item.section === 'orrery' ? currentServerSettings() : null)),
      },
    },
  };
  client = new LanguageClient('orrery', 'Orrery', serverOptions, clientOptions);
  await client.start();
}

async function restartClient(context: vscode.ExtensionContext): Promise<void> {
  const running = client;
  client = undefined;
  if (running !== undefined) {
    await running.stop();
  }
  await startClient(context);
}

function runInTerminal(name: string, launch: Launch): void {
  const terminal = vscode.window.createTerminal({
    name,
    shellPath: launch.command,
    shellArgs: launch.args,
    cwd: launch.cwd,
  });
  terminal.show();
}

function projectConfig(): { folder: string; config: string } | undefined {
  const folder = workspaceFolder();
  if (folder === undefined) {
    void vscode.window.showErrorMessage('Orrery: open a folder first.');
    return undefined;
  }
  const active = vscode.window.activeTextEditor?.document.uri;
  return { folder, config: configFor(active?.scheme === 'file' ? active.fsPath : undefined, folder) };
}

async function showCompiledConfig(views: CompiledViews): Promise<void> {
  const source = vscode.window.activeTextEditor?.document;
  if (source === undefined || source.uri.scheme !== 'file' || !isOrreryFile(source.uri.fsPath)) {
    void vscode.window.showErrorMessage('Orrery: open a CircleCI config (.circleci/*.yml) first.');
    return;
  }
  if (client === undefined) {
    void vscode.window.showErrorMessage('Orrery: the language server is not running.');
    return;
  }
  const compiled = vscode.Uri.parse(views.show(source.uri.toString()), true);
  const document = await vscode.workspace.openTextDocument(compiled);
  await vscode.window.showTextDocument(document, {
    viewColumn: vscode.ViewColumn.Beside,
    preview: false,
    preserveFocus: true,
  });
}

async function runJob(): Promise<void> {
  const command = binary();
  const project = projectConfig();
  if (command === undefined || project === undefined) {
    return;
  }
  const symbols = await vscode.commands.executeCommand<SymbolLike[] | undefined>(
    'vscode.executeDocumentSymbolProvider',
    vscode.Uri.file(project.config),
  );
  const jobs = jobNames(symbols);
  const job =
    jobs.length > 0
      ? await vscode.window.showQuickPick(jobs, { placeHolder: 'The job to run locally' })
      : await vscode.window.showInputBox({ prompt: 'The job to run locally (orrery run --job)' });
  if (job === undefined || job === '') {
    return;
  }
  runInTerminal(
    `Orrery: run ${job}`,
    runJobCommand(command, currentServerSettings(), project.config, job, project.folder),
  );
}

/** Opens every Orrery file of the workspace so the server's diagnostics fill the Problems view. */
async function validateWorkspace(): Promise<void> {
  if (client === undefined) {
    void vscode.window.showErrorMessage('Orrery: the language server is not running.');
    return;
  }
  const found = await Promise.all(
    ORRERY_FILE_PATTERNS.map((pattern) => vscode.workspace.findFiles(pattern, '**/node_modules/**')),
  );
  const files = [...new Map(found.flat().map((uri) => [uri.toString(), uri])).values()];
  await Promise.all(files.map((uri) => vscode.workspace.openTextDocument(uri)));
  await vscode.commands.executeCommand('workbench.actions.view.problems');
  void vscode.window.showInformationMessage(
    `Orrery: checking ${files.length} ${files.length === 1 ? 'file' : 'files'}; findings are in Problems.`,
  );
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('Orrery');
  const changed = new vscode.EventEmitter<vscode.Uri>();
  const views = new CompiledViews(
    async (sourceUri) =>
      client === undefined
        ? null
        : client.sendRequest<CompiledConfigResult | null>(COMPILED_REQUEST, { textDocument: { uri: sourceUri } }),
    (compiledUri) => changed.fire(vscode.Uri.parse(compiledUri, true)),
  );

  context.subscriptions.push(
    output,
    changed,
    vscode.workspace.registerTextDocumentContentProvider(COMPILED_SCHEME, {
      onDidChange: changed.event,
      provideTextDocumentContent: (uri) => views.content(uri.toString()),
    }),
    vscode.workspace.onDidChangeTextDocument((event) => views.sourceChanged(event.document.uri.toString())),
    vscode.workspace.onDidCloseTextDocument((document) => {
      if (document.uri.scheme === COMPILED_SCHEME) {
        views.closed(document.uri.toString());
      }
    }),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('orrery.path') || event.affectsConfiguration('orrery.orbPaths')) {
        void restartClient(context);
      } else if (event.affectsConfiguration('orrery') && client !== undefined) {
        void client.sendNotification(DidChangeConfigurationNotification.type, {
          settings: { orrery: currentServerSettings() },
        });
      }
    }),
    vscode.commands.registerCommand('orrery.showCompiledConfig', () => showCompiledConfig(views)),
    vscode.commands.registerCommand('orrery.runJob', runJob),
    vscode.commands.registerCommand('orrery.validateWorkspace', validateWorkspace),
    vscode.commands.registerCommand('orrery.fetchOrbs', () => {
      const command = binary();
      const project = projectConfig();
      if (command !== undefined && project !== undefined) {
        runInTerminal('Orrery: fetch orbs', fetchOrbsCommand(command, project.config, project.folder));
      }
    }),
    vscode.commands.registerCommand('orrery.pinOrbs', () => {
      const command = binary();
      const project = projectConfig();
      if (command !== undefined && project !== undefined) {
        runInTerminal(
          'Orrery: pin orbs',
          pinOrbsCommand(command, currentServerSettings(), project.config, project.folder),
        );
      }
    }),
    vscode.commands.registerCommand('orrery.restartServer', () => restartClient(context)),
  );

  await startClient(context);
}

export async function deactivate(): Promise<void> {
  if (client !== undefined) {
    await client.stop();
  }
}
