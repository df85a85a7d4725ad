/**
 * The language server's status in the status bar: shown only while a `.iommu` editor is active.
 * Clicking it offers the extension's actions (restart, output, groups, topology).
 */

import * as vscode from 'vscode';
import type { IommuClient } from './language-client.js';
import { statusView, type LastSimulation } from './views/status-model.js';

export const STATUS_MENU_COMMAND = 'iommu.statusMenu';

export class ServerStatus implements vscode.Disposable {
    private readonly item = vscode.window.createStatusBarItem('iommu.status', vscode.StatusBarAlignment.Left, 10);
    private readonly disposables: vscode.Disposable[] = [];
    private last: LastSimulation | undefined;

    constructor(private readonly client: IommuClient) {
        this.item.name = 'IOMMU Scenarios';
        this.item.command = STATUS_MENU_COMMAND;
        this.disposables.push(
            this.item,
            client.onDidChangeState(() => this.update()),
            client.onDidSimulate((p) => {
                this.last = { uri: p.uri, ...(p.version === undefined ? {} : { version: p.version }), at: new Date() };
                this.update();
            }),
            vscode.window.onDidChangeActiveTextEditor(() => this.update()),
            vscode.commands.registerCommand(STATUS_MENU_COMMAND, () => this.menu()),
        );
        this.update();
    }

    private update(): void {
        const view = statusView(this.client.state, this.last);
        this.item.text = view.text;
        this.item.tooltip = view.tooltip;
        this.item.backgroundColor = view.background ? new vscode.ThemeColor(view.background) : undefined;
        this.item.accessibilityInformation = { label: view.tooltip.split('\n')[0]!, role: 'button' };
        if (vscode.window.activeTextEditor?.document.languageId === 'iommu') {
            this.item.show();
        } else {
            this.item.hide();
        }
    }

    private async menu(): Promise<void> {
        const actions: Array<vscode.QuickPickItem & { command: string }> = [
            { label: '$(type-hierarchy) Show IOMMU Groups', command: 'iommu.showGroups' },
            { label: '$(graph) Show Topology', command: 'iommu.showTopology' },
            { label: '$(output) Show Language Server Output', command: 'iommu.showOutput' },
            { label: '$(debug-restart) Restart Language Server', command: 'iommu.restartServer' },
        ];
        const pick = await vscode.window.showQuickPick(actions, { title: 'IOMMU Scenarios' });
        if (pick) {
            await vscode.commands.executeCommand(pick.command);
        }
    }

    dispose(): void {
        vscode.Disposable.from(...this.disposables).dispose();
    }
}
