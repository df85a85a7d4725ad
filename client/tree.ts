/** Turns the views' plain tree nodes into `vscode.TreeItem`s. */

import * as vscode from 'vscode';
import type { Range } from '../language/protocol/messages.js';
import type { TreeNodeData } from './views/tree-data.js';

const COLLAPSIBLE = {
    none: vscode.TreeItemCollapsibleState.None,
    collapsed: vscode.TreeItemCollapsibleState.Collapsed,
    expanded: vscode.TreeItemCollapsibleState.Expanded,
} as const;

/** A protocol range as a `vscode.Range`. */
export function toRange(range: Range): vscode.Range {
    return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
}

/** The item; with `uri`, a node with a range opens it there on click. */
export function toTreeItem(data: TreeNodeData, uri?: vscode.Uri): vscode.TreeItem {
    const item = new vscode.TreeItem(data.label, COLLAPSIBLE[data.collapsible]);
    item.id = data.id;
    item.description = data.description;
    item.tooltip = data.tooltip;
    item.contextValue = data.context;
    if (data.icon) {
        item.iconPath = new vscode.ThemeIcon(data.icon, data.iconColor ? new vscode.ThemeColor(data.iconColor) : undefined);
    }
    if (uri && data.range) {
        item.command = { command: 'iommu.revealRange', title: 'Go to Source', arguments: [uri.toString(), data.range] };
    }
    return item;
}

/** `iommu.revealRange`: opens a document at a range (from views and the topology picture). */
export async function revealRange(uri: string, range: Range): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
    const editor = await vscode.window.showTextDocument(doc, { preserveFocus: false, preview: true, viewColumn: vscode.ViewColumn.One });
    const r = toRange(range);
    editor.selection = new vscode.Selection(r.start, r.start);
    editor.revealRange(r, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}
