/**
 * The debug views (IOMMU Groups, Page Tables, PASID Tables) as data: the adapter answers
 * `iommu/groups`, `iommu/pageTables`, `iommu/pasidTables` with `ViewItem`s, and children with
 * `iommu/children` in pages. This module turns items into tree nodes and plans the paging.
 */

import type { ViewItem } from '../../language/protocol/messages.js';
import type { TreeNodeData } from './tree-data.js';

/** Children fetched per request; larger tables show a "load more" node. */
export const PAGE_SIZE = 200;

/** The icon of an item by its `kind` (the adapter's word for what it is). */
export function kindIcon(kind: string | undefined): string {
    // a list of things (`groups`, `domains`) looks like one of them
    switch (kind && kind.endsWith('s') && !kind.endsWith('ss') ? kind.slice(0, -1) : kind) {
        case 'group': return 'type-hierarchy';
        case 'device': return 'circuit-board';
        case 'domain': return 'globe';
        case 'ioas': return 'symbol-namespace';
        case 'hwpt': return 'layers';
        case 'table': case 'pgtable': return 'table';
        case 'container': return 'package';
        case 'fd': return 'file';
        case 'pte': case 'entry': return 'symbol-field';
        case 'leaf': case 'mapping': return 'arrow-right';
        case 'pasid': return 'key';
        case 'process': return 'terminal';
        case 'fault': case 'error': return 'warning';
        case 'owner': return 'person';
        default: return 'circle-small-filled';
    }
}

/** A node of a debug view: an adapter item, or "load more" below a partly loaded parent. */
export type DebugNode =
    | { readonly type: 'item'; readonly item: ViewItem; readonly path: string }
    | { readonly type: 'more'; readonly parentRef: number; readonly start: number; readonly remaining: number; readonly path: string };

export function itemNode(item: ViewItem, parentPath: string, index: number): DebugNode {
    return { type: 'item', item, path: `${parentPath}/${index}:${item.label}` };
}

export function treeData(node: DebugNode): TreeNodeData {
    if (node.type === 'more') {
        return {
            id: node.path,
            label: `Load ${Math.min(PAGE_SIZE, node.remaining)} more…`,
            description: `${node.remaining} not shown`,
            icon: 'ellipsis',
            collapsible: 'none',
            context: 'iommu.loadMore',
        };
    }
    const { item } = node;
    return {
        id: node.path,
        label: item.label,
        ...(item.description === undefined ? {} : { description: item.description }),
        ...(item.tooltip === undefined ? {} : { tooltip: item.tooltip }),
        icon: kindIcon(item.kind),
        collapsible: item.ref > 0 ? 'collapsed' : 'none',
        ...(item.kind === undefined ? {} : { context: `iommu.${item.kind}` }),
    };
}

/** After a page of `loaded` children starting at `start`: the "load more" node, if any remain. */
export function moreNode(parentRef: number, parentPath: string, start: number, loaded: number, childCount: number | undefined): DebugNode | undefined {
    const next = start + loaded;
    if (childCount === undefined || next >= childCount || loaded === 0) {
        return undefined;
    }
    return { type: 'more', parentRef, start: next, remaining: childCount - next, path: `${parentPath}/more@${next}` };
}
