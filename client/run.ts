/**
 * "Run" and "Debug" of one scenario: from a code lens (with the file and the scenario), or from
 * the command palette (the scenario under the cursor, else a pick).
 */

import * as vscode from 'vscode';
import {
    RunScenarioRequest, ScenariosRequest,
    type RunScenarioParams, type RunScenarioResult, type ScenariosParams, type ScenariosResult,
} from '../language/protocol/messages.js';
import type { IommuClient } from './language-client.js';
import { runReport, runSummary } from './views/run-report.js';

/** The file and scenario a command acts on. */
export interface ScenarioTarget {
    readonly uri: vscode.Uri;
    readonly scenario: string;
}

export class ScenarioCommands implements vscode.Disposable {
    /** The run reports, one block per run. */
    readonly output = vscode.window.createOutputChannel('IOMMU Scenarios');

    constructor(private readonly client: IommuClient) {}

    /** The target of a command: its arguments, else the active editor's scenario at the cursor, else a pick. */
    async target(uriArg?: unknown, scenarioArg?: unknown): Promise<ScenarioTarget | undefined> {
        if (typeof uriArg === 'string' && typeof scenarioArg === 'string') {
            return { uri: vscode.Uri.parse(uriArg), scenario: scenarioArg };
        }
        const editor = vscode.window.activeTextEditor;
        if (editor?.document.languageId !== 'iommu') {
            void vscode.window.showInformationMessage('Open a .iommu file with a scenario first.');
            return undefined;
        }
        const uri = editor.document.uri;
        const { scenarios } = await this.client.request<ScenariosParams, ScenariosResult>(ScenariosRequest, { uri: uri.toString() });
        if (scenarios.length === 0) {
            void vscode.window.showInformationMessage(`${vscode.workspace.asRelativePath(uri)} has no scenario.`);
            return undefined;
        }
        const line = editor.selection.active.line;
        const here = scenarios.find((s) => s.range.start.line <= line && line <= s.range.end.line);
        if (here || scenarios.length === 1) {
            return { uri, scenario: (here ?? scenarios[0]!).name };
        }
        const pick = await vscode.window.showQuickPick(
            scenarios.map((s) => ({ label: s.name, description: `on ${s.machine}`, detail: `${s.expects.length} expect${s.expects.length === 1 ? '' : 's'}` })),
            { title: 'Which scenario?' },
        );
        return pick ? { uri, scenario: pick.label } : undefined;
    }

    /** Runs the scenario on the server; writes the report and shows the summary. */
    async run(target: ScenarioTarget): Promise<RunScenarioResult | undefined> {
        const result = await vscode.window.withProgress(
            { location: vscode.ProgressLocation.Window, title: `Running ${target.scenario}` },
            () => this.client.request<RunScenarioParams, RunScenarioResult>(RunScenarioRequest, { uri: target.uri.toString(), scenario: target.scenario }),
        );
        this.output.appendLine(`[${new Date().toLocaleTimeString()}] ${runReport(result, vscode.workspace.asRelativePath(target.uri)).join('\n')}`);
        this.output.appendLine('');
        const show = 'Show Report';
        const summary = runSummary(result);
        const choice = result.passed
            ? await vscode.window.showInformationMessage(summary, show)
            : await vscode.window.showWarningMessage(summary, show);
        if (choice === show) {
            this.output.show(true);
        }
        return result;
    }

    /** Starts a debug session on the scenario. */
    async debug(target: ScenarioTarget): Promise<boolean> {
        const folder = vscode.workspace.getWorkspaceFolder(target.uri);
        return vscode.debug.startDebugging(folder, {
            type: 'iommu',
            request: 'launch',
            name: `Debug ${target.scenario}`,
            program: target.uri.scheme === 'file' ? target.uri.fsPath : target.uri.toString(),
            scenario: target.scenario,
            stopOnEntry: true,
        });
    }

    dispose(): void {
        this.output.dispose();
    }
}
