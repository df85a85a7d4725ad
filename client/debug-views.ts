/**
 * The debug views in the Run and Debug container: IOMMU Groups, Page Tables, PASID Tables. Each
 * asks the debug adapter for its roots (`iommu/groups`, `iommu/pageTables`, `iommu/pasidTables`)
 * and for children in pages (`iommu/children`); all are refreshed at every stop (the `stopped`
 * and `iommu/state` events) and cleared when the session ends.
 */

import * as vscode from 'vscode';
import {
    GroupsDapRequest, PageTablesDapRequest, PasidTablesDapRequest, StateDapEvent, ViewChildrenDapRequest,
    type ViewChildrenArgs, type ViewChildrenResult, type ViewRootResult,
} from '../language/protocol/messages.js';
import { toTreeItem } from './tree.js';
import { itemNode, moreNode, PAGE_SIZE, treeData, type DebugNode } from './views/debug-tree.js';

export const DEBUG_VIEWS = [
    { id: 'iommu.debug.groups', request: GroupsDapRequest, empty: 'No IOMMU groups at this stop.' },
    { id: 'iommu.debug.pageTables', request: PageTablesDapRequest, empty: 'No IOMMU domain has a page table at this stop.' },
    { id: 'iommu.debug.pasidTables', request: PasidTablesDapRequest, empty: 'No PASID is in use at this stop.' },
] as const;

const LOAD_MORE_COMMAND = 'iommu.debug.loadMore';

class DebugView implements vscode.TreeDataProvider<DebugNode>, vscode.Disposable {
    private session: vscode.DebugSession | undefined;
    private roots: DebugNode[] | undefined;
    private readonly children = new Map<string, DebugNode[]>();
    private readonly parents = new Map<string, DebugNode>();
    private readonly changed = new vscode.EventEmitter<DebugNode | undefined>();
    readonly onDidChangeTreeData = this.changed.event;
    readonly view: vscode.TreeView<DebugNode>;

    get id(): string {
        return this.spec.id;
    }

    constructor(private readonly spec: (typeof DEBUG_VIEWS)[number]) {
        this.view = vscode.window.createTreeView(spec.id, { treeDataProvider: this, showCollapseAll: true });
        this.view.onDidChangeVisibility((e) => {
            if (e.visible) {
                this.changed.fire(undefined);
            }
        });
    }

    /** Shows the state of `session` at its current stop (undefined: empty). */
    reset(session: vscode.DebugSession | undefined): void {
        this.session = session;
        this.roots = undefined;
        this.children.clear();
        this.parents.clear();
        this.view.message = session ? undefined : 'Start debugging a scenario to see the kernel\'s state here.';
        this.changed.fire(undefined);
    }

    getTreeItem(node: DebugNode): vscode.TreeItem {
        const item = toTreeItem(treeData(node));
        if (node.type === 'more') {
            item.command = { command: LOAD_MORE_COMMAND, title: 'Load More', arguments: [this.spec.id, node] };
        }
        return item;
    }

    getParent(node: DebugNode): DebugNode | undefined {
        return this.parents.get(node.path);
    }

    async getChildren(node?: DebugNode): Promise<DebugNode[]> {
        const session = this.session;
        if (!session) {
            return [];
        }
        try {
            if (!node) {
                this.roots ??= await this.fetchRoots(session);
                this.view.message = this.roots.length === 0 ? this.spec.empty : undefined;
                return this.roots;
            }
            if (node.type !== 'item' || node.item.ref <= 0) {
                return [];
            }
            let list = this.children.get(node.path);
            if (!list) {
                list = await this.fetchPage(session, node, 0, node.item.childCount);
                this.children.set(node.path, list);
            }
            return list;
        } catch (e) {
            if (session === this.session && !node) {
                this.view.message = `The debugger could not answer ${this.spec.request}: ${e instanceof Error ? e.message : String(e)}`;
            }
            return [];
        }
    }

