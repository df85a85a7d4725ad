/**
 * iommufd contexts as an inspect tree for the debugger: each context with its objects (ids, what
 * holds them, their fields), the attachments per group and PASID, and the pinned pages. Objects
 * are rendered generically from the state, so new object types and fields show up as the engine
 * grows them; the engine's own wording (`describeObject`, `objectHolders`) names them.
 */

import { IntervalMap } from '../../engine/interval-map.js';
import type { IovaRangeNode } from '../../engine/inspect/kernel-views.js';
import { branch, leaf, type InspectNode } from '../../engine/inspect/tree.js';
import { describeObject, objectHolders } from '../../engine/iommufd/object.js';
import type { IommufdCtx, IommufdObject } from '../../engine/iommufd/types.js';
import type { KernelState } from '../../engine/state.js';
import { hex } from '../../engine/u64.js';

/** Collections longer than this page through `indexed` children. */
const PAGE_THRESHOLD = 100;

/** The `iommufd` scope: every context of the kernel. */
export function iommufdNode(k: KernelState): InspectNode {
    const ctxs = [...k.iommufd.ctxs.values()].sort((a, b) => a.id - b.id);
    return branch('iommufd', `${ctxs.length} context${ctxs.length === 1 ? '' : 's'}`, () => ctxs.map((ctx) => ctxNode(k, ctx)), 'iommufd');
}

function ctxNode(k: KernelState, ctx: IommufdCtx): InspectNode {
    const objects = [...ctx.objects.values()].sort((a, b) => a.id - b.id);
    const path = k.files.get(ctx.file)?.path ?? (ctx.vfioContainer ? '/dev/vfio/vfio' : '/dev/iommu');
    return branch(`iommufd ${ctx.id}`, `${path}, opened by ${ctx.process}, ${objects.length} object${objects.length === 1 ? '' : 's'}`, () => [
        branch('objects', `${objects.length}`, () => objects.map((o) => objectNode(k, ctx, o)), 'objects'),
        branch('attachments', `${ctx.groups.size} group${ctx.groups.size === 1 ? '' : 's'}`, () => [...ctx.groups.values()].map((g) => branch(
            `group ${g.group}`,
            [...g.attach.keys()].map((p) => (p === 0 ? 'RID' : `PASID ${p}`)).join(', ') || 'nothing attached',
            () => [...g.attach.entries()].map(([pasid, a]) => leaf(
                pasid === 0 ? 'pasid 0 (RID)' : `pasid ${pasid}`,
                `${describeById(k, ctx, a.hwpt)}, device${a.devices.length === 1 ? '' : 's'} ${a.devices.join(', ')}`,
                'attachment',
            )),
            'group',
        )), 'attachments'),
        valueNode('pages', ctx.pages, undefined),
        leaf('account mode', ctx.accountMode),
        ...(ctx.vfioIoas !== undefined ? [leaf('VFIO compat IOAS', `${ctx.vfioIoas}`)] : []),
        ...(ctx.noIommuMode ? [leaf('no-IOMMU mode', 'yes')] : []),
        ...(ctx.tombstones.size > 0 ? [leaf('tombstones', [...ctx.tombstones].join(', '))] : []),
    ], 'ctx');
}

function describeById(k: KernelState, ctx: IommufdCtx, id: number): string {
    const obj = ctx.objects.get(id);
    return obj ? safe(() => describeObject(k, obj), `object ${id}`) : `object ${id}`;
}

function objectNode(k: KernelState, ctx: IommufdCtx, obj: IommufdObject): InspectNode {
    const holders = safe(() => objectHolders(k, ctx, obj), []);
    const space = obj.type === 'ioas' ? `ioas:${ctx.id}:${obj.id}` : undefined;
    return branch(safe(() => describeObject(k, obj), `${obj.type} ${obj.id}`), holders.length === 0 ? 'not in use' : `in use: ${holders.length} holder${holders.length === 1 ? '' : 's'}`, () => [
        leaf('id', `${obj.id}`),
        leaf('type', obj.type),
        ...(holders.length > 0 ? [branch('held by', `${holders.length}`, () => holders.map((h, i) => leaf(`[${i}]`, h)))] : []),
        ...fieldNodes(obj as unknown as Record<string, unknown>, space).filter((n) => n.name !== 'id' && n.name !== 'type'),
    ], obj.type);
}

