/**
 * The guest's stage-1 table of a nested domain: what the hardware walks before stage 2, kept in
 * guest memory by the guest kernel. The nested HWPT's data says where it starts
 * (`include/uapi/linux/iommufd.h`):
 *
 * - VT-d (`struct iommu_hwpt_vtd_s1`): `pgtbl_addr` is the first-stage root (the PASID entry's
 *   FSPTPTR, `intel_pasid_setup_nested`), 4-level for `addr_width` 48, 5-level for 57, in the
 *   x86-64 format (VT-d spec 3.6, first-stage translation).
 * - SMMUv3 (`struct iommu_hwpt_arm_smmuv3`, the guest STE): Config 5 (stage-1 translate) points
 *   S1ContextPtr at the guest's context-descriptor table; CD 0's TTB0 is the root of an ARM LPAE
 *   stage-1 table (4 KiB granule, 48-bit input). Config 4 bypasses stage 1, 0 (or V clear) aborts
 *   (`arm_smmu_make_nested_domain_ste`).
 * - AMD (`struct iommu_hwpt_amd_guest`, the guest DTE): with GV the GCR3 table root pointer
 *   names the guest's GCR3 table, whose PASID-0 entry is the guest CR3 of an x86-64 table, 4- or
 *   5-level by the DTE's guest paging mode; GIOV makes requests without a PASID use it.
 *
 * The engine models the guest's memory layout, which a real guest chooses freely, this way:
 * VT-d table pages sit at `pgtbl_addr` and the pages after it; SMMUv3 and AMD keep the CD / GCR3
 * table in the page(s) at the pointer, and the page table from the next page on. A `guest-map`
 * writes that table in its real format (`createIoPageTable` with `tablePaBase` = the root GPA),
 * choosing page sizes as the guest's `iommu_map` would. Nested HWPTs whose stage 1 is the same
 * guest memory (same IOAS behind their parents, same root and shape) see the same table.
 */

import type { IoPageTable, Prot } from './pgtable/types.js';
import type { IommuDomain, KernelState, NestedStage1, Process } from '../state.js';
import type { IommufdCtx, IommufdHwptNested } from '../iommufd/types.js';
import { createIoPageTable } from './pgtable/io-page-table.js';
import { MapError } from './pgtable/types.js';
import { describeObject } from '../iommufd/object.js';
import { SZ_1G, SZ_2M, SZ_4K, alignUp, formatSize, hex } from '../u64.js';

/** A problem with a guest-map request, in words (the step cannot run). */
export class GuestTableError extends Error {
    constructor(message: string) {
        super(message);
        this.name = 'GuestTableError';
    }
}

/** A structure the IOMMU fetches (through stage 2) before the page table: an SMMU CD, an AMD GCR3 entry. */
export interface GuestDescriptor {
    /** "the guest's context descriptor CD 0". */
    readonly what: string;
    readonly gpa: bigint;
}

/** How a nested domain's stage 1 translates requests without a PASID (and with one, for VT-d). */
export type GuestStage1 =
    | {
        readonly kind: 'table';
        readonly format: 'x86-64' | 'arm-lpae-s1';
        /** Input bits of the table (48 or 57). */
        readonly ias: number;
        /** Last IOVA stage 1 can translate (x86-64 is sign-extended: the lower half only). */
        readonly inputEnd: bigint;
        /** Guest-physical address of the root table page; more table pages follow it. */
        readonly root: bigint;
        readonly pgsizeBitmap: bigint;
        readonly descriptor?: GuestDescriptor;
        /** "the guest's 4-level x86-64 table at GPA 0x100000". */
        readonly name: string;
    }
    /** Stage 1 off: the IOVA is the GPA (SMMU STE Config bypass, AMD without GV/GIOV). */
    | { readonly kind: 'bypass'; readonly why: string }
    /** Every request is terminated (SMMU STE Config abort or V clear). */
    | { readonly kind: 'abort'; readonly why: string }
    /** A configuration the engine does not model (or hardware would refuse), in words. */
    | { readonly kind: 'unsupported'; readonly why: string };

const MASK_4K = ~(SZ_4K - 1n);

function bits(v: bigint, hi: number, lo: number): bigint {
    return (v >> BigInt(lo)) & ((1n << BigInt(hi - lo + 1)) - 1n);
}

function word(s: NestedStage1, i: number): bigint {
    return s.words?.[i] ?? (i === 0 ? s.flags : 0n);
}