    /** Replaces a "load more" node by the next page. */
    async loadMore(more: DebugNode): Promise<void> {
        const parent = this.parents.get(more.path);
        if (!this.session || more.type !== 'more' || !parent) {
            return;
        }
        const list = this.children.get(parent.path) ?? [];
        const childCount = parent.type === 'item' ? parent.item.childCount : undefined;
        const page = await this.fetchPage(this.session, parent, more.start, childCount);
        this.children.set(parent.path, [...list.filter((n) => n !== more), ...page]);
        this.changed.fire(parent);
    }

    private async fetchRoots(session: vscode.DebugSession): Promise<DebugNode[]> {
        const result = await session.customRequest(this.spec.request, {}) as ViewRootResult | undefined;
        return (result?.items ?? []).map((item, i) => itemNode(item, this.spec.id, i));
    }

    private async fetchPage(session: vscode.DebugSession, parent: DebugNode, start: number, childCount: number | undefined): Promise<DebugNode[]> {
        if (parent.type !== 'item') {
            return [];
        }
        const args: ViewChildrenArgs = { ref: parent.item.ref, start, count: PAGE_SIZE };
        const result = await session.customRequest(ViewChildrenDapRequest, args) as ViewChildrenResult | undefined;
        const items = result?.items ?? [];
        const nodes: DebugNode[] = items.map((item, i) => itemNode(item, parent.path, start + i));
        const more = moreNode(parent.item.ref, parent.path, start, items.length, childCount);
        if (more) {
            nodes.push(more);
        }
        nodes.forEach((n) => this.parents.set(n.path, parent));
        return nodes;
    }

    dispose(): void {
        this.view.dispose();
        this.changed.dispose();
    }
}

/** The three views, and the tracking of `iommu` debug sessions that drives them. */
export class DebugViews implements vscode.Disposable {
    private readonly views = DEBUG_VIEWS.map((spec) => new DebugView(spec));
    private readonly disposables: vscode.Disposable[] = [...this.views];
    private shown: vscode.DebugSession | undefined;
    private pending: ReturnType<typeof setTimeout> | undefined;

    constructor() {
        this.views.forEach((v) => v.reset(undefined));
        this.disposables.push(
            vscode.debug.registerDebugAdapterTrackerFactory('iommu', {
                createDebugAdapterTracker: (session) => ({
                    onDidSendMessage: (m: { type?: string; event?: string }) => {
                        if (m.type === 'event' && (m.event === 'stopped' || m.event === StateDapEvent)) {
                            this.refresh(session);
                        }
                    },
                    onWillStopSession: () => this.clear(session),
                    onExit: () => this.clear(session),
                }),
            }),
            vscode.debug.onDidTerminateDebugSession((s) => this.clear(s)),
            vscode.debug.onDidChangeActiveDebugSession((s) => {
                if (s?.type === 'iommu' && s !== this.shown) {
                    this.refresh(s);
                }
            }),
            vscode.commands.registerCommand('iommu.debug.refreshViews', () => this.refresh(this.shown ?? vscode.debug.activeDebugSession)),
            vscode.commands.registerCommand(LOAD_MORE_COMMAND, (viewId: string, node: DebugNode) =>
                this.views.find((v) => v.id === viewId)?.loadMore(node)),
        );
    }

    /** Reloads every view from `session` (debounced: a stop sends `stopped` and `iommu/state`). */
    refresh(session: vscode.DebugSession | undefined): void {
        if (session && session.type !== 'iommu') {
            return;
        }
        clearTimeout(this.pending);
        this.pending = setTimeout(() => {
            this.shown = session;
            this.views.forEach((v) => v.reset(session));
        }, 30);
    }

    private clear(session: vscode.DebugSession): void {
        if (session === this.shown || session.id === this.shown?.id) {
            clearTimeout(this.pending);
            this.shown = undefined;
            this.views.forEach((v) => v.reset(undefined));
        }
    }

    dispose(): void {
        clearTimeout(this.pending);
        vscode.Disposable.from(...this.disposables).dispose();
    }
}
