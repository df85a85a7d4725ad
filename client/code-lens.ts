/**
 * "Run | Debug" above each scenario, from `iommu/scenarios`. Provided here rather than by the
 * language server so that the commands (client-side) and the lenses live together; the client's
 * middleware drops Run/Debug lenses the server might also send.
 */

import * as vscode from 'vscode';
import { ScenariosRequest, type ScenariosParams, type ScenariosResult } from '../language/protocol/messages.js';
import type { IommuClient } from './language-client.js';
import { toRange } from './tree.js';
import { scenarioLenses } from './views/scenario-lenses.js';

export class ScenarioCodeLenses implements vscode.CodeLensProvider, vscode.Disposable {
    private readonly changed = new vscode.EventEmitter<void>();
    private readonly subscriptions: vscode.Disposable[];
    private pending: ReturnType<typeof setTimeout> | undefined;
    readonly onDidChangeCodeLenses = this.changed.event;

    constructor(private readonly client: IommuClient) {
        this.subscriptions = [
            this.changed,
            // Every change event makes the editor cancel and re-ask: while the server works through a
            // workspace, ask again only for files on screen, and once things settle.
            client.onDidSimulate((p) => {
                if (vscode.window.visibleTextEditors.some((e) => e.document.uri.toString() === p.uri)) {
                    this.schedule();
                }
            }),
            client.onDidChangeState((s) => {
                if (s === 'running') {
                    this.schedule();
                }
            }),
        ];
    }

    private schedule(): void {
        clearTimeout(this.pending);
        this.pending = setTimeout(() => this.changed.fire(), 250);
    }

    async provideCodeLenses(document: vscode.TextDocument, token: vscode.CancellationToken): Promise<vscode.CodeLens[]> {
        if (this.client.state !== 'running') {
            // do not start the server for lenses; they come once it runs (onDidChangeState)
            return [];
        }
        const uri = document.uri.toString();
        const result = await this.client.request<ScenariosParams, ScenariosResult>(ScenariosRequest, { uri }, token);
        return scenarioLenses(uri, result).map((l) => new vscode.CodeLens(toRange(l.range), {
            title: l.title, tooltip: l.tooltip, command: l.command, arguments: [...l.args],
        }));
    }

    dispose(): void {
        clearTimeout(this.pending);
        vscode.Disposable.from(...this.subscriptions).dispose();
    }
}
