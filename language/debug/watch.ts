/**
 * Watching an IOVA range for the debugger's data breakpoints: whether the mapping of a range of a
 * domain (its page table), a type1 container (its DMA mappings) or an IOAS (its areas) differs
 * between two kernel states. Accessed and dirty bits are not part of a mapping: a DMA that sets
 * them does not trigger. Untouched structures are shared between snapshots, so most comparisons
 * stop at an identity check. Knows nothing of the Debug Adapter Protocol.
 */

import type { IovaRange } from '../../engine/inspect/kernel-views.js';
import type { IntervalMap } from '../../engine/interval-map.js';
import type { IoPageTable } from '../../engine/iommu/pgtable/types.js';
import type { KernelState } from '../../engine/state.js';
import { hex } from '../../engine/u64.js';

/** A watch's id as the debugger hands it around: `domain:3:0x1000:0x1fff`. */
export function watchId(r: IovaRange): string {
    return `${r.space}:${hex(r.start)}:${hex(r.last)}`;
}

/** Parses a {@link watchId}; undefined if it is not one. */
export function parseWatchId(id: string): IovaRange | undefined {
    const m = /^((?:domain:\d+)|(?:container:\d+)|(?:ioas:\d+:\d+)):(0x[0-9a-f]+):(0x[0-9a-f]+)$/.exec(id);
    if (!m) {
        return undefined;
    }
    const start = BigInt(m[2]!);
    const last = BigInt(m[3]!);
    return last >= start ? { space: m[1]!, start, last } : undefined;
}

/** `domain 3 [0x1000, 0x1fff]`. */
export function describeWatch(r: IovaRange): string {
    const [kind, a, b] = r.space.split(':');
    const space = kind === 'ioas' ? `IOAS ${b} of iommufd ${a}` : `${kind} ${a}`;
    return `${space} [${hex(r.start)}, ${hex(r.last)}]`;
}

/** What a range maps to in one state, as comparable tuples. */
type Mapping = ReadonlyArray<readonly (bigint | number | boolean | string)[]>;

/** Whether the mapping of `r` differs between two states. */
export function mappingChanged(before: KernelState, after: KernelState, r: IovaRange): boolean {
    if (before === after) {
        return false;
    }
    const [kind, a, b] = r.space.split(':');
    switch (kind) {
        case 'domain': {
            const da = before.domains.get(Number(a));
            const db = after.domains.get(Number(a));
            if (da === db || da?.pgtable === db?.pgtable) {
                return false;
            }
            return !sameMapping(domainMapping(da?.pgtable, r), domainMapping(db?.pgtable, r));
        }
        case 'container': {
            const ta = before.vfio.containers.get(Number(a))?.type1?.dmaList;
            const tb = after.vfio.containers.get(Number(a))?.type1?.dmaList;
            if (ta === tb) {
                return false;
            }
            return !sameMapping(
                intervals(ta, r, (v) => [v.vaddr, v.read, v.write]),
                intervals(tb, r, (v) => [v.vaddr, v.read, v.write]),
            );
        }
        case 'ioas': {
            const areasOf = (k: KernelState) => {
                const obj = k.iommufd.ctxs.get(Number(a))?.objects.get(Number(b));
                return obj?.type === 'ioas' ? obj.iopt.areas : undefined;
            };
            const aa = areasOf(before);
            const ab = areasOf(after);
            if (aa === ab) {
                return false;
            }
            return !sameMapping(
                intervals(aa, r, (v) => [v.pages, v.startByte, v.read, v.write]),
                intervals(ab, r, (v) => [v.pages, v.startByte, v.read, v.write]),
            );
        }
        default:
            return false;
    }
}

function domainMapping(pt: IoPageTable | undefined, r: IovaRange): Mapping {
    if (!pt) {
        return [];
    }
    const out: Array<readonly (bigint | number | boolean)[]> = [];
    for (const l of pt.leaves(r.start, r.last)) {
        out.push([l.iova, l.size, l.pa, l.prot.read, l.prot.write]);
    }
    return out;
}

function intervals<V>(map: IntervalMap<V> | undefined, r: IovaRange, key: (v: V) => ReadonlyArray<bigint | number | boolean | string>): Mapping {
    return (map?.overlapping(r.start, r.last) ?? []).map((e) => [e.start, e.last, ...key(e.value)]);
}

function sameMapping(a: Mapping, b: Mapping): boolean {
    if (a.length !== b.length) {
        return false;
    }
    for (let i = 0; i < a.length; i++) {
        const x = a[i]!;
        const y = b[i]!;
        if (x.length !== y.length || x.some((v, j) => v !== y[j])) {
            return false;
        }
    }
    return true;
}
