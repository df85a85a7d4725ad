/**
 * A tree node as the views describe it, without `vscode`: `client/tree.ts` turns it into a
 * `vscode.TreeItem`. Views build these from protocol results; tests check them as data.
 */

import type { Range } from '../../language/protocol/messages.js';

export interface TreeNodeData {
    /** Unique in the tree and stable across refreshes, so expansion state survives. */
    readonly id: string;
    readonly label: string;
    readonly description?: string;
    readonly tooltip?: string;
    /** A codicon id (`circuit-board`). */
    readonly icon?: string;
    /** A theme colour id for the icon (`iommu.group3`, `testing.iconFailed`...). */
    readonly iconColor?: string;
    readonly collapsible: 'none' | 'collapsed' | 'expanded';
    /** Where it is written, for "go to source" on click. */
    readonly range?: Range;
    /** `contextValue` for menus. */
    readonly context?: string;
}

/** A node and its children, when they are known up front. */
export interface StaticTreeNode extends TreeNodeData {
    readonly children: readonly StaticTreeNode[];
}
