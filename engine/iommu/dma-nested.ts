/**
 * DMA through a nested domain: the IOMMU walks the guest's stage-1 table, and every address that
 * walk produces is guest physical, so it goes through the stage-2 parent too: the descriptor the
 * walk starts from (SMMU CD, AMD GCR3 entry), each stage-1 table page, and the output address
 * (VT-d spec 3.8 "Nested translation"; SMMUv3 spec 3.3.2 and the fault record's S2/CLASS fields;
 * AMD IOMMU spec 2.2.7 "two-level guest translation"). A fault says which stage failed:
 *
 * - `stage1-not-present` / `stage1-permission`: the guest's table has no (or a read-only) entry;
 *   stage 2 is never asked about the output.
 * - `stage2-not-present` / `stage2-permission`: a guest-physical address, of a table page
 *   (SMMU CLASS=TT / CD) or of the output (CLASS=IN), is not mapped (or not for this access) in
 *   the parent: the VMM's mapping of guest memory.
 *
 * The IOTLB: a successful walk leaves a combined entry (IOVA → GPA, the smaller of the two leaf
 * sizes, the stage-1 permissions), tagged with the PASID the request carried. A later access hits
 * it without walking stage 1, so a guest that unmaps or changes a present entry without
 * IOMMU_HWPT_INVALIDATE keeps being translated the old way (the hit is marked `stale`). Faulting
 * walks are never cached (VT-d with Caching Mode clear does not cache not-present entries; Arm:
 * translation faults are not cached), so a guest that maps a new page needs no invalidation.
 * Stage 2 is always walked afresh for the output: the kernel flushes nested entries whenever the
 * parent loses a mapping (VT-d `parent_domain_flush`, SMMUv3 `CMDQ_OP_TLBI_S12_VMALL` for nesting
 * parents; `domainUnmap` mirrors it), so a cached entry never outlives the stage-2 pages its walk
 * read. Entries are never evicted for capacity: what the spec permits the hardware to keep, the
 * engine keeps, so a missing invalidation always shows.
 */

import type { IommuDomain, KernelState, NestedIotlbEntry } from '../state.js';
import type { DmaFault, DmaFaultReason, DmaSegment } from '../step.js';
import type { IoPageTable, PageTableView } from './pgtable/types.js';
import { getDomain } from './domain.js';
import { guestStage1, guestTable, nestedNames, type GuestStage1 } from './guest-s1.js';
import { formatSize, hex, minBig } from '../u64.js';

/** What a nested DMA did: the pieces it reached, a fault, and a warning (a stale IOTLB entry was used). */
export interface NestedDmaResult {
    readonly segments: readonly DmaSegment[];
    readonly fault?: DmaFault;
    readonly warning?: string;
}

type Table = Extract<GuestStage1, { kind: 'table' }>;

/** Stage 1's answer for one address: the GPA, the leaf, the permissions; or a fault. */
type Stage1Result =
    | { readonly ok: true; readonly gpa: bigint; readonly leafIova: bigint; readonly size: bigint; readonly write: boolean }
    | { readonly ok: false; readonly fault: Omit<DmaFault, 'iova' | 'pasid' | 'domain'> };

/** How a fault is named in the hardware's own terms (SMMU event records carry S2 and CLASS). */
function hwTerms(domain: IommuDomain, what: 'cd' | 'tt' | 'in', stage: 1 | 2, permission: boolean): string {
    switch (domain.kind) {
        case 'arm-smmu-v3':
            return ` [SMMU event ${permission ? 'F_PERMISSION' : 'F_TRANSLATION'}, S2=${stage === 2 ? 1 : 0}, CLASS=${what.toUpperCase()}]`;
        case 'intel-vtd':
            return stage === 2 && what !== 'in'
                ? ' [VT-d: second-stage fault on a first-stage paging-structure access]'
                : ` [VT-d: ${stage === 1 ? 'first' : 'second'}-stage ${permission ? 'permission' : 'not-present'} fault]`;
        case 'amd-vi':
            return ` [AMD-Vi IO_PAGE_FAULT, ${stage === 1 ? 'guest' : 'host'} translation]`;
    }
}

