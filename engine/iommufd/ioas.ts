/**
 * IOAS objects and their ioctls (`drivers/iommu/iommufd/ioas.c`): allocation, the usable IOVA
 * ranges, allowed ranges, MAP / MAP_FILE / COPY / UNMAP, moving pin accounting to another
 * process, and the per-IOAS and per-ctx options.
 */

import { KernelError, fail, parseSource } from '../errno.js';
import { fdget } from '../fs/files.js';
import { IntervalMap } from '../interval-map.js';
import { capable } from '../mm/memory.js';
import type { KernelState, Process } from '../state.js';
import type { IoctlCall, IoctlOut } from '../syscalls/ioctl-call.js';
import { knownBits } from '../syscalls/ioctl.js';
import type { OutValue } from '../step.js';
import { ULONG_MAX, U64_MAX, hex } from '../u64.js';
import {
    iopt_disable_large_pages, iopt_enable_large_pages, iopt_get_pages, iopt_init_table, iopt_map_pages,
    iopt_set_allow_iova, iopt_unmap_iova_range, iopt_usable_ranges,
} from './io-pagetable.js';
import { addObject, getIoas } from './object.js';
import { iopt_alloc_file_pages, iopt_alloc_user_pages, iopt_pages_account, iopt_pages_npinned } from './pages.js';
import type { IommufdCtx, IommufdIoas } from './types.js';

const IOAS_C = 'drivers/iommu/iommufd/ioas.c';

export const IOAS_MAP_FIXED_IOVA = 1n;
export const IOAS_MAP_WRITEABLE = 2n;
export const IOAS_MAP_READABLE = 4n;

/** `iommufd_ioas_alloc`: an empty IOAS under the next free id. */
export function iommufd_ioas_alloc(ctx: IommufdCtx): IommufdIoas {
    return addObject<IommufdIoas>(ctx, (id) => ({ id, type: 'ioas', iopt: iopt_init_table(), hwpts: [] }));
}

/** IOMMU_IOAS_ALLOC. */
export function iommufd_ioas_alloc_ioctl(ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    if (call.field('flags') !== 0n) {
        fail('EOPNOTSUPP', `flags ${hex(call.field('flags'))} must be 0`, `${IOAS_C}:iommufd_ioas_alloc_ioctl`);
    }
    return { out: { out_ioas_id: BigInt(iommufd_ioas_alloc(ctx).id) } };
}

/** `iommufd_ioas_destroy`: everything is unmapped (and unpinned). */
export function iommufd_ioas_destroy(k: KernelState, ctx: IommufdCtx, ioas: IommufdIoas): void {
    iopt_unmap_iova_range(k, ctx, ioas, 0n, ULONG_MAX);
    ctx.objects.delete(ioas.id);
    if (ctx.vfioIoas === ioas.id) {
        ctx.vfioIoas = undefined;
    }
}

/** The element count of an array field: the count field if given, else the array's length. */
function countOf(call: IoctlCall, countField: string, arrayField: string): bigint {
    return call.has(countField) ? call.field(countField) : BigInt(call.array(arrayField).length);
}

/**
 * IOMMU_IOAS_IOVA_RANGES (`iommufd_ioas_iova_ranges`): the holes of the reserved ranges (allowed
 * ranges do not narrow them); EMSGSIZE when they do not all fit, with `num_iovas` and as many
 * ranges as fit still written.
 */
export function iommufd_ioas_iova_ranges(ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    const src = `${IOAS_C}:iommufd_ioas_iova_ranges`;
    if (call.field('__reserved') !== 0n) {
        fail('EOPNOTSUPP', '__reserved must be 0', src);
    }
    const ioas = getIoas(ctx, call.field('ioas_id'), src);
    const room = call.field('num_iovas');
    const ranges = iopt_usable_ranges(ioas.iopt);
    const extra: Record<string, OutValue> = {};
    const shown = ranges.slice(0, Number(room < BigInt(ranges.length) ? room : BigInt(ranges.length)));
    shown.forEach((r, i) => {
        extra[`allowed_iovas[${i}].start`] = { value: r.start, display: hex(r.start) };
        extra[`allowed_iovas[${i}].last`] = { value: r.last, display: hex(r.last) };
    });
    extra.allowed_iovas = { value: BigInt(shown.length), display: `[${shown.map((r) => `${hex(r.start)}-${hex(r.last)}`).join(', ')}]` };
    const out = { num_iovas: BigInt(ranges.length), out_iova_alignment: ioas.iopt.iova_alignment };
    if (BigInt(ranges.length) > room) {
        return {
            out, extra,
            error: new KernelError('EMSGSIZE', `IOAS ${ioas.id} has ${ranges.length} usable ranges but num_iovas leaves room for ${room}: num_iovas is set to ${ranges.length}`, parseSource(src)),
        };
    }
    return { out, extra };
}

