/**
 * A reference model of an IOMMU page table for property tests: the sorted list of leaves
 * (`iommu_map` page-size choice done the plain way), plus, for io-pgtable-arm, which table pages
 * exist (its unmap frees whole tables at a chunk's level). It predicts translations, permission
 * faults, `unmap`'s return value and `mappedBytes`, written from the kernel rules independently of
 * the engine code. Units are 4 KiB frames.
 */

import type { PageTableFormat } from '../../../../engine/state.js';

/** Fixed facts of the modelled table. */
export interface ModelConfig {
    readonly format: PageTableFormat;
    readonly ias: number;
    /** Allowed leaf sizes, log2 frames, ascending. */
    readonly sizes: readonly number[];
    /** Top level at creation, and the highest it can grow to (AMD v1). */
    readonly top: number;
    readonly maxTop: number;
    /** log2 of the entries in the top table. */
    readonly topSlotsLg2: number;
    /** Last IOVA frame of the aperture. */
    readonly apertureLastPfn: number;
}

export interface ModelLeaf {
    readonly ipfn: number;
    readonly sizeLg2: number;
    readonly papfn: number;
    readonly read: boolean;
    readonly write: boolean;
}

export interface ModelState {
    /** Sorted by `ipfn`, non-overlapping. */
    readonly leaves: readonly ModelLeaf[];
    /** io-pgtable-arm only: existing non-root table pages, `${level}:${spanIndex}`. */
    readonly tables: ReadonlySet<string>;
    readonly top: number;
    readonly mappedPages: number;
}

export type Expect =
    | { readonly ok: true; readonly papfn: number; readonly sizeLg2: number }
    | { readonly ok: false; readonly fault: 'not-present' | 'write-to-read-only' | 'read-from-write-only' | 'beyond-address-width' };

const isArm = (c: ModelConfig): boolean => c.format === 'arm-lpae-s1' || c.format === 'arm-lpae-s2';

/** Level a leaf of 2^s frames goes to. */
export function leafLevel(c: ModelConfig, s: number): number {
    return c.format === 'amd-v1' ? Math.min(4, Math.floor(s / 9)) : s / 9;
}

function cover(c: ModelConfig, top: number): number {
    const slotsLg2 = c.format === 'amd-v1' ? Math.min(top === 5 ? 7 : 9, c.ias - 12 - 9 * top) : c.topSlotsLg2;
    return 2 ** (9 * top + slotsLg2);
}

function tableKey(level: number, ipfn: number): string {
    return `${level}:${Math.floor(ipfn / 2 ** (9 * (level + 1)))}`;
}

export function emptyModel(c: ModelConfig): ModelState {
    return { leaves: [], tables: new Set(), top: c.top, mappedPages: 0 };
}

/** The leaf containing frame `ipfn`. */
export function findLeaf(m: ModelState, ipfn: number): ModelLeaf | undefined {
    let lo = 0;
    let hi = m.leaves.length - 1;
    while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const l = m.leaves[mid];
        if (ipfn < l.ipfn) {
            hi = mid - 1;
        } else if (ipfn >= l.ipfn + 2 ** l.sizeLg2) {
            lo = mid + 1;
        } else {
            return l;
        }
    }
    return undefined;
}

/** Effective permissions the hardware applies for a map with `read`/`write`. */
function effective(c: ModelConfig, l: ModelLeaf): { read: boolean; write: boolean } {
    switch (c.format) {
        case 'x86-64':
        case 'arm-lpae-s1':
            // No "not readable" encoding: every present leaf reads; write-only maps read/write.
            return { read: true, write: l.write };
        default:
            return { read: l.read, write: l.write };
    }
}

/** What a DMA `access` at frame `ipfn` sees. */
export function expectWalk(c: ModelConfig, m: ModelState, ipfn: number, access: 'read' | 'write'): Expect {
    if (ipfn > c.apertureLastPfn) {
        return { ok: false, fault: 'beyond-address-width' };
    }
    const l = findLeaf(m, ipfn);
    if (!l) {
        return { ok: false, fault: 'not-present' };
    }
    const eff = effective(c, l);
    if (access === 'write' && !eff.write) {
        return { ok: false, fault: 'write-to-read-only' };
    }
    if (access === 'read' && !eff.read) {
        return { ok: false, fault: 'read-from-write-only' };
    }
    return { ok: true, papfn: l.papfn + (ipfn - l.ipfn), sizeLg2: l.sizeLg2 };
}

function ctz(x: number): number {
    if (x === 0) {
        return 64;
    }
    let n = 0;
    while (x % 2 === 0) {
        x /= 2;
        n++;
    }
    return n;
}

