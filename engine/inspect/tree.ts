/**
 * Kernel state as a tree for people: the shape the debugger's variables, hovers, the IOMMU
 * groups view and the CLI render. Views only read the state; none re-derives a kernel rule.
 * Children are computed lazily, and big collections (page-table levels with 512 entries,
 * millions of leaves) are indexed so a viewer can page through them.
 */

export interface InspectNode {
    readonly name: string;
    readonly value: string;
    /** What kind of object it is (for icons, context menus): `group`, `device`, `fd`, `domain`, `pte`... */
    readonly kind?: string;
    /** Named children, computed on demand. */
    readonly children?: () => readonly InspectNode[];
    /** Indexed children, for big collections: how many, and a window of them. */
    readonly indexed?: { readonly count: number; readonly get: (start: number, count: number) => readonly InspectNode[] };
    /** A memory reference the viewer can read (an IOVA space), e.g. `domain:3`. */
    readonly memoryReference?: string;
}

export function leaf(name: string, value: string, kind?: string): InspectNode {
    return { name, value, kind };
}

export function branch(name: string, value: string, children: () => readonly InspectNode[], kind?: string): InspectNode {
    return { name, value, kind, children };
}

/** Expands a node fully (for tests and the CLI); indexed children are read in one window. */
export function expand(node: InspectNode, depth = Infinity): unknown {
    if (depth <= 0) {
        return node.value;
    }
    const kids = node.children?.() ?? node.indexed?.get(0, node.indexed.count) ?? [];
    if (kids.length === 0) {
        return node.value;
    }
    const out: Record<string, unknown> = {};
    for (const k of kids) {
        out[k.name] = expand(k, depth - 1);
    }
    return out;
}

/** Finds a child by a path of names (`groups/2/devices`). */
export function findNode(root: InspectNode, path: readonly string[]): InspectNode | undefined {
    let cur: InspectNode | undefined = root;
    for (const part of path) {
        cur = cur?.children?.().find((c) => c.name === part);
    }
    return cur;
}