/**
 * IOMMU_IOAS_ALLOW_IOVAS (`iommufd_ioas_allow_iovas`): the list replaces the old one; each range
 * needs start < last and no overlap (EINVAL), and none may meet a reservation (EADDRINUSE).
 */
export function iommufd_ioas_allow_iovas(ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    const src = `${IOAS_C}:iommufd_ioas_allow_iovas`;
    if (call.field('__reserved') !== 0n) {
        fail('EOPNOTSUPP', '__reserved must be 0', src);
    }
    const ioas = getIoas(ctx, call.field('ioas_id'), src);
    const items = call.array('allowed_iovas');
    const num = countOf(call, 'num_iovas', 'allowed_iovas');
    let allowed = IntervalMap.empty<true>();
    const lsrc = `${IOAS_C}:iommufd_ioas_load_iovas`;
    for (let i = 0; i < Number(num); i++) {
        const r = items[i] ?? {};
        const start = r.start ?? 0n;
        const last = r.last ?? 0n;
        if (start >= last) {
            fail('EINVAL', `allowed_iovas[${i}] = [${hex(start)}, ${hex(last)}]: start must be below last`, lsrc);
        }
        const clash = allowed.firstOverlap(start, last);
        if (clash) {
            fail('EINVAL', `allowed_iovas[${i}] = [${hex(start)}, ${hex(last)}] overlaps [${hex(clash.start)}, ${hex(clash.last)}]`, lsrc);
        }
        allowed = allowed.insert(start, last, true);
    }
    iopt_set_allow_iova(ioas.iopt, allowed);
    return {};
}

/** The flag checks MAP, MAP_FILE and COPY share; returns the protection. */
function mapFlags(k: KernelState, call: IoctlCall, src: string, reservedField?: string): { read: boolean; write: boolean; fixed: boolean } {
    const flags = call.field('flags');
    const known = knownBits('iommufd_ioas_map_flags', k);
    if (flags & ~known || (reservedField !== undefined && call.field(reservedField) !== 0n)) {
        fail('EOPNOTSUPP', flags & ~known ? `flags ${hex(flags & ~known)} are not IOMMU_IOAS_MAP flags` : `${reservedField} must be 0`, src);
    }
    return { read: (flags & IOAS_MAP_READABLE) !== 0n, write: (flags & IOAS_MAP_WRITEABLE) !== 0n, fixed: (flags & IOAS_MAP_FIXED_IOVA) !== 0n };
}

function needReadOrWrite(p: { read: boolean; write: boolean }, src: string): void {
    if (!p.read && !p.write) {
        fail('EINVAL', 'neither READABLE nor WRITEABLE: a mapping must allow one of them', src);
    }
}

/** IOMMU_IOAS_MAP (`iommufd_ioas_map` → `iopt_map_user_pages`). */
export function iommufd_ioas_map(k: KernelState, proc: Process, ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    const src = `${IOAS_C}:iommufd_ioas_map`;
    const p = mapFlags(k, call, src, '__reserved');
    const iova = call.field('iova');
    const length = call.field('length');
    if (iova >= ULONG_MAX || length >= ULONG_MAX) {
        fail('EOVERFLOW', `${iova >= ULONG_MAX ? `iova ${hex(iova)}` : `length ${hex(length)}`} is ULONG_MAX or more`, src);
    }
    needReadOrWrite(p, src);
    const ioas = getIoas(ctx, call.field('ioas_id'), src);
    const { pages, startByte } = iopt_alloc_user_pages(k, ctx, proc, call.field('user_va'), length, p.write);
    const at = iopt_map_pages(k, ctx, ioas, [{ pages, startByte, length }], length, iova, p, !p.fixed, `mapping ${hex(call.field('user_va'))} at IOVA ${p.fixed ? hex(iova) : '(auto)'}`);
    return { out: { iova: at } };
}

