/**
 * The VS Code extension's entry point: wires the language client, the views, the commands, the
 * Testing view and the debugger. Nothing here runs code from the workspace. Activation only
 * registers; the language server starts in the background.
 */

import * as vscode from 'vscode';
import type { Range } from '../language/protocol/messages.js';
import { ScenarioCodeLenses } from './code-lens.js';
import { registerDebugger } from './debug.js';
import { DebugViews } from './debug-views.js';
import { ActiveIommuDocument, GroupsView } from './groups-view.js';
import { IOMMU_SELECTOR, IommuClient } from './language-client.js';
import { ScenarioCommands } from './run.js';
import { ServerStatus } from './status.js';
import { ScenarioTests } from './testing.js';
import { TopologyPanel } from './topology-panel.js';
import { revealRange } from './tree.js';

let client: IommuClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
    client = new IommuClient(context);
    const c = client;
    const active = new ActiveIommuDocument();
    const groups = new GroupsView(c, active);
    const topology = new TopologyPanel(context, c, active);
    const commands = new ScenarioCommands(c);
    context.subscriptions.push(
        c, active, groups, topology, commands,
        new ServerStatus(c),
        new ScenarioTests(c, commands),
        new DebugViews(),
        vscode.languages.registerCodeLensProvider(IOMMU_SELECTOR, new ScenarioCodeLenses(c)),
        vscode.commands.registerCommand('iommu.showGroups', () => groups.show()),
        vscode.commands.registerCommand('iommu.groups.refresh', () => groups.refresh()),
        vscode.commands.registerCommand('iommu.showTopology', () => topology.show()),
        vscode.commands.registerCommand('iommu.runScenario', async (uri?: unknown, scenario?: unknown) => {
            const target = await commands.target(uri, scenario);
            return target && commands.run(target);
        }),
        vscode.commands.registerCommand('iommu.debugScenario', async (uri?: unknown, scenario?: unknown) => {
            const target = await commands.target(uri, scenario);
            return target && commands.debug(target);
        }),
        vscode.commands.registerCommand('iommu.restartServer', () => c.restart()),
        vscode.commands.registerCommand('iommu.showOutput', () => c.output.show(true)),
        vscode.commands.registerCommand('iommu.revealRange', (uri: string, range: Range) => revealRange(uri, range)),
        // The server is told of every `iommu` setting change (and re-queries inlay hints itself);
        // the default kernel changes every simulation, so start afresh from initializationOptions.
        vscode.workspace.onDidChangeConfiguration((e) => {
            if (e.affectsConfiguration('iommu.kernel.default')) {
                void c.restart();
            }
        }),
    );
    registerDebugger(context, c);
    void vscode.commands.executeCommand('setContext', 'iommu.clientStarted', true);
    c.start().catch(() => undefined); // failures show in the status bar and the output channel
}

export function deactivate(): Promise<void> | undefined {
    return client?.stop();
}