function log2floor(x: number): number {
    let n = 0;
    while (2 ** (n + 1) <= x) {
        n++;
    }
    return n;
}

/** iommu_map's split of one physically contiguous run into leaves. */
export function splitRun(c: ModelConfig, ipfn: number, papfn: number, n: number, read: boolean, write: boolean): ModelLeaf[] {
    const out: ModelLeaf[] = [];
    while (n > 0) {
        let best = -1;
        for (const s of c.sizes) {
            if (2 ** s <= n && ipfn % 2 ** s === 0 && papfn % 2 ** s === 0) {
                best = s;
            }
        }
        out.push({ ipfn, sizeLg2: best, papfn, read, write });
        ipfn += 2 ** best;
        papfn += 2 ** best;
        n -= 2 ** best;
    }
    return out;
}

export type MapOutcome = { readonly ok: true; readonly model: ModelState } | { readonly ok: false; readonly errno: string };

/** `map` of runs `[papfn, frames][]` at `ipfn`. */
export function modelMap(c: ModelConfig, m: ModelState, ipfn: number, runs: readonly (readonly [number, number])[], read: boolean, write: boolean): MapOutcome {
    const total = runs.reduce((a, r) => a + r[1], 0);
    if (!read && !write) {
        return { ok: false, errno: 'EINVAL' };
    }
    if (ipfn + total - 1 > c.apertureLastPfn) {
        return { ok: false, errno: 'ERANGE' };
    }
    const fresh: ModelLeaf[] = [];
    let at = ipfn;
    for (const [papfn, n] of runs) {
        for (const l of splitRun(c, at, papfn, n, read, write)) {
            fresh.push(l);
        }
        at += n;
    }
    let top = m.top;
    for (const l of fresh) {
        while (l.ipfn + 2 ** l.sizeLg2 - 1 >= cover(c, top) || leafLevel(c, l.sizeLg2) > top) {
            top++;
        }
    }
    const tables = new Set(m.tables);
    const gone = new Set<ModelLeaf>();
    let dropped = 0;
    for (const l of fresh) {
        const end = l.ipfn + 2 ** l.sizeLg2;
        const overlapping = overlaps(m.leaves, l.ipfn, end).filter((o) => !gone.has(o));
        if (!isArm(c)) {
            if (overlapping.length > 0) {
                return { ok: false, errno: 'EADDRINUSE' };
            }
            continue;
        }
        // A leaf on the way down or in the slot: EEXIST. Smaller leaves live in a table the new
        // block replaces (arm_lpae_init_pte unmaps and frees it, whatever it mapped).
        if (overlapping.some((o) => o.sizeLg2 >= l.sizeLg2)) {
            return { ok: false, errno: 'EEXIST' };
        }
        const level = leafLevel(c, l.sizeLg2);
        if (level > 0 && tables.has(tableKey(level - 1, l.ipfn))) {
            dropSpan(tables, l.ipfn, level);
            for (const o of overlapping) {
                gone.add(o);
                dropped += 2 ** o.sizeLg2;
            }
        }
        for (let t = level; t < top; t++) {
            tables.add(tableKey(t, l.ipfn));
        }
    }
    const leaves = m.leaves.filter((o) => !gone.has(o)).concat(fresh).sort((a, b) => a.ipfn - b.ipfn);
    const added = fresh.reduce((a, l) => a + 2 ** l.sizeLg2, 0);
    return { ok: true, model: { leaves, tables, top, mappedPages: m.mappedPages + added - dropped } };
}

/** Leaves of the sorted list that intersect frames `[start, end)`. */
function overlaps(leaves: readonly ModelLeaf[], start: number, end: number): ModelLeaf[] {
    let lo = 0;
    let hi = leaves.length;
    while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (leaves[mid].ipfn + 2 ** leaves[mid].sizeLg2 <= start) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    const out: ModelLeaf[] = [];
    for (let i = lo; i < leaves.length && leaves[i].ipfn < end; i++) {
        out.push(leaves[i]);
    }
    return out;
}

/** Removes the table pages below a level-`level` entry at `ipfn`. */
function dropSpan(tables: Set<string>, ipfn: number, level: number): void {
    const span = 2 ** (9 * level);
    for (const key of [...tables]) {
        const [kl, kidx] = key.split(':').map(Number);
        const start = kidx * 2 ** (9 * (kl + 1));
        if (kl < level && start >= ipfn && start < ipfn + span) {
            tables.delete(key);
        }
    }
}

export interface UnmapOutcome {
    readonly model: ModelState;
    /** Frames `unmap` reports. */
    readonly frames: number;
}