/** IOMMU_IOAS_MAP_FILE (`iommufd_ioas_map_file` → `iopt_map_file_pages`). */
export function iommufd_ioas_map_file(k: KernelState, proc: Process, ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    const src = `${IOAS_C}:iommufd_ioas_map_file`;
    const p = mapFlags(k, call, src);
    const iova = call.field('iova');
    const length = call.field('length');
    if (iova >= ULONG_MAX || length >= ULONG_MAX) {
        fail('EOVERFLOW', `${iova >= ULONG_MAX ? `iova ${hex(iova)}` : `length ${hex(length)}`} is ULONG_MAX or more`, src);
    }
    needReadOrWrite(p, src);
    const ioas = getIoas(ctx, call.field('ioas_id'), src);
    const file = fdget(k, proc, call.field('fd'), src);
    const fsrc = 'drivers/iommu/iommufd/io_pagetable.c:iopt_map_file_pages';
    const start = call.field('start');
    if (length === 0n) {
        fail('EINVAL', 'length is 0', fsrc);
    }
    if (start + length - 1n > U64_MAX) {
        fail('EOVERFLOW', `start ${hex(start)} + length ${hex(length)} wraps around 2^64`, fsrc);
    }
    const { pages, startByte } = iopt_alloc_file_pages(k, ctx, proc, file.id, start, length, p.write);
    const at = iopt_map_pages(k, ctx, ioas, [{ pages, startByte, length }], length, iova, p, !p.fixed, `mapping ${file.path} at IOVA ${p.fixed ? hex(iova) : '(auto)'}`);
    return { out: { iova: at } };
}

/** IOMMU_IOAS_COPY (`iommufd_ioas_copy`): the destination shares the source's pinned pages. */
export function iommufd_ioas_copy(k: KernelState, ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    const src = `${IOAS_C}:iommufd_ioas_copy`;
    const p = mapFlags(k, call, src);
    const length = call.field('length');
    const srcIova = call.field('src_iova');
    const dstIova = call.field('dst_iova');
    if (length >= ULONG_MAX || srcIova >= ULONG_MAX || dstIova >= ULONG_MAX) {
        fail('EOVERFLOW', 'length, src_iova or dst_iova is ULONG_MAX or more', src);
    }
    needReadOrWrite(p, src);
    const srcIoas = getIoas(ctx, call.field('src_ioas_id'), src, 'src_ioas_id');
    const list = iopt_get_pages(ctx, srcIoas.iopt, srcIova, length);
    const dst = getIoas(ctx, call.field('dst_ioas_id'), src, 'dst_ioas_id');
    const at = iopt_map_pages(k, ctx, dst, list, length, dstIova, p, !p.fixed, `copying IOAS ${srcIoas.id} ${hex(srcIova)} into IOAS ${dst.id}`);
    return { out: { dst_iova: at } };
}

/**
 * IOMMU_IOAS_UNMAP (`iommufd_ioas_unmap`): iova 0 with length U64_MAX unmaps everything; else
 * whole areas inside the range (ENOENT if none, or if one is cut — areas removed before it stay
 * removed, and `length` is not written back).
 */
export function iommufd_ioas_unmap(k: KernelState, ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    const src = `${IOAS_C}:iommufd_ioas_unmap`;
    const ioas = getIoas(ctx, call.field('ioas_id'), src);
    const iova = call.field('iova');
    const length = call.field('length');
    if (iova === 0n && length === U64_MAX) {
        const r = iopt_unmap_iova_range(k, ctx, ioas, 0n, ULONG_MAX);
        return { out: { length: r.unmapped } };
    }
    if (iova >= ULONG_MAX || length >= ULONG_MAX) {
        fail('EOVERFLOW', `${iova >= ULONG_MAX ? `iova ${hex(iova)}` : `length ${hex(length)}`} is ULONG_MAX or more`, src);
    }
    const usrc = 'drivers/iommu/iommufd/io_pagetable.c:iopt_unmap_iova';
    if (length === 0n) {
        fail('EINVAL', 'length is 0', usrc);
    }
    if (iova + length - 1n > ULONG_MAX) {
        fail('EOVERFLOW', `iova ${hex(iova)} + length ${hex(length)} wraps around 2^64`, usrc);
    }
    const r = iopt_unmap_iova_range(k, ctx, ioas, iova, iova + length - 1n);
    if (r.failure) {
        return { error: new KernelError(r.failure.errno, r.failure.reason, parseSource('drivers/iommu/iommufd/io_pagetable.c:iopt_unmap_iova_range')) };
    }
    if (r.unmapped === 0n) {
        fail('ENOENT', `nothing is mapped in [${hex(iova)}, ${hex(iova + length - 1n)}] of IOAS ${ioas.id}`, src);
    }
    return { out: { length: r.unmapped } };
}

/**
 * IOMMU_IOAS_CHANGE_PROCESS (`iommufd_ioas_change_process`): every area of every IOAS must be
 * MAP_FILE memory (EINVAL); the caller is charged first (ENOMEM leaves everything as it was),
 * then the old owners are uncharged.
 */
