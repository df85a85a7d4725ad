import { describe, expect, test } from 'vitest';
import { itemNode, kindIcon, moreNode, PAGE_SIZE, treeData } from '../../client/views/debug-tree.js';

describe('debug views as data', () => {
    test('an adapter item becomes a node; ref > 0 makes it expandable', () => {
        const node = itemNode({ label: 'domain 3', description: 'x86-64, 4 levels', tooltip: 't', kind: 'domain', ref: 7, childCount: 512 }, 'iommu.debug.pageTables', 0);
        expect(treeData(node)).toEqual({
            id: 'iommu.debug.pageTables/0:domain 3', label: 'domain 3', description: 'x86-64, 4 levels', tooltip: 't',
            icon: 'globe', collapsible: 'collapsed', context: 'iommu.domain',
        });
        expect(treeData(itemNode({ label: 'PTE 0', ref: 0 }, 'p', 1))).toMatchObject({ collapsible: 'none', icon: 'circle-small-filled' });
        expect(kindIcon('pasid')).toBe('key');
        expect(kindIcon('domains')).toBe('globe');
        expect(kindIcon('pgtable')).toBe('table');
        expect(kindIcon('process')).toBe('terminal');
    });

    test('paging: a "load more" node while children remain', () => {
        expect(moreNode(7, 'p', 0, PAGE_SIZE, 512)).toEqual({ type: 'more', parentRef: 7, start: PAGE_SIZE, remaining: 512 - PAGE_SIZE, path: `p/more@${PAGE_SIZE}` });
        expect(moreNode(7, 'p', 400, 112, 512)).toBeUndefined();
        expect(moreNode(7, 'p', 0, 10, undefined)).toBeUndefined();
        expect(moreNode(7, 'p', 0, 0, 512)).toBeUndefined();
        const more = moreNode(7, 'p', 0, PAGE_SIZE, 1000)!;
        expect(treeData(more)).toMatchObject({ label: `Load ${PAGE_SIZE} more…`, description: `${1000 - PAGE_SIZE} not shown` });
    });
});