function x86Table(root: bigint, levels: 4 | 5, pgsizeBitmap: bigint, descriptor?: GuestDescriptor): GuestStage1 {
    const ias = levels === 5 ? 57 : 48;
    return {
        kind: 'table', format: 'x86-64', ias, inputEnd: (1n << BigInt(ias - 1)) - 1n, root, pgsizeBitmap, descriptor,
        name: `the guest's ${levels}-level x86-64 table at GPA ${hex(root)}`,
    };
}

/**
 * The shape of a nested domain's stage 1, from its HWPT data: where the guest's table starts,
 * its format and width, and the descriptor the IOMMU reads first.
 */
export function guestStage1(k: KernelState, domain: IommuDomain): GuestStage1 {
    const s = domain.nested;
    if (!s) {
        return { kind: 'unsupported', why: `domain ${domain.id} is not nested` };
    }
    const unit = k.iommus.get(domain.iommu);
    switch (s.dataType) {
        case 'vtd-s1': {
            // intel_pasid_setup_nested: addr_width 48 (4-level) or 57 (5-level, cap.FL5LP); the
            // PASID entry's FSPTPTR takes bits 63:12 of pgtbl_addr.
            if (s.addressWidth !== 48 && s.addressWidth !== 57) {
                return { kind: 'unsupported', why: `its addr_width ${s.addressWidth} is neither 48 (4-level) nor 57 (5-level): intel_pasid_setup_nested refuses such a stage 1 (EINVAL)` };
            }
            // First-stage leaves: 4K and 2M always, 1G with cap.FL1GP (iommu_superpage_capability).
            const sizes = SZ_4K | SZ_2M | (unit && (unit.pgsizeBitmap & SZ_1G) !== 0n ? SZ_1G : 0n);
            return x86Table(s.root & MASK_4K, s.addressWidth === 57 ? 5 : 4, sizes);
        }
        case 'arm-smmuv3':
            return smmuStage1(s);
        case 'amd-guest':
            return amdStage1(s);
    }
}

/** The guest STE (`arm_smmu_validate_vste`, `arm_smmu_make_nested_domain_ste`). */
function smmuStage1(s: NestedStage1): GuestStage1 {
    const ste0 = word(s, 0);
    const ste1 = word(s, 1);
    if ((ste0 & 1n) === 0n) {
        return { kind: 'abort', why: 'the guest STE is not valid (V clear): the nested STE aborts every transaction' };
    }
    const cfg = bits(ste0, 3, 1);
    if (cfg === 4n) {
        return { kind: 'bypass', why: 'the guest STE bypasses stage 1 (Config 4): the IOVA is the IPA' };
    }
    if (cfg !== 5n) {
        return { kind: 'abort', why: `the guest STE's Config is ${cfg === 0n ? 'abort (0)' : cfg}: every transaction is terminated` };
    }
    const s1Fmt = bits(ste0, 5, 4);
    const cdMax = Number(bits(ste0, 63, 59));
    const ctxPtr = ste0 & (((1n << 46n) - 1n) << 6n);
    if (s1Fmt !== 0n && cdMax > 0) {
        return { kind: 'unsupported', why: `the guest STE has a two-level CD table (S1Fmt ${s1Fmt}), which the engine does not model` };
    }
    if (cdMax > 0) {
        // Substreams on: S1DSS (STE[1] bits 1:0) decides what a request without an SSID does.
        const s1dss = bits(ste1, 1, 0);
        if (s1dss === 0n) {
            return { kind: 'abort', why: 'the guest STE enables substreams (S1CDMax) with S1DSS 0: requests without a PASID are terminated' };
        }
        if (s1dss === 1n) {
            return { kind: 'bypass', why: 'the guest STE says S1DSS 1: requests without a PASID bypass stage 1' };
        }
    }
    // A linear CD table of 2^S1CDMax 64-byte CDs at S1ContextPtr; CD 0 serves requests without
    // a PASID. The engine's guest keeps its stage-1 tables in the pages after the CD table.
    const root = alignUp(ctxPtr + (64n << BigInt(cdMax)), SZ_4K);
    return {
        kind: 'table', format: 'arm-lpae-s1', ias: 48, inputEnd: (1n << 48n) - 1n, root,
        pgsizeBitmap: SZ_4K | SZ_2M | SZ_1G,
        descriptor: { what: 'the guest\'s context descriptor CD 0 (STE S1ContextPtr)', gpa: ctxPtr },
        name: `the guest's ARM LPAE table (TTB0 of CD 0) at GPA ${hex(root)}`,
    };
}