export function iommufd_ioas_change_process(k: KernelState, proc: Process, ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    const src = `${IOAS_C}:iommufd_ioas_change_process`;
    if (call.field('__reserved') !== 0n) {
        fail('EOPNOTSUPP', '__reserved must be 0', src);
    }
    const used = new Set<number>();
    for (const obj of ctx.objects.values()) {
        if (obj.type !== 'ioas') {
            continue;
        }
        for (const e of obj.iopt.areas.entries()) {
            const pages = ctx.pages.get(e.value.pages)!;
            if (pages.source.kind !== 'file') {
                fail('EINVAL', `IOAS ${obj.id} maps process memory at [${hex(e.start)}, ${hex(e.last)}]: only IOMMU_IOAS_MAP_FILE mappings can change process`, src);
            }
            used.add(pages.id);
        }
    }
    const moving = [...used].map((id) => ctx.pages.get(id)!).filter((p) => {
        switch (p.accountMode) {
            case 'none':
                return false;
            case 'mm':
                return p.process !== proc.name;
            case 'user':
                return p.uid !== proc.uid || p.process !== proc.name;
        }
    });
    // charge_current: the new owner first, as one temporary pages per mode.
    for (const mode of ['user', 'mm'] as const) {
        const n = moving.filter((p) => p.accountMode === mode).reduce((s, p) => s + iopt_pages_npinned(p), 0n);
        if (n > 0n) {
            iopt_pages_account(k, { id: -1, source: { kind: 'user', uptr: 0n }, npages: n, writable: false, process: proc.name, uid: proc.uid, accountMode: mode, pinned: [] }, n, `moving the pin accounting of ${moving.length} mapping(s) to ${proc.name}`);
        }
    }
    for (const p of moving) {
        iopt_pages_account(k, p, -iopt_pages_npinned(p), 'change process');
        p.process = proc.name;
        p.uid = proc.uid;
    }
    return {};
}

const OPTION_OP_SET = 0n;
const OPTION_OP_GET = 1n;

/** IOMMU_OPTION_RLIMIT_MODE (`iommufd_option_rlimit_mode`). */
export function iommufd_option_rlimit_mode(proc: Process, ctx: IommufdCtx, call: IoctlCall): bigint {
    const src = `${IOAS_C}:iommufd_option_rlimit_mode`;
    if (call.field('object_id') !== 0n) {
        fail('EOPNOTSUPP', 'IOMMU_OPTION_RLIMIT_MODE is global: object_id must be 0', src);
    }
    const op = call.field('op');
    if (op === OPTION_OP_GET) {
        return ctx.accountMode === 'mm' ? 1n : 0n;
    }
    if (op === OPTION_OP_SET) {
        if (!capable(proc, 'CAP_SYS_RESOURCE')) {
            fail('EPERM', `${proc.name} lacks CAP_SYS_RESOURCE, which changing the accounting mode requires`, src);
        }
        if (ctx.objects.size > 0 || ctx.tombstones.size > 0) {
            fail('EBUSY', `iommufd ${ctx.id} already has objects: the accounting mode can only change while it is empty`, src);
        }
        const v = call.field('val64');
        if (v !== 0n && v !== 1n) {
            fail('EINVAL', `val64 ${v}: the mode is 0 (per user) or 1 (per process)`, src);
        }
        ctx.accountMode = v === 1n ? 'mm' : 'user';
        return v;
    }
    fail('EOPNOTSUPP', `op ${op} is neither IOMMU_OPTION_OP_SET nor IOMMU_OPTION_OP_GET`, src);
}

/** IOMMU_OPTION_HUGE_PAGES (`iommufd_ioas_option`): the IOAS is looked up before the op. */
export function iommufd_ioas_option(k: KernelState, ctx: IommufdCtx, call: IoctlCall): bigint {
    const src = `${IOAS_C}:iommufd_ioas_option`;
    const ioas = getIoas(ctx, call.field('object_id'), src, 'object_id');
    const op = call.field('op');
    if (op === OPTION_OP_GET) {
        return ioas.iopt.disableLargePages ? 0n : 1n;
    }
    if (op === OPTION_OP_SET) {
        const v = call.field('val64');
        if (v === 0n) {
            iopt_disable_large_pages(k, ctx, ioas);
            return v;
        }
        if (v === 1n) {
            iopt_enable_large_pages(k, ctx, ioas);
            return v;
        }
        fail('EINVAL', `val64 ${v}: huge pages are 0 (off) or 1 (on)`, `${IOAS_C}:iommufd_ioas_option_huge_pages`);
    }
    fail('EOPNOTSUPP', `op ${op} is neither IOMMU_OPTION_OP_SET nor IOMMU_OPTION_OP_GET`, `${IOAS_C}:iommufd_ioas_option_huge_pages`);
}