/** generic_pt `unmap_range`. */
function unmapGeneric(c: ModelConfig, m: ModelState, ipfn: number, n: number): UnmapOutcome {
    const none = { model: m, frames: 0 };
    const last = ipfn + n - 1;
    if (n <= 0 || last > Math.min(c.apertureLastPfn, cover(c, m.top) - 1)) {
        return none;
    }
    const first = findLeaf(m, ipfn);
    if (!first || first.ipfn !== ipfn) {
        // A hole at the start, or the start inside a large leaf: -EINVAL, nothing unmapped.
        return none;
    }
    const gone = new Set<ModelLeaf>();
    let cur = ipfn;
    while (cur <= last) {
        const l = findLeaf(m, cur);
        if (!l) {
            break;
        }
        gone.add(l);
        cur = l.ipfn + 2 ** l.sizeLg2;
    }
    const frames = cur - ipfn;
    return { model: { ...m, leaves: m.leaves.filter((l) => !gone.has(l)), mappedPages: m.mappedPages - frames }, frames };
}

/** `iommu_pgsize` for an unmap chunk (paddr == iova). */
export function pgsize(sizes: readonly number[], iova: number, size: number): { sizeLg2: number; count: number } {
    const fit = log2floor(size);
    const align = ctz(iova);
    const pg = Math.max(...sizes.filter((s) => s <= fit && s <= align));
    const next = sizes.find((s) => s > pg);
    let limit = size;
    if (next !== undefined) {
        const offset = 2 ** next - (iova % 2 ** next);
        if (offset + 2 ** next <= size) {
            limit = offset;
        }
    }
    return { sizeLg2: pg, count: Math.floor(limit / 2 ** pg) };
}

/** `__iommu_unmap` + `arm_lpae_unmap_pages`. */
function unmapArm(c: ModelConfig, m: ModelState, ipfn: number, n: number): UnmapOutcome {
    let leaves = [...m.leaves];
    const tables = new Set(m.tables);
    let frames = 0;
    let removed = 0;
    let cur = ipfn;
    let remaining = n;
    const state = (): ModelState => ({ leaves, tables, top: m.top, mappedPages: m.mappedPages });
    while (remaining > 0 && cur < 2 ** (c.ias - 12)) {
        const { sizeLg2, count } = pgsize(c.sizes, cur, remaining);
        const target = sizeLg2 / 9;
        let reported = 0;
        // Walk down: every entry on the way must be a table.
        let level = m.top;
        let blocked = false;
        while (level > target) {
            const l = findLeaf(state(), cur);
            if (l && leafLevel(c, l.sizeLg2) === level) {
                blocked = true; // "Unmap of a partial large IOPTE is not allowed"
                break;
            }
            if (!tables.has(tableKey(level - 1, cur))) {
                blocked = true; // non-present entry
                break;
            }
            level--;
        }
        if (!blocked) {
            const perPage = Math.min(512, 2 ** (target === m.top ? c.topSlotsLg2 : 9));
            const slot = Math.floor(cur / 2 ** (9 * target)) % 512;
            const todo = Math.min(count, perPage - slot);
            let i = 0;
            for (; i < todo; i++) {
                const at = cur + i * 2 ** sizeLg2;
                const l = findLeaf(state(), at);
                if (l && l.ipfn === at && l.sizeLg2 === sizeLg2) {
                    removed += 2 ** sizeLg2;
                    leaves = leaves.filter((o) => o !== l);
                } else if (target > 0 && tables.has(tableKey(target - 1, at))) {
                    // A table where the chunk's page goes: freed whole, counted as a full page.
                    dropSpan(tables, at, target);
                    const inside = overlaps(leaves, at, at + 2 ** sizeLg2);
                    removed += inside.reduce((a, o) => a + 2 ** o.sizeLg2, 0);
                    leaves = leaves.filter((o) => !inside.includes(o));
                } else {
                    break;
                }
            }
            reported = i * 2 ** sizeLg2;
        }
        if (reported === 0) {
            break;
        }
        cur += reported;
        frames += reported;
        remaining -= reported;
    }
    if (frames === 0) {
        return { model: m, frames: 0 };
    }
    return { model: { leaves, tables, top: m.top, mappedPages: m.mappedPages - removed }, frames };
}

/** `unmap` of `n` frames at `ipfn`. */
export function modelUnmap(c: ModelConfig, m: ModelState, ipfn: number, n: number): UnmapOutcome {
    return isArm(c) ? unmapArm(c, m, ipfn, n) : unmapGeneric(c, m, ipfn, n);
}