/** The guest DTE (`amd/nested.c`: GV, GIOV, GLX, GCR3 TRP split over DTE[0] 60:58, DTE[1] 31:16 and 63:43, GPT level DTE[2] 55:54). */
function amdStage1(s: NestedStage1): GuestStage1 {
    const dte0 = word(s, 0);
    const dte2 = word(s, 2);
    const gv = (dte0 >> 55n) & 1n;
    const giov = (dte0 >> 54n) & 1n;
    if (gv === 0n || giov === 0n) {
        return { kind: 'bypass', why: gv === 0n ? 'the guest DTE has no guest translation (GV clear): stage 1 is bypassed' : 'the guest DTE leaves GIOV clear: requests without a PASID bypass stage 1' };
    }
    if (bits(dte0, 57, 56) !== 0n) {
        return { kind: 'unsupported', why: `the guest DTE has a ${bits(dte0, 57, 56) + 1n}-level GCR3 table (GLX), which the engine does not model` };
    }
    const trp = gcr3Root(s);
    // amd/nested.c validate_gdte_nested: guest paging mode 0 (4-level) or 1 (5-level).
    const levels = bits(dte2, 55, 54) === 1n ? 5 : 4;
    return x86Table(trp + SZ_4K, levels, SZ_4K | SZ_2M | SZ_1G, { what: 'the guest\'s GCR3 table entry of PASID 0', gpa: trp });
}

/** The GCR3 table root pointer of a guest DTE (`DTE_GCR3_14_12`, `DTE_GCR3_30_15`, `DTE_GCR3_51_31`). */
export function gcr3Root(s: Pick<NestedStage1, 'words' | 'flags'>): bigint {
    const dte0 = s.words?.[0] ?? s.flags;
    const dte1 = s.words?.[1] ?? 0n;
    return (bits(dte0, 60, 58) << 12n) | (bits(dte1, 31, 16) << 15n) | (bits(dte1, 63, 43) << 31n);
}

/** A key for "the same table in the same guest memory": the IOAS behind the parent, the root, the shape. */
function tableKey(k: KernelState, domain: IommuDomain, layout: Extract<GuestStage1, { kind: 'table' }>): string {
    return `${guestMemoryOf(k, domain.parent!)}|${layout.format}|${layout.ias}|${layout.root}`;
}

/** The guest memory a parent domain maps: its iommufd context and IOAS (or the domain itself). */
function guestMemoryOf(k: KernelState, parentDomain: number): string {
    for (const ctx of k.iommufd.ctxs.values()) {
        for (const o of ctx.objects.values()) {
            if (o.type === 'hwpt_paging' && o.domain === parentDomain) {
                return `ctx${ctx.id}:ioas${o.ioas}`;
            }
        }
    }
    return `domain${parentDomain}`;
}

/** Nested domains whose stage 1 is the same guest table as `domain`'s (including itself). */
function sameGuestTable(k: KernelState, domain: IommuDomain, layout: Extract<GuestStage1, { kind: 'table' }>): IommuDomain[] {
    const key = tableKey(k, domain, layout);
    const out: IommuDomain[] = [];
    for (const d of k.domains.values()) {
        if (d.type !== 'nested' || !d.nested || d.parent === undefined) {
            continue;
        }
        const l = d.id === domain.id ? layout : guestStage1(k, d);
        if (l.kind === 'table' && tableKey(k, d, l) === key) {
            out.push(d);
        }
    }
    return out;
}

/**
 * The table a nested domain's stage 1 reads: the one the guest wrote, or the one another nested
 * domain over the same guest memory and root wrote (that domain was allocated first).
 */
export function guestTable(k: KernelState, domain: IommuDomain, layout: Extract<GuestStage1, { kind: 'table' }>): IoPageTable | undefined {
    if (domain.nested?.s1) {
        return domain.nested.s1;
    }
    return sameGuestTable(k, domain, layout).find((d) => d.nested?.s1)?.nested?.s1;
}

function newTable(layout: Extract<GuestStage1, { kind: 'table' }>): IoPageTable {
    return createIoPageTable({
        format: layout.format, ias: layout.ias, pgsizeBitmap: layout.pgsizeBitmap,
        tablePaBase: Number(layout.root), forceSnoop: false, dirtyCapable: false,
    });
}

/** The nested HWPT a step names, and its domain. */
export interface NestedHwptRef {
    readonly ctx: IommufdCtx;
    readonly hwpt: IommufdHwptNested;
    readonly domain: IommuDomain;
}