/** The nested walker for one domain and request. */
class NestedWalk {
    private readonly parent: IommuDomain;
    private readonly names: { stage1: string; stage2: string };
    private readonly layout: GuestStage1;
    private readonly table: IoPageTable | undefined;
    private readonly tag: number;

    constructor(
        k: KernelState,
        private readonly domain: IommuDomain,
        private readonly who: string,
        private readonly dir: 'read' | 'write',
        private readonly pasid: number | undefined,
    ) {
        this.parent = getDomain(k, domain.parent!);
        this.names = nestedNames(k, domain);
        this.layout = guestStage1(k, domain);
        this.table = this.layout.kind === 'table' ? guestTable(k, domain, this.layout) : undefined;
        this.tag = pasid ?? -1;
    }

    private fault(reason: DmaFaultReason, iova: bigint, message: string, extra: { level?: number; gpa?: bigint } = {}): DmaFault {
        return { reason, iova, pasid: this.pasid, domain: this.domain.id, ...extra, message: `${this.who}: ${message}` };
    }

    run(iova: bigint, length: bigint): NestedDmaResult {
        const segments: DmaSegment[] = [];
        const stale: bigint[] = [];
        let cursor = iova;
        const end = iova + length;
        while (cursor < end) {
            const piece = this.translate(cursor, end);
            if ('fault' in piece) {
                return this.finish(segments, stale, piece.fault);
            }
            segments.push(piece.segment);
            if (piece.segment.iotlb === 'stale') {
                stale.push(cursor);
            }
            cursor += piece.segment.length;
        }
        return this.finish(segments, stale);
    }

    private finish(segments: DmaSegment[], stale: bigint[], fault?: DmaFault): NestedDmaResult {
        const merged = mergeNested(segments);
        const warning = stale.length > 0
            ? `${this.who}: IOVA ${stale.map((a) => hex(a)).join(', ')} was translated by a stale IOTLB entry of ${this.names.stage1}: `
                + 'the guest changed its stage-1 table there without IOMMU_HWPT_INVALIDATE, so the device still reaches the old guest page'
            : undefined;
        return { segments: merged, ...(fault ? { fault } : {}), ...(warning ? { warning } : {}) };
    }

