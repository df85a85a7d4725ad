/**
 * "IOMMU Groups" in the explorer: the groups Linux derives for the machines of the active
 * `.iommu` file (from `iommu/groups`), refreshed when the server has simulated the file again.
 */

import * as vscode from 'vscode';
import {
    GroupsRequest, ScenariosRequest,
    type GroupsParams, type GroupsResult, type ScenariosParams, type ScenariosResult,
} from '../language/protocol/messages.js';
import type { IommuClient } from './language-client.js';
import { toTreeItem } from './tree.js';
import { groupsTree } from './views/groups-tree.js';
import type { StaticTreeNode } from './views/tree-data.js';

export const GROUPS_VIEW = 'iommu.groups';

/** The `.iommu` document the views follow: the active editor's, else the last one that was active. */
export class ActiveIommuDocument implements vscode.Disposable {
    private current: vscode.TextDocument | undefined;
    private readonly emitter = new vscode.EventEmitter<vscode.TextDocument | undefined>();
    private readonly subscription: vscode.Disposable;
    readonly onDidChange = this.emitter.event;

    constructor() {
        this.take(vscode.window.activeTextEditor);
        this.subscription = vscode.Disposable.from(
            vscode.window.onDidChangeActiveTextEditor((e) => this.take(e)),
            vscode.workspace.onDidCloseTextDocument((d) => {
                if (d === this.current) {
                    this.current = undefined;
                    this.emitter.fire(undefined);
                }
            }),
        );
    }

    get document(): vscode.TextDocument | undefined {
        return this.current;
    }

    private take(editor: vscode.TextEditor | undefined): void {
        if (editor?.document.languageId === 'iommu' && editor.document !== this.current) {
            this.current = editor.document;
            this.emitter.fire(this.current);
        }
    }

    dispose(): void {
        this.subscription.dispose();
        this.emitter.dispose();
    }
}

export class GroupsView implements vscode.TreeDataProvider<StaticTreeNode>, vscode.Disposable {
    private roots: StaticTreeNode[] = [];
    private uri: vscode.Uri | undefined;
    private readonly changed = new vscode.EventEmitter<StaticTreeNode | undefined>();
    private readonly view: vscode.TreeView<StaticTreeNode>;
    private readonly disposables: vscode.Disposable[] = [];
    private pending: ReturnType<typeof setTimeout> | undefined;
    readonly onDidChangeTreeData = this.changed.event;

    constructor(private readonly client: IommuClient, private readonly active: ActiveIommuDocument) {
        this.view = vscode.window.createTreeView(GROUPS_VIEW, { treeDataProvider: this, showCollapseAll: true });
        this.disposables.push(
            this.view,
            this.changed,
            active.onDidChange(() => this.schedule(0)),
            client.onDidSimulate((p) => {
                if (p.uri === this.active.document?.uri.toString()) {
                    this.schedule(100);
                }
            }),
            this.view.onDidChangeVisibility((e) => {
                if (e.visible) {
                    this.schedule(0);
                }
            }),
        );
        this.view.message = 'Open a .iommu file to see its IOMMU groups.';
    }

    /** `iommu.showGroups`: shows the view and fills it for the active file. */
    async show(): Promise<void> {
        await vscode.commands.executeCommand('setContext', 'iommu.groupsShown', true);
        await vscode.commands.executeCommand(`${GROUPS_VIEW}.focus`);
        await this.refresh();
    }

    /** Reloads the groups of the active `.iommu` document. */
    async refresh(): Promise<void> {
        const doc = this.active.document;
        if (!doc) {
            this.uri = undefined;
            this.roots = [];
            this.view.message = 'Open a .iommu file to see its IOMMU groups.';
            this.changed.fire(undefined);
            return;
        }
        const uri = doc.uri.toString();
        try {
            const [groups, scenarios] = await Promise.all([
                this.client.request<GroupsParams, GroupsResult>(GroupsRequest, { uri }),
                this.client.request<ScenariosParams, ScenariosResult>(ScenariosRequest, { uri }).catch(() => ({ scenarios: [] })),
            ]);
            const line = vscode.window.activeTextEditor?.document === doc ? vscode.window.activeTextEditor.selection.active.line : undefined;
            const scenario = scenarios.scenarios.find((s) => line !== undefined && s.range.start.line <= line && line <= s.range.end.line);
            this.uri = doc.uri;
            this.roots = groupsTree(groups, { ...(line === undefined ? {} : { line }), ...(scenario ? { machine: scenario.machine } : {}) });
            this.view.message = this.roots.length === 0 ? `${vscode.workspace.asRelativePath(doc.uri)} has no machine.` : undefined;
            this.view.description = vscode.workspace.asRelativePath(doc.uri);
        } catch (e) {
            this.roots = [];
            this.view.message = `Could not get the groups: ${e instanceof Error ? e.message : String(e)}`;
        }
        this.changed.fire(undefined);
    }

    private schedule(delay: number): void {
        if (!this.view.visible) {
            return;
        }
        clearTimeout(this.pending);
        this.pending = setTimeout(() => void this.refresh(), delay);
    }

    getTreeItem(node: StaticTreeNode): vscode.TreeItem {
        return toTreeItem(node, this.uri);
    }

    getChildren(node?: StaticTreeNode): StaticTreeNode[] {
        return node ? [...node.children] : this.roots;
    }

    dispose(): void {
        clearTimeout(this.pending);
        vscode.Disposable.from(...this.disposables).dispose();
    }
}