/** Finds `id` among the objects of the iommufds `proc` has open: it must be a nested HWPT. */
export function findNestedHwpt(k: KernelState, proc: Process, id: bigint): NestedHwptRef {
    const ctxs: IommufdCtx[] = [];
    for (const fileId of proc.fds.values()) {
        const f = k.files.get(fileId);
        if (f?.kind === 'iommufd') {
            const ctx = k.iommufd.ctxs.get(f.object as number);
            if (ctx && !ctxs.includes(ctx)) {
                ctxs.push(ctx);
            }
        }
    }
    if (ctxs.length === 0) {
        throw new GuestTableError(`${proc.name} has no /dev/iommu open: a guest table belongs to a nested HWPT of an iommufd`);
    }
    if (id <= 0n || id > 0xffff_ffffn) {
        throw new GuestTableError(`${id} is not an iommufd object id`);
    }
    const found = ctxs.flatMap((ctx) => {
        const o = ctx.objects.get(Number(id));
        return o ? [{ ctx, o }] : [];
    });
    const nested = found.filter((f) => f.o.type === 'hwpt_nested');
    if (nested.length === 0) {
        if (found.length === 0) {
            throw new GuestTableError(`no iommufd ${proc.name} has open (${ctxs.map((c) => c.id).join(', ')}) has an object ${id}`);
        }
        const { ctx, o } = found[0]!;
        const why = o.type === 'hwpt_paging'
            ? (o.nestParent ? ': a NEST_PARENT HWPT is stage 2, the VMM\'s mapping of guest memory' : ': a paging HWPT has no guest stage 1')
            : '';
        throw new GuestTableError(`object ${id} of iommufd ${ctx.id} is ${describeObject(k, o)}, not a nested HWPT${why}; the guest's stage-1 table belongs to a nested HWPT (IOMMU_HWPT_ALLOC on a NEST_PARENT HWPT or a vIOMMU)`);
    }
    if (nested.length > 1) {
        throw new GuestTableError(`nested HWPT ${id} exists in iommufd ${nested.map((n) => n.ctx.id).join(' and ')}: ambiguous`);
    }
    const { ctx, o } = nested[0]!;
    const hwpt = o as IommufdHwptNested;
    const domain = k.domains.get(hwpt.domain);
    if (!domain || domain.type !== 'nested') {
        throw new Error(`engine invariant: nested HWPT ${id} has no nested domain`);
    }
    return { ctx, hwpt, domain };
}

/** The writable table layout of a nested HWPT, or why the guest has no table to write. */
function tableLayout(k: KernelState, ref: NestedHwptRef): Extract<GuestStage1, { kind: 'table' }> {
    const layout = guestStage1(k, ref.domain);
    if (layout.kind !== 'table') {
        throw new GuestTableError(`nested HWPT ${ref.hwpt.id} has no guest stage-1 table to write: ${layout.why}`);
    }
    return layout;
}

function checkRange(layout: Extract<GuestStage1, { kind: 'table' }>, hwptId: number, iova: bigint, length: bigint, gpa?: bigint): void {
    if (length <= 0n) {
        throw new GuestTableError(`a length of ${length}: the guest maps whole pages`);
    }
    const misaligned = [
        iova % SZ_4K !== 0n ? `IOVA ${hex(iova)}` : '',
        gpa !== undefined && gpa % SZ_4K !== 0n ? `GPA ${hex(gpa)}` : '',
        length % SZ_4K !== 0n ? `length ${hex(length)}` : '',
    ].filter((s) => s);
    if (misaligned.length > 0) {
        throw new GuestTableError(`${misaligned.join(', ')} ${misaligned.length > 1 ? 'are' : 'is'} not 4 KiB aligned: stage-1 leaves map whole pages`);
    }
    if (iova < 0n || iova + length - 1n > layout.inputEnd) {
        throw new GuestTableError(`IOVA [${hex(iova)}, ${hex(iova + length - 1n)}] is beyond the ${layout.ias}-bit input range of nested HWPT ${hwptId}'s stage 1 ([0, ${hex(layout.inputEnd)}])`);
    }
    if (gpa !== undefined && (gpa < 0n || gpa + length - 1n >= 1n << 52n)) {
        throw new GuestTableError(`GPA [${hex(gpa)}, ${hex(gpa + length - 1n)}] does not fit a 52-bit output address`);
    }
}

/** What a guest-map or guest-unmap did, for the step's out-values. */
export interface GuestTableResult {
    readonly hwpt: number;
    readonly domain: number;
    readonly root: bigint;
    /** Table pages of the guest's table now (from the root on). */
    readonly tables: number;
    readonly mappedBytes: bigint;
    /** guest-unmap: the bytes removed (whole leaves, as `iommu_unmap` removes them). */
    readonly unmapped?: bigint;
    /** Leaf sizes the guest-map used. */
    readonly leafSizes?: readonly bigint[];
}