/** The engine's describers are young; a view must not take the debugger down with them. */
function safe<T>(fn: () => T, fallback: T): T {
    try {
        return fn();
    } catch {
        return fallback;
    }
}

function fieldNodes(obj: Record<string, unknown>, space: string | undefined): InspectNode[] {
    return Object.entries(obj).filter(([, v]) => v !== undefined).map(([key, v]) => valueNode(key, v, space));
}

/** Any state value as a node: numbers in hex when large, collections paged when long. */
export function valueNode(name: string, value: unknown, space: string | undefined): InspectNode {
    if (value === null || value === undefined) {
        return leaf(name, 'none');
    }
    switch (typeof value) {
        case 'bigint':
            return leaf(name, value < 0n || value > 9n ? hex(value) : `${value}`);
        case 'number':
            return leaf(name, `${value}`);
        case 'boolean':
            return leaf(name, value ? 'yes' : 'no');
        case 'string':
            return leaf(name, value);
        case 'object':
            break;
        default:
            return leaf(name, String(value));
    }
    if (value instanceof IntervalMap) {
        const map = value as IntervalMap<unknown>;
        return {
            name, value: `${map.size} range${map.size === 1 ? '' : 's'}`, kind: 'ranges',
            indexed: {
                count: map.size,
                get: (start, count) => map.slice(start, count).map((e) => {
                    const node = valueNode(`${hex(e.start)}-${hex(e.last)}`, e.value, undefined);
                    // The areas of an IOAS are what its IOVA space maps: watchable ranges.
                    return space !== undefined && name === 'areas'
                        ? ({ ...node, iova: { space, start: e.start, last: e.last } } satisfies IovaRangeNode)
                        : node;
                }),
            },
        };
    }
    if (ArrayBuffer.isView(value)) {
        return leaf(name, `${value.byteLength} bytes`);
    }
    if (Array.isArray(value)) {
        const items = value as unknown[];
        if (items.length === 0) {
            return leaf(name, 'none');
        }
        if (items.every((v) => typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string')) {
            return leaf(name, items.map((v) => (typeof v === 'bigint' ? hex(v) : String(v))).join(', '));
        }
        return collection(name, items.map((v, i) => [`[${i}]`, v] as const), space);
    }
    if (value instanceof Map) {
        return collection(name, [...(value as Map<unknown, unknown>).entries()].map(([key, v]) => [String(key), v] as const), space);
    }
    if (value instanceof Set) {
        const items = [...(value as Set<unknown>)];
        return leaf(name, items.length === 0 ? 'none' : items.map(String).join(', '));
    }
    const fields = value as Record<string, unknown>;
    return branch(name, summary(fields), () => fieldNodes(fields, space));
}

function collection(name: string, entries: ReadonlyArray<readonly [string, unknown]>, space: string | undefined): InspectNode {
    const value = `${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}`;
    if (entries.length > PAGE_THRESHOLD) {
        return { name, value, indexed: { count: entries.length, get: (start, count) => entries.slice(start, start + count).map(([n, v]) => valueNode(n, v, space)) } };
    }
    return branch(name, value, () => entries.map(([n, v]) => valueNode(n, v, space)));
}

/** A one-line summary of a record: its scalar fields. */
function summary(fields: Record<string, unknown>): string {
    const parts: string[] = [];
    for (const [key, v] of Object.entries(fields)) {
        if (typeof v === 'bigint') {
            parts.push(`${key} ${v > 9n ? hex(v) : v}`);
        } else if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') {
            parts.push(`${key} ${v}`);
        }
        if (parts.length === 4) {
            break;
        }
    }
    return parts.join(', ');
}
