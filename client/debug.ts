/**
 * The debugger: `iommu` sessions run the scenario debug session of language/debug inline, in the
 * extension host (no process to spawn; the engine loads with the first session). F5 on an open `.iommu` file
 * needs no launch.json, and "Run and Debug" offers one configuration per scenario.
 *
 * This is the only client module that imports the session class. It is imported when the first
 * session starts, so activation does not evaluate the engine and Langium.
 */

import * as vscode from 'vscode';
import { ScenariosRequest, type ScenariosParams, type ScenariosResult } from '../language/protocol/messages.js';
import type { IommuClient } from './language-client.js';
import { completeLaunch } from './views/launch.js';

function activeIommuDocument(): vscode.TextDocument | undefined {
    const doc = vscode.window.activeTextEditor?.document;
    return doc?.languageId === 'iommu' ? doc : undefined;
}

function programOf(uri: vscode.Uri): string {
    return uri.scheme === 'file' ? uri.fsPath : uri.toString();
}

/** Fills what F5 leaves out: no launch.json, or a configuration without `program`. */
function resolveLaunch(config: vscode.DebugConfiguration): vscode.DebugConfiguration | undefined {
    const active = activeIommuDocument();
    const resolved = completeLaunch(config, active && programOf(active.uri));
    if (resolved === 'no-file') {
        void vscode.window.showInformationMessage('Open a .iommu file to debug it, or set "program" in the launch configuration.');
        return undefined; // aborts the launch
    }
    return { ...resolved, type: resolved.type ?? 'iommu', request: resolved.request ?? 'launch', name: resolved.name ?? 'Debug IOMMU scenario' };
}

export function registerDebugger(context: vscode.ExtensionContext, client: IommuClient): void {
    context.subscriptions.push(
        vscode.debug.registerDebugAdapterDescriptorFactory('iommu', {
            createDebugAdapterDescriptor: async () => {
                const { ScenarioDebugSession } = await import('../language/debug/index.js');
                return new vscode.DebugAdapterInlineImplementation(new ScenarioDebugSession());
            },
        }),
        vscode.debug.registerDebugConfigurationProvider('iommu', {
            resolveDebugConfiguration: (_folder, config) => resolveLaunch(config),
        }),
        // "Run and Debug" → "IOMMU Scenario...": one entry per scenario of the active file
        vscode.debug.registerDebugConfigurationProvider('iommu', {
            provideDebugConfigurations: async (_folder, token) => {
                const doc = activeIommuDocument();
                if (!doc) {
                    return [];
                }
                const { scenarios } = await client.request<ScenariosParams, ScenariosResult>(ScenariosRequest, { uri: doc.uri.toString() }, token);
                return scenarios.map((s) => ({
                    type: 'iommu', request: 'launch', name: `Debug ${s.name}`, program: programOf(doc.uri), scenario: s.name, stopOnEntry: true,
                }));
            },
        }, vscode.DebugConfigurationProviderTriggerKind.Dynamic),
    );
}