function store(k: KernelState, domain: IommuDomain, layout: Extract<GuestStage1, { kind: 'table' }>, table: IoPageTable): void {
    // The table is guest memory: every nested domain that reads the same memory sees the write.
    // A write needs no invalidation for those domains' IOTLBs: not-present entries are never
    // cached (VT-d with CM clear, Arm "translation faults are not cached").
    for (const d of sameGuestTable(k, domain, layout)) {
        d.nested!.s1 = table;
    }
}

function result(ref: NestedHwptRef, layout: Extract<GuestStage1, { kind: 'table' }>, table: IoPageTable): GuestTableResult {
    return { hwpt: ref.hwpt.id, domain: ref.domain.id, root: layout.root, tables: table.tableCount, mappedBytes: table.mappedBytes };
}

/**
 * `guest-map`: the guest kernel maps [iova, iova+length) to guest-physical `gpa` in its stage-1
 * table (as its `iommu_map` would: the largest leaf alignment and length allow). Mapping over a
 * present entry is refused, as the guest's page-table code refuses it.
 */
export function guestMap(k: KernelState, proc: Process, hwptId: bigint, iova: bigint, gpa: bigint, length: bigint, prot: Prot): GuestTableResult {
    const ref = findNestedHwpt(k, proc, hwptId);
    const layout = tableLayout(k, ref);
    checkRange(layout, ref.hwpt.id, iova, length, gpa);
    if (!prot.read && !prot.write) {
        throw new GuestTableError('a mapping needs read, write or both');
    }
    const before = guestTable(k, ref.domain, layout) ?? newTable(layout);
    let table: IoPageTable;
    try {
        table = before.map(iova, length, (offset) => ({ pa: Number(gpa + offset), length: length - offset }), { read: prot.read, write: prot.write });
    } catch (e) {
        if (e instanceof MapError) {
            throw new GuestTableError(e.errno === 'EEXIST' || e.errno === 'EADDRINUSE'
                ? `IOVA [${hex(iova)}, ${hex(iova + length - 1n)}] overlaps what the guest already mapped in ${layout.name}: unmap it first`
                : `${layout.name}: ${e.message}`);
        }
        throw e;
    }
    store(k, ref.domain, layout, table);
    const sizes = new Set<bigint>();
    for (const leaf of table.leaves(iova, iova + length - 1n)) {
        sizes.add(leaf.size);
    }
    return { ...result(ref, layout, table), leafSizes: [...sizes].sort((a, b) => (a < b ? -1 : 1)) };
}

/** `guest-unmap`: the guest clears [iova, iova+length) from its stage-1 table (a leaf partly inside goes whole). */
export function guestUnmap(k: KernelState, proc: Process, hwptId: bigint, iova: bigint, length: bigint): GuestTableResult {
    const ref = findNestedHwpt(k, proc, hwptId);
    const layout = tableLayout(k, ref);
    checkRange(layout, ref.hwpt.id, iova, length);
    const before = guestTable(k, ref.domain, layout);
    if (!before) {
        return { ...result(ref, layout, newTable(layout)), unmapped: 0n };
    }
    const { table, unmapped } = before.unmap(iova, length);
    store(k, ref.domain, layout, table);
    return { ...result(ref, layout, table), unmapped };
}

/** "nested HWPT 5, domain 7" and "NEST_PARENT HWPT 3, domain 6": the ids a nested fault names. */
export function nestedNames(k: KernelState, domain: IommuDomain): { stage1: string; stage2: string } {
    let stage1 = `nested domain ${domain.id}`;
    let stage2 = `stage-2 domain ${domain.parent}`;
    for (const ctx of k.iommufd.ctxs.values()) {
        for (const o of ctx.objects.values()) {
            if (o.type === 'hwpt_nested' && o.domain === domain.id) {
                stage1 = `nested HWPT ${o.id}, domain ${domain.id}`;
            } else if (o.type === 'hwpt_paging' && o.domain === domain.parent) {
                stage2 = `NEST_PARENT HWPT ${o.id}, domain ${domain.parent}`;
            }
        }
    }
    return { stage1, stage2 };
}

/** "4K", "2M 4K": leaf sizes for display. */
export function describeSizes(sizes: readonly bigint[]): string {
    return sizes.map((s) => formatSize(s)).join(' ');
}