    /** One piece: from `cursor` to the end of the leaf (or IOTLB entry) that translates it. */
    private translate(cursor: bigint, end: bigint): { segment: DmaSegment } | { fault: DmaFault } {
        const { layout } = this;
        let gpa: bigint;
        let s1Size: bigint | undefined;
        let s1End: bigint;
        let iotlb: DmaSegment['iotlb'];
        let fresh: Extract<Stage1Result, { ok: true }> | undefined;
        switch (layout.kind) {
            case 'abort':
                return { fault: this.fault('blocked', cursor, `${this.names.stage1}: ${layout.why}`) };
            case 'unsupported':
                return { fault: this.fault('stage1-not-present', cursor, `stage 1 of ${this.names.stage1} cannot translate: ${layout.why}`) };
            case 'bypass':
                gpa = cursor;
                s1End = end;
                break;
            case 'table': {
                if (cursor > layout.inputEnd) {
                    return {
                        fault: this.fault('beyond-address-width', cursor,
                            `stage 1 (guest table of ${this.names.stage1}): IOVA ${hex(cursor)} is beyond the ${layout.ias}-bit input range [0, ${hex(layout.inputEnd)}] of ${layout.name}; stage 2, ${this.names.stage2}, not reached`),
                    };
                }
                const hit = this.lookup(cursor);
                if (hit) {
                    if (this.dir === 'write' && !hit.write) {
                        // The IOTLB entry's permissions decide; the table says why only if it agrees.
                        const now = this.stage1(cursor, false);
                        if (!now.ok && now.fault.reason === 'stage1-permission') {
                            return { fault: { ...now.fault, iova: cursor, pasid: this.pasid, domain: this.domain.id, message: `${this.who}: ${now.fault.message}` } };
                        }
                        return {
                            fault: this.fault('stage1-permission', cursor,
                                `stage 1 (guest table of ${this.names.stage1}): a stale IOTLB entry from an earlier walk maps IOVA ${hex(cursor)} read-only (GPA ${hex(hit.gpa + (cursor - hit.iova))}), whatever the guest's table says now (no IOMMU_HWPT_INVALIDATE since it changed): the write is refused; stage 2, ${this.names.stage2}, not reached${hwTerms(this.domain, 'in', 1, true)}`),
                        };
                    }
                    gpa = hit.gpa + (cursor - hit.iova);
                    s1Size = hit.s1PageSize;
                    s1End = hit.iova + hit.size;
                    const now = this.stage1(cursor, false);
                    iotlb = now.ok && now.gpa === gpa && now.write === hit.write ? 'hit' : 'stale';
                } else {
                    const r = this.stage1(cursor, true);
                    if (!r.ok) {
                        return { fault: { ...r.fault, iova: cursor, pasid: this.pasid, domain: this.domain.id, message: `${this.who}: ${r.fault.message}` } };
                    }
                    fresh = r;
                    gpa = r.gpa;
                    s1Size = r.size;
                    s1End = r.leafIova + r.size;
                }
                break;
            }
        }
        // The output address, guest physical, through stage 2 (CLASS=IN).
        const s2 = this.stage2(gpa, this.dir);
        if (!s2.ok) {
            const what = s2.fault === 'permission'
                ? `GPA ${hex(gpa)} is mapped ${this.dir === 'write' ? 'read-only' : 'write-only'}: the ${this.dir} is refused`
                : s2.fault === 'beyond'
                    ? `GPA ${hex(gpa)} is beyond its input range`
                    : `GPA ${hex(gpa)} is not mapped`;
            const via = layout.kind === 'bypass'
                ? `stage 1 of ${this.names.stage1} is bypassed (${layout.why})`
                : `stage 1 (guest table of ${this.names.stage1}) put IOVA ${hex(cursor)} there${iotlb === 'stale' ? ', from a stale IOTLB entry' : ''}`;
            return {
                fault: this.fault(s2.fault === 'permission' ? 'stage2-permission' : 'stage2-not-present', cursor,
                    `stage 2 (${this.names.stage2}): ${what}; ${via}${hwTerms(this.domain, 'in', 2, s2.fault === 'permission')}`, { level: s2.level, gpa }),
            };
        }
        const s2End = gpa - (gpa % s2.size) + s2.size;
        const take = minBig(minBig(s1End - cursor, s2End - gpa), end - cursor);
        const pageSize = s1Size === undefined ? s2.size : minBig(s1Size, s2.size);
        if (fresh) {
            this.fill(cursor, gpa, pageSize, fresh);
        }
        if (this.parent.dirtyTracking && this.parent.pgtable) {
            this.recordStage2(gpa, this.dir);
        }
        const segment: DmaSegment = {
            iova: cursor, length: take, pa: s2.pa, pageSize, domain: this.domain.id,
            ...(this.pasid !== undefined ? { pasid: this.pasid } : {}),
            gpa,
            ...(s1Size !== undefined ? { stage1PageSize: s1Size } : {}),
            stage2PageSize: s2.size,
            ...(iotlb ? { iotlb } : {}),
        };
        return { segment };
    }

    /** A stage-2 walk of a guest-physical address. */
    private stage2(gpa: bigint, access: 'read' | 'write'): { ok: true; pa: bigint; size: bigint } | { ok: false; fault: 'not-present' | 'permission' | 'beyond'; level?: number } {
        const pt = this.parent.pgtable;
        if (!pt) {
            return { ok: false, fault: 'not-present' };
        }
        if (gpa < this.parent.aperture.start || gpa > this.parent.aperture.end) {
            return { ok: false, fault: 'beyond' };
        }
        const w = pt.walk(gpa, access);
        if (!w.ok) {
            return {
                ok: false,
                fault: w.fault === 'not-present' ? 'not-present' : w.fault === 'beyond-address-width' ? 'beyond' : 'permission',
                level: w.level,
            };
        }
        return { ok: true, pa: BigInt(w.pa), size: w.pageSize };
    }

    /** Stage-2 A/D bits for an access the nested walk made (SSADE, HTTU on the parent). */
    private recordStage2(gpa: bigint, access: 'read' | 'write'): void {
        this.parent.pgtable = this.parent.pgtable!.recordAccess(gpa, access);
    }

    /** Reads guest memory at `gpa` for the walk: through stage 2, or the stage-2 fault it meets. */
    private fetch(gpa: bigint, what: string, cls: 'cd' | 'tt', iova: bigint, level: number | undefined, record: boolean): Stage1Result | undefined {
        const r = this.stage2(gpa, 'read');
        if (r.ok) {
            if (record && this.parent.dirtyTracking && this.parent.pgtable) {
                this.recordStage2(gpa, 'read');
            }
            return undefined;
        }
        const how = r.fault === 'permission' ? 'is not readable in' : r.fault === 'beyond' ? 'is beyond the input range of' : 'is not mapped in';
        return {
            ok: false,
            fault: {
                reason: r.fault === 'permission' ? 'stage2-permission' : 'stage2-not-present',
                level,
                gpa,
                message: `stage 2 (${this.names.stage2}): ${what} at GPA ${hex(gpa)} ${how} stage 2, so stage 1 (guest table of ${this.names.stage1}) cannot be walked for IOVA ${hex(iova)}${hwTerms(this.domain, cls, 2, r.fault === 'permission')}`,
            },
        };
    }

    /**
     * The stage-1 walk, level by level (VT-d spec 3.6, ARM VMSA): each table page's GPA goes
     * through stage 2 before its entry is read. `record`: set stage-2 A bits (a real walk).
     */
    private stage1(iova: bigint, record: boolean): Stage1Result {
        const layout = this.layout as Table;
        if (layout.descriptor) {
            const f = this.fetch(layout.descriptor.gpa, layout.descriptor.what, 'cd', iova, undefined, record);
            if (f) {
                return f;
            }
        }
        const table = this.table;
        if (!table) {
            // The guest has written nothing: its (zeroed) root page is still read through stage 2.
            const top = layout.ias > 48 ? 4 : 3;
            const f = this.fetch(layout.root, `the guest's level-${top} (root) table page`, 'tt', iova, top, record);
            return f ?? this.notPresent(iova, top, layout.root, 'the guest has written no entries yet');
        }
        let view: PageTableView | undefined = table.root();
        while (view) {
            const level = view.level;
            const f = this.fetch(BigInt(view.pa), `the guest's level-${level} table page`, 'tt', iova, level, record);
            if (f) {
                return f;
            }
            const slot = Number((iova - view.iova) >> BigInt(12 + 9 * level));
            const e = table.entries(view, slot, 1)[0];
            const entryGpa = BigInt(view.pa) + BigInt(slot * 8);
            if (!e || !e.present) {
                return this.notPresent(iova, level, entryGpa);
            }
            if (e.leaf) {
                const gpa = BigInt(e.address) + (iova - e.iova);
                if (this.dir === 'write' && !e.write) {
                    return {
                        ok: false,
                        fault: {
                            reason: 'stage1-permission', level,
                            message: `stage 1 (guest table of ${this.names.stage1}): the guest maps IOVA ${hex(iova)} read-only (GPA ${hex(gpa)}, a ${formatSize(e.size)} leaf): the write is refused; stage 2, ${this.names.stage2}, not reached${hwTerms(this.domain, 'in', 1, true)}`,
                        },
                    };
                }
                return { ok: true, gpa, leafIova: e.iova, size: e.size, write: e.write };
            }
            view = table.tableAt(e.address);
        }
        return this.notPresent(iova, 0, layout.root);
    }

    private notPresent(iova: bigint, level: number, entryGpa: bigint, note?: string): Stage1Result {
        const layout = this.layout as Table;
        return {
            ok: false,
            fault: {
                reason: 'stage1-not-present', level,
                message: `stage 1 (guest table of ${this.names.stage1}): IOVA ${hex(iova)} is not mapped: the level-${level} entry at GPA ${hex(entryGpa)} of ${layout.name} is not present${note ? ` (${note})` : ''}; stage 2, ${this.names.stage2}, not reached${hwTerms(this.domain, 'in', 1, false)}`,
            },
        };
    }

    private lookup(iova: bigint): NestedIotlbEntry | undefined {
        return this.domain.nested!.iotlb?.find((e) => e.pasid === this.tag && iova >= e.iova && iova < e.iova + e.size);
    }

    private fill(iova: bigint, gpa: bigint, size: bigint, s1: Extract<Stage1Result, { ok: true }>): void {
        const base = iova - (iova % size);
        const entry: NestedIotlbEntry = { pasid: this.tag, iova: base, size, gpa: gpa - (iova - base), write: s1.write, s1PageSize: s1.size };
        const s = this.domain.nested!;
        s.iotlb = [...(s.iotlb ?? []), entry];
    }
}

/** Joins pieces contiguous in IOVA, GPA and PA, with the same leaves and IOTLB state. */
function mergeNested(segs: readonly DmaSegment[]): DmaSegment[] {
    const out: DmaSegment[] = [];
    for (const s of segs) {
        const last = out[out.length - 1];
        if (last && last.iova + last.length === s.iova && last.pa + last.length === s.pa
            && last.gpa !== undefined && s.gpa !== undefined && last.gpa + last.length === s.gpa
            && last.pageSize === s.pageSize && last.stage1PageSize === s.stage1PageSize && last.stage2PageSize === s.stage2PageSize
            && last.iotlb === s.iotlb) {
            out[out.length - 1] = { ...last, length: last.length + s.length };
        } else {
            out.push(s);
        }
    }
    return out;
}

/**
 * A DMA of `length` bytes at `iova` by `who` through the nested `domain` (the RID's or the
 * PASID's): stage 1 in the guest's table, stage 2 in the parent, through the IOTLB.
 */
export function nestedDma(k: KernelState, domain: IommuDomain, who: string, dir: 'read' | 'write', iova: bigint, length: bigint, pasid: number | undefined): NestedDmaResult {
    if (domain.parent === undefined || !domain.nested) {
        throw new Error(`engine invariant: nested domain ${domain.id} has no parent or stage-1 data`);
    }
    return new NestedWalk(k, domain, who, dir, pasid).run(iova, length);
}

/** Which cached translations an invalidation drops: an IOVA range, or all. */
export type IotlbRange = { readonly start: bigint; readonly end: bigint } | 'all';

/**
 * Drops the IOTLB entries of the nested domains `domainIds` that overlap `range` (every PASID
 * tag: the invalidation is by domain, as `cache_tag_flush_range` and the vSMMU's TLBI are).
 * Returns how many entries went.
 */
export function nestedIotlbInvalidate(k: KernelState, domainIds: readonly number[], range: IotlbRange): number {
    let dropped = 0;
    for (const id of domainIds) {
        const s = k.domains.get(id)?.nested;
        if (!s?.iotlb || s.iotlb.length === 0) {
            continue;
        }
        const keep = range === 'all' ? [] : s.iotlb.filter((e) => e.iova + e.size <= range.start || e.iova >= range.end);
        dropped += s.iotlb.length - keep.length;
        s.iotlb = keep;
    }
    return dropped;
}

/**
 * The range a VT-d page-selective invalidation really covers (`cache_tag.c:
 * calculate_psi_aligned_address`): a naturally aligned power-of-two number of pages holding
 * [addr, addr + npages * 4K); `npages` U64_MAX is everything.
 */
export function vtdPsiRange(addr: bigint, npages: bigint): IotlbRange {
    if (npages === 0xffff_ffff_ffff_ffffn) {
        return 'all';
    }
    if (npages === 0n) {
        return { start: addr, end: addr };
    }
    const pfn = addr >> 12n;
    let aligned = 1n;
    while (aligned < npages) {
        aligned <<= 1n;
    }
    let mask = BigInt(aligned.toString(2).length - 1);
    const bitmask = aligned - 1n;
    if ((bitmask & pfn) !== 0n) {
        const endPfn = pfn + npages - 1n;
        const shared = ~(pfn ^ endPfn) & ~bitmask & ((1n << 64n) - 1n);
        if (shared === 0n) {
            return 'all';
        }
        mask = 0n;
        while (((shared >> mask) & 1n) === 0n) {
            mask++;
        }
    }
    const size = 4096n << mask;
    const start = addr - (addr % size);
    return { start, end: start + size };
}

/** Size of the range, for messages. */
export function describeRange(range: IotlbRange): string {
    return range === 'all' ? 'all IOVAs' : `[${hex(range.start)}, ${hex(range.end - 1n)}]`;
}
