/**
 * The io_pagetable (`drivers/iommu/iommufd/io_pagetable.c`): an IOAS's areas, reserved and
 * allowed IOVA ranges, the domains filled from it and their alignment. Areas are never split by
 * IOAS_UNMAP; a domain added to the IOAS is filled from every area (pinning then, if nothing
 * pinned the pages yet); reserved ranges (device reserved regions, aperture complements) may
 * not meet an area or an allowed range.
 */

import { fail } from '../errno.js';
import { IntervalMap } from '../interval-map.js';
import { domainMap, domainUnmap, getDomain } from '../iommu/domain.js';
import type { IoPageTable } from '../iommu/pgtable/types.js';
import { deviceResvRegions } from '../iommu/unit.js';
import type { Device, KernelState } from '../state.js';
import { ULONG_MAX, addOverflowU64, ffs, formatSize, hex, roundupPowerOfTwo, u64 } from '../u64.js';
import { areaIndexes, iopt_pages_account, iopt_pages_phys, iopt_pages_pin, iopt_pages_release_unneeded } from './pages.js';
import type { IommufdCtx, IommufdIoas, IoPagetableState, IoptArea, IoptPages, IoptReserved } from './types.js';

const IOPT_C = 'drivers/iommu/iommufd/io_pagetable.c';

/** `iopt_init_table`: no alignment restriction, the whole 64-bit space. */
export function iopt_init_table(): IoPagetableState {
    return {
        areas: IntervalMap.empty<IoptArea>(),
        reserved: [],
        allowed: IntervalMap.empty<true>(),
        domains: [],
        accesses: [],
        iova_alignment: 1n,
        disableLargePages: false,
    };
}

function alignMask(align: bigint): bigint {
    return align - 1n;
}

/** The first reserved range intersecting [start, last] (`iopt_reserved_iter_first`). */
export function iopt_reserved_iter_first(iopt: IoPagetableState, start: bigint, last: bigint): IoptReserved | undefined {
    let best: IoptReserved | undefined;
    for (const r of iopt.reserved) {
        if (r.start <= last && r.last >= start && (!best || r.start < best.start)) {
            best = r;
        }
    }
    return best;
}

/** Holes of the reserved ranges over [0, ULONG_MAX] (what IOMMU_IOAS_IOVA_RANGES reports). */
export function iopt_usable_ranges(iopt: IoPagetableState): Array<{ start: bigint; last: bigint }> {
    return holes(mergeUsed(iopt.reserved.map((r) => ({ start: r.start, last: r.last }))), 0n, ULONG_MAX);
}

function mergeUsed(ranges: Array<{ start: bigint; last: bigint }>): Array<{ start: bigint; last: bigint }> {
    const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    const out: Array<{ start: bigint; last: bigint }> = [];
    for (const r of sorted) {
        const prev = out[out.length - 1];
        if (prev && r.start <= prev.last + 1n) {
            if (r.last > prev.last) {
                out[out.length - 1] = { start: prev.start, last: r.last };
            }
        } else {
            out.push({ ...r });
        }
    }
    return out;
}

/** Holes of sorted, merged `used` within [from, to] (`interval_tree_for_each_span` holes). */
function holes(used: Array<{ start: bigint; last: bigint }>, from: bigint, to: bigint): Array<{ start: bigint; last: bigint }> {
    const out: Array<{ start: bigint; last: bigint }> = [];
    let cursor = from;
    for (const u of used) {
        if (u.last < cursor) {
            continue;
        }
        if (u.start > to) {
            break;
        }
        if (u.start > cursor) {
            out.push({ start: cursor, last: u.start - 1n });
        }
        if (u.last >= to) {
            return out;
        }
        cursor = u.last + 1n;
    }
    if (cursor <= to) {
        out.push({ start: cursor, last: to });
    }
    return out;
}

/**
 * `iopt_alloc_iova`: the lowest IOVA (never in the first page) of a hole between reserved
 * ranges and areas, inside an allowed range if any, aligned to the smaller of the length's
 * power of two and the user address's own alignment (capped at the huge page size), keeping the
 * address's offset within its page.
 */
export function iopt_alloc_iova(k: KernelState, iopt: IoPagetableState, addr: bigint, length: bigint): bigint {
    const src = `${IOPT_C}:iopt_alloc_iova`;
    const page = k.config.pageSize;
    const pageOffset = addr % page;
    if (length === 0n || length >= ULONG_MAX / 2n) {
        fail('EOVERFLOW', `length ${hex(length)} is too large to pick an IOVA for (>= ULONG_MAX / 2)`, src);
    }
    let align = addr === 0n ? roundupPowerOfTwo(length) : minBig(roundupPowerOfTwo(length), 1n << BigInt(ffs(addr)));
    // CONFIG_TRANSPARENT_HUGEPAGE: HPAGE_SIZE (a PMD: 2 MiB with 4 KiB pages) caps the alignment.
    const hpage = page * (page / 8n);
    if (align >= hpage) {
        align = hpage;
    }
    if (align < iopt.iova_alignment) {
        fail('EINVAL', `the IOVA alignment this mapping allows (${formatSize(align)}, from its length and user address ${hex(addr)}) is below the IOAS's required alignment ${formatSize(iopt.iova_alignment)}`, src);
    }
    const spans = iopt.allowed.isEmpty
        ? [{ start: page, last: ULONG_MAX - page }]
        : iopt.allowed.toArray()
            .filter((e) => e.last >= page && e.start <= ULONG_MAX - page)
            .map((e) => ({ start: maxBig(e.start, page), last: minBig(e.last, ULONG_MAX - page) }));
    const used = mergeUsed([
        ...iopt.reserved.map((r) => ({ start: r.start, last: r.last })),
        ...iopt.areas.toArray().map((e) => ({ start: e.start, last: e.last })),
    ]);
    for (const span of spans) {
        const start = alignInRange(span.start, span.last, length, align, pageOffset);
        if (start === undefined) {
            continue;
        }
        for (const hole of holes(used, start, span.last)) {
            const s = alignInRange(hole.start, hole.last, length, align, pageOffset);
            if (s !== undefined) {
                return s;
            }
        }
    }
    fail('ENOSPC', `no free IOVA range of ${formatSize(length)} aligned to ${formatSize(align)} is left${iopt.allowed.isEmpty ? '' : ' inside the allowed ranges'}`, src);
}

/**
 * `__alloc_iova_check_range`: [start, last] aligned up (keeping the page offset) still holds
 * `length` bytes; the aligned start, or undefined. Aligning up may not wrap past 2^64
 * (`check_add_overflow`, the fix for a syzbot report: the old `ALIGN()` wrapped to 0 and handed
 * out IOVAs outside the allowed ranges), and the aligned start must lie below `last`.
 */
function alignInRange(start: bigint, last: bigint, length: bigint, align: bigint, pageOffset: bigint): bigint | undefined {
    const up = addOverflowU64(start, align - 1n);
    if (up === undefined) {
        return undefined;
    }
    const aligned = (up & ~(align - 1n)) | pageOffset;
    if (aligned >= last || last - aligned < length - 1n) {
        return undefined;
    }
    return aligned;
}

function minBig(a: bigint, b: bigint): bigint {
    return a < b ? a : b;
}

function maxBig(a: bigint, b: bigint): bigint {
    return a > b ? a : b;
}

/** `iopt_check_iova`: a fixed IOVA must be aligned, not reserved and not mapped. */
export function iopt_check_iova(iopt: IoPagetableState, iova: bigint, length: bigint): void {
    const src = `${IOPT_C}:iopt_check_iova`;
    if (iova & alignMask(iopt.iova_alignment)) {
        fail('EINVAL', `iova ${hex(iova)} is not a multiple of the IOAS's alignment ${formatSize(iopt.iova_alignment)}`, src);
    }
    const last = iova + length - 1n;
    if (last > ULONG_MAX) {
        fail('EOVERFLOW', `iova ${hex(iova)} + length ${hex(length)} wraps around 2^64`, src);
    }
    const resv = iopt_reserved_iter_first(iopt, iova, last);
    if (resv) {
        fail('EINVAL', `[${hex(iova)}, ${hex(last)}] meets the reserved range [${hex(resv.start)}, ${hex(resv.last)}] (${resv.what})`, src);
    }
    const area = iopt.areas.firstOverlap(iova, last);
    if (area) {
        fail('EEXIST', `[${hex(iova)}, ${hex(last)}] overlaps the existing mapping [${hex(area.start)}, ${hex(area.last)}]`, src);
    }
}

/** A slice of an `iopt_pages` to map (`struct iopt_pages_list`). */
export interface PagesSlice {
    readonly pages: IoptPages;
    readonly startByte: bigint;
    readonly length: bigint;
}

/** Maps one area into one domain with the pages' pinned pfns (`iopt_area_fill_domain`'s batch). */
function mapArea(k: KernelState, ctx: IommufdCtx, iopt: IoPagetableState, area: IoptArea, domainId: number): void {
    const pages = ctx.pages.get(area.pages)!;
    const phys = iopt_pages_phys(k, pages, area.startByte, area.length, iopt.disableLargePages);
    domainMap(k, domainId, area.iova, area.length, phys, { read: area.read, write: area.write });
}

/** Pins, maps into every domain, then charges an area (`iopt_area_fill_domains`). */
function fillDomains(k: KernelState, ctx: IommufdCtx, iopt: IoPagetableState, area: IoptArea, who: string): void {
    const pages = ctx.pages.get(area.pages)!;
    const { first, last } = areaIndexes(k, area);
    const n = iopt_pages_pin(k, pages, first, last, who);
    for (const d of iopt.domains) {
        mapArea(k, ctx, iopt, area, d);
    }
    iopt_pages_account(k, pages, n, who);
}

/**
 * `iopt_map_pages` (`iopt_alloc_area_pages` + `iopt_insert_area` + `iopt_fill_domains_pages`):
 * places the slices at a fixed or allocated IOVA and, if the IOAS has domains, pins and maps
 * them now. Returns the IOVA.
 */
export function iopt_map_pages(
    k: KernelState, ctx: IommufdCtx, ioas: IommufdIoas, list: readonly PagesSlice[], length: bigint, iova: bigint,
    prot: { read: boolean; write: boolean }, allocIova: boolean, who: string,
): bigint {
    const iopt = ioas.iopt;
    const page = k.config.pageSize;
    if (length === 0n || length & alignMask(iopt.iova_alignment)) {
        fail('EINVAL', length === 0n ? 'length is 0' : `length ${hex(length)} is not a multiple of IOAS ${ioas.id}'s alignment ${formatSize(iopt.iova_alignment)}`, `${IOPT_C}:iopt_alloc_area_pages`);
    }
    let dst = iova;
    if (allocIova) {
        // The first slice's address guesses the ideal IOVA alignment.
        const first = list[0]!;
        const addr = first.pages.source.kind === 'user' ? first.pages.source.uptr + first.startByte : first.pages.source.start + first.startByte;
        dst = iopt_alloc_iova(k, iopt, addr, length);
    } else {
        iopt_check_iova(iopt, dst, length);
    }
    const areas: IoptArea[] = [];
    let cursor = dst;
    for (const elm of list) {
        // iopt_insert_area
        const src = `${IOPT_C}:iopt_insert_area`;
        if (prot.write && !elm.pages.writable) {
            fail('EPERM', `WRITEABLE was asked for, but the source pages were mapped without WRITEABLE`, src);
        }
        const pageOffset = elm.startByte % page;
        if (pageOffset & alignMask(iopt.iova_alignment)) {
            fail('EINVAL', `the memory starts ${hex(pageOffset)} into its page, which is not a multiple of IOAS ${ioas.id}'s alignment ${formatSize(iopt.iova_alignment)}`, src);
        }
        if (cursor + elm.length - 1n > ULONG_MAX) {
            fail('EOVERFLOW', `the area at ${hex(cursor)} wraps around 2^64`, src);
        }
        const area: IoptArea = { iova: cursor, length: elm.length, pages: elm.pages.id, startByte: elm.startByte, read: prot.read, write: prot.write };
        iopt.areas = iopt.areas.insert(cursor, cursor + elm.length - 1n, area);
        areas.push(area);
        if (!ctx.pages.has(elm.pages.id)) {
            ctx.pages.set(elm.pages.id, elm.pages);
        }
        cursor += elm.length;
    }
    if (iopt.domains.length > 0) {
        for (const area of areas) {
            fillDomains(k, ctx, iopt, area, who);
        }
    }
    return dst;
}

/** `iopt_get_pages` (IOAS_COPY's source): the slices under [iova, iova+length), contiguous or ENOENT. */
export function iopt_get_pages(ctx: IommufdCtx, iopt: IoPagetableState, iova: bigint, length: bigint): PagesSlice[] {
    const src = `${IOPT_C}:iopt_get_pages`;
    if (length === 0n) {
        fail('EINVAL', 'length is 0', src);
    }
    const last = iova + length - 1n;
    if (last > ULONG_MAX) {
        fail('EOVERFLOW', `src_iova ${hex(iova)} + length ${hex(length)} wraps around 2^64`, src);
    }
    const out: PagesSlice[] = [];
    let cursor = iova;
    for (const e of contigAreas(iopt, iova, last)) {
        const end = e.last < last ? e.last : last;
        out.push({ pages: ctx.pages.get(e.value.pages)!, startByte: e.value.startByte + (cursor - e.start), length: end - cursor + 1n });
        cursor = end + 1n;
    }
    if (cursor <= last || out.length === 0) {
        fail('ENOENT', `[${hex(iova)}, ${hex(last)}] is not fully covered by mappings: the first hole is at ${hex(cursor)}`, src);
    }
    return out;
}

/** `iopt_for_each_contig_area`: areas from the one containing `iova`, stopping at the first gap. */
function contigAreas(iopt: IoPagetableState, iova: bigint, last: bigint): Array<{ start: bigint; last: bigint; value: IoptArea }> {
    const out: Array<{ start: bigint; last: bigint; value: IoptArea }> = [];
    let e = iopt.areas.find(iova);
    while (e) {
        out.push(e);
        if (e.last >= last || e.last === ULONG_MAX) {
            break;
        }
        const next = iopt.areas.getAt(e.last + 1n);
        e = next;
    }
    return out;
}


/**
 * `iopt_unmap_iova_range`: removes every area inside [start, last], in IOVA order; an area
 * only partly inside stops the walk with ENOENT, and what was removed before stays removed.
 */
export function iopt_unmap_iova_range(k: KernelState, ctx: IommufdCtx, ioas: IommufdIoas, start: bigint, last: bigint): { unmapped: bigint; failure?: { errno: 'ENOENT'; reason: string } } {
    const iopt = ioas.iopt;
    let unmapped = 0n;
    let from = start;
    for (;;) {
        const e = iopt.areas.firstOverlap(from, last);
        if (!e) {
            break;
        }
        if (e.start < start || e.last > last) {
            return {
                unmapped,
                failure: { errno: 'ENOENT', reason: `[${hex(start)}, ${hex(last)}] cuts the mapping [${hex(e.start)}, ${hex(e.last)}] of IOAS ${ioas.id}: an unmap never splits a mapping${unmapped > 0n ? ` (${formatSize(unmapped)} before it were unmapped and stay unmapped)` : ''}` },
            };
        }
        for (const d of iopt.domains) {
            domainUnmap(k, d, e.start, e.last - e.start + 1n);
        }
        iopt.areas = iopt.areas.remove(e.start);
        iopt_pages_release_unneeded(k, ctx, e.value.pages);
        unmapped += e.last - e.start + 1n;
        if (e.last >= last) {
            break;
        }
        from = e.last + 1n;
    }
    return { unmapped };
}

/** `iopt_set_allow_iova`: the whole allowed list is replaced, unless a range meets a reservation. */
export function iopt_set_allow_iova(iopt: IoPagetableState, allowed: IntervalMap<true>): void {
    for (const a of allowed.entries()) {
        const resv = iopt_reserved_iter_first(iopt, a.start, a.last);
        if (resv) {
            fail('EADDRINUSE', `allowed range [${hex(a.start)}, ${hex(a.last)}] meets the reserved range [${hex(resv.start)}, ${hex(resv.last)}] (${resv.what})`, `${IOPT_C}:iopt_set_allow_iova`);
        }
    }
    iopt.allowed = allowed;
}

/** Why reserving [start, last] is refused (an area or an allowed range is there), or undefined. */
function reserveConflict(iopt: IoPagetableState, start: bigint, last: bigint): string | undefined {
    const area = iopt.areas.firstOverlap(start, last);
    if (area) {
        return `the mapping [${hex(area.start)}, ${hex(area.last)}] is there`;
    }
    const allowed = iopt.allowed.firstOverlap(start, last);
    if (allowed) {
        return `it meets the allowed range [${hex(allowed.start)}, ${hex(allowed.last)}]`;
    }
    return undefined;
}

/** `iopt_reserve_iova` for several ranges of one owner at once: EADDRINUSE (and none added) on a conflict. */
export function iopt_reserve_ranges(iopt: IoPagetableState, ranges: readonly IoptReserved[], src: string): void {
    for (const r of ranges) {
        const why = reserveConflict(iopt, r.start, r.last);
        if (why) {
            fail('EADDRINUSE', `[${hex(r.start)}, ${hex(r.last)}] (${r.what}) cannot be reserved: ${why}`, src);
        }
    }
    iopt.reserved = [...iopt.reserved, ...ranges];
}

/** `iopt_remove_reserved_iova`. */
export function iopt_remove_reserved_iova(iopt: IoPagetableState, owner: string): void {
    if (iopt.reserved.some((r) => r.owner === owner)) {
        iopt.reserved = iopt.reserved.filter((r) => r.owner !== owner);
    }
}

export function devOwner(dev: Device): string {
    return `dev:${dev.name}`;
}

/** A device's reserved regions as iommufd reserves them: all but DIRECT_RELAXABLE. */
export function devResvRanges(k: KernelState, dev: Device): IoptReserved[] {
    const unit = dev.iommu ? k.iommus.get(dev.iommu) : undefined;
    if (!unit) {
        return [];
    }
    return deviceResvRegions(unit, !!dev.pci?.requireDirect)
        .filter((r) => r.type !== 'direct-relaxable')
        .map((r) => ({ start: r.start, last: r.last, owner: devOwner(dev), what: `${r.what} of ${dev.devName} (${dev.name})` }));
}

/** `iopt_table_enforce_dev_resv_regions`: EADDRINUSE when a mapping or an allowed range is in the way. */
export function iopt_table_enforce_dev_resv_regions(k: KernelState, iopt: IoPagetableState, dev: Device): void {
    iopt_reserve_ranges(iopt, devResvRanges(k, dev), `${IOPT_C}:iopt_table_enforce_dev_resv_regions`);
}

/** The reason the dev's reserved regions could not go into the IOAS, or undefined (no change). */
export function devResvConflict(k: KernelState, iopt: IoPagetableState, dev: Device): string | undefined {
    for (const r of devResvRanges(k, dev)) {
        const why = reserveConflict(iopt, r.start, r.last);
        if (why) {
            return `[${hex(r.start)}, ${hex(r.last)}] (${r.what}) cannot be reserved: ${why}`;
        }
    }
    return undefined;
}

/** `iopt_check_iova_alignment`: every area must conform to a raised alignment. */
function checkIovaAlignment(k: KernelState, iopt: IoPagetableState, align: bigint, src: string): void {
    const mask = alignMask(align);
    for (const e of iopt.areas.entries()) {
        const pageOffset = e.value.startByte % k.config.pageSize;
        if (e.start & mask || e.value.length & mask || pageOffset & mask) {
            fail('EADDRINUSE', `the mapping [${hex(e.start)}, ${hex(e.last)}]${pageOffset ? ` (starting ${hex(pageOffset)} into its page)` : ''} is not aligned to ${formatSize(align)}, the alignment this would require`, src);
        }
    }
}

/** `iopt_calculate_iova_alignment`. */
export function iopt_calculate_iova_alignment(k: KernelState, ctx: IommufdCtx, iopt: IoPagetableState, src: string): void {
    let align = iopt.disableLargePages ? k.config.pageSize : 1n;
    for (const d of iopt.domains) {
        const min = 1n << BigInt(ffs(getDomain(k, d).pgsizeBitmap));
        align = min > align ? min : align;
    }
    for (const a of iopt.accesses) {
        const access = ctx.objects.get(a);
        if (access?.type === 'access' && access.iovaAlignment > align) {
            align = access.iovaAlignment;
        }
    }
    if (align > iopt.iova_alignment) {
        checkIovaAlignment(k, iopt, align, src);
    }
    iopt.iova_alignment = align;
}

/**
 * `iopt_table_add_domain`: the domain's smallest page must fit PAGE_SIZE (EINVAL), existing areas
 * its alignment (EADDRINUSE), and nothing may sit outside its aperture (EADDRINUSE); then it is
 * filled from every area, pinning what is not pinned yet (EFAULT, ENOMEM).
 */
export function iopt_table_add_domain(k: KernelState, ctx: IommufdCtx, ioas: IommufdIoas, domainId: number, who: string): void {
    const src = `${IOPT_C}:iopt_table_add_domain`;
    const iopt = ioas.iopt;
    const d = getDomain(k, domainId);
    const min = 1n << BigInt(ffs(d.pgsizeBitmap));
    const align = min > iopt.iova_alignment ? min : iopt.iova_alignment;
    if (align > k.config.pageSize) {
        fail('EINVAL', `domain ${d.id}'s smallest page (${formatSize(min)}) is larger than PAGE_SIZE (${formatSize(k.config.pageSize)})`, src);
    }
    if (align !== iopt.iova_alignment) {
        checkIovaAlignment(k, iopt, align, src);
    }
    const aperture: IoptReserved[] = [];
    const owner = `domain:${d.id}`;
    if (d.aperture.start !== 0n) {
        aperture.push({ start: 0n, last: d.aperture.start - 1n, owner, what: `below domain ${d.id}'s aperture` });
    }
    if (d.aperture.end !== ULONG_MAX) {
        aperture.push({ start: d.aperture.end + 1n, last: ULONG_MAX, owner, what: `beyond domain ${d.id}'s aperture (it ends at ${hex(d.aperture.end)})` });
    }
    iopt_reserve_ranges(iopt, aperture, src);
    // iopt_fill_domain: area by area, pin (the first domain pins), map, charge.
    for (const e of iopt.areas.entries()) {
        const pages = ctx.pages.get(e.value.pages)!;
        const { first, last } = areaIndexes(k, e.value);
        const n = iopt_pages_pin(k, pages, first, last, who);
        mapArea(k, ctx, iopt, e.value, domainId);
        iopt_pages_account(k, pages, n, who);
    }
    iopt.iova_alignment = align;
    iopt.domains = [...iopt.domains, domainId];
}

/**
 * `iopt_table_remove_domain`: the domain leaves (its mappings go with it, the caller frees it),
 * its aperture reservations go, alignment is recomputed and, with the last domain, every page
 * is unpinned.
 */
export function iopt_table_remove_domain(k: KernelState, ctx: IommufdCtx, ioas: IommufdIoas, domainId: number): void {
    const iopt = ioas.iopt;
    iopt.domains = iopt.domains.filter((d) => d !== domainId);
    iopt_remove_reserved_iova(iopt, `domain:${domainId}`);
    iopt_calculate_iova_alignment(k, ctx, iopt, `${IOPT_C}:iopt_table_remove_domain`);
    for (const id of new Set(iopt.areas.toArray().map((e) => e.value.pages))) {
        iopt_pages_release_unneeded(k, ctx, id);
    }
}

/** `iopt_add_access`: the access's alignment joins the IOAS's (EADDRINUSE if areas do not fit). */
export function iopt_add_access(k: KernelState, ctx: IommufdCtx, ioas: IommufdIoas, accessId: number): void {
    ioas.iopt.accesses = [...ioas.iopt.accesses, accessId];
    iopt_calculate_iova_alignment(k, ctx, ioas.iopt, `${IOPT_C}:iopt_add_access`);
}

/** `iopt_remove_access`. */
export function iopt_remove_access(k: KernelState, ctx: IommufdCtx, ioas: IommufdIoas, accessId: number): void {
    ioas.iopt.accesses = ioas.iopt.accesses.filter((a) => a !== accessId);
    iopt_calculate_iova_alignment(k, ctx, ioas.iopt, `${IOPT_C}:iopt_remove_access`);
}

/** `iopt_disable_large_pages`: refused once domains hold mappings. */
export function iopt_disable_large_pages(k: KernelState, ctx: IommufdCtx, ioas: IommufdIoas): void {
    const iopt = ioas.iopt;
    if (iopt.disableLargePages) {
        return;
    }
    if (iopt.domains.length > 0 && !iopt.areas.isEmpty) {
        fail('EINVAL', `IOAS ${ioas.id} already has mappings in ${iopt.domains.length} domain(s): huge pages cannot be turned off now`, `${IOPT_C}:iopt_disable_large_pages`);
    }
    iopt.disableLargePages = true;
    iopt_calculate_iova_alignment(k, ctx, iopt, `${IOPT_C}:iopt_disable_large_pages`);
}

/** `iopt_enable_large_pages`. */
export function iopt_enable_large_pages(k: KernelState, ctx: IommufdCtx, ioas: IommufdIoas): void {
    ioas.iopt.disableLargePages = false;
    iopt_calculate_iova_alignment(k, ctx, ioas.iopt, `${IOPT_C}:iopt_enable_large_pages`);
}

/**
 * `iopt_cut_iova` → `iopt_area_split` (VFIO TYPE1 v1 emulation): the area containing each iova
 * is split so that the iova is the last byte of its left part; both parts share the pages.
 */
export function iopt_cut_iova(k: KernelState, iopt: IoPagetableState, iovas: readonly bigint[]): void {
    const src = `${IOPT_C}:iopt_area_split`;
    for (const iova of iovas) {
        const e = iopt.areas.find(iova);
        if (!e || iova === e.start || iova === e.last) {
            continue;
        }
        const newStart = iova + 1n;
        const mask = alignMask(iopt.iova_alignment);
        const startByte = e.value.startByte + (newStart - e.start);
        if (newStart & mask || startByte & mask) {
            fail('EINVAL', `cannot split the mapping [${hex(e.start)}, ${hex(e.last)}] at ${hex(iova)}: the cut is not aligned to ${formatSize(iopt.iova_alignment)}`, src);
        }
        if (!iopt.disableLargePages && iopt.domains.length > 0) {
            fail('EINVAL', `cannot split the mapping [${hex(e.start)}, ${hex(e.last)}]: a domain may hold it in huge pages`, src);
        }
        const lhs: IoptArea = { ...e.value, length: newStart - e.start };
        const rhs: IoptArea = { ...e.value, iova: newStart, length: e.last - newStart + 1n, startByte };
        iopt.areas = iopt.areas.remove(e.start).insert(e.start, iova, lhs).insert(newStart, e.last, rhs);
    }
}

/** `iopt_set_dirty_tracking`: enabling first clears every dirty bit of the mapped areas. */
export function iopt_set_dirty_tracking(k: KernelState, domainId: number, enable: boolean): void {
    const d = getDomain(k, domainId);
    if (!d.dirtyOps) {
        fail('EOPNOTSUPP', `domain ${d.id} was not allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING: it has no dirty tracking ops`, `${IOPT_C}:iopt_set_dirty_tracking`);
    }
    if (enable && d.pgtable) {
        d.pgtable = d.pgtable.clearAllDirty();
    }
    d.dirtyTracking = enable;
    // VT-d sets or clears SSADE in the PASID entry of every device using the domain.
    for (const dev of k.devices.values()) {
        for (const [pasid, entry] of dev.pasids) {
            if (entry.domain === d.id && entry.pgtt === 2) {
                dev.pasids.set(pasid, { ...entry, ssade: enable });
            }
        }
    }
}

/**
 * `iommufd_check_iova_range` + `iommu_read_and_clear_dirty`: the dirty bitmap of [iova,
 * iova+length) at `pageSize` bytes per bit, u64 words LSB first. The user bitmap is walked in
 * windows (`iova_bitmap`); inside each, only areas contiguous from the window's start are read,
 * and holes are silently skipped (the walk's error is ignored), as in Linux.
 */
export function iopt_read_and_clear_dirty_data(
    k: KernelState, iopt: IoPagetableState, domainId: number, iova: bigint, length: bigint, pageSize: bigint, noClear: boolean,
): bigint[] {
    const src = `${IOPT_C}:iommufd_check_iova_range`;
    const last = iova + u64(length - 1n);
    if (last > ULONG_MAX) {
        fail('EOVERFLOW', `iova ${hex(iova)} + length ${hex(length)} - 1 overflows`, src);
    }
    const pgmask = alignMask(iopt.iova_alignment);
    if (iova & pgmask || u64(last + 1n) & pgmask) {
        fail('EINVAL', `[${hex(iova)}, ${hex(last)}] is not aligned to the IOAS's alignment ${formatSize(iopt.iova_alignment)}`, src);
    }
    if (pageSize === 0n) {
        fail('EINVAL', 'page_size is 0', src);
    }
    const psmask = u64(pageSize - 1n);
    if (iova & psmask || u64(last + 1n) & psmask) {
        fail('EINVAL', `[${hex(iova)}, ${hex(last)}] is not aligned to page_size ${formatSize(pageSize)}`, src);
    }
    const d = getDomain(k, domainId);
    let table = d.pgtable;
    if (!d.dirtyOps || !table) {
        fail('EOPNOTSUPP', `domain ${d.id} has no dirty tracking ops (allocated without IOMMU_HWPT_ALLOC_DIRTY_TRACKING)`, 'drivers/iommu/iommufd/io_pagetable.c:iommu_read_and_clear_dirty');
    }
    const nbits = length / pageSize;
    const words: bigint[] = new Array<bigint>(Number((nbits + 63n) / 64n)).fill(0n);
    // iova_bitmap maps at most PAGE_SIZE / sizeof(struct page *) pages of the user bitmap at once.
    const windowBits = (k.config.pageSize / 8n) * k.config.pageSize * 8n;
    for (let bit0 = 0n; bit0 < nbits; bit0 += windowBits) {
        const wStart = iova + bit0 * pageSize;
        const wBits = nbits - bit0 < windowBits ? nbits - bit0 : windowBits;
        const wLast = wStart + wBits * pageSize - 1n;
        let cursor = wStart;
        for (const e of contigAreas(iopt, wStart, wLast)) {
            const to = e.last < wLast ? e.last : wLast;
            const r: ReturnType<IoPageTable['readAndClearDirty']> = table.readAndClearDirty(cursor, to - cursor + 1n, noClear);
            table = r.table;
            d.pgtable = table;
            for (const leaf of r.dirty) {
                const from = leaf.iova > cursor ? leaf.iova : cursor;
                const end = leaf.iova + leaf.size - 1n < to ? leaf.iova + leaf.size - 1n : to;
                for (let b = (from - iova) / pageSize; b <= (end - iova) / pageSize; b++) {
                    words[Number(b / 64n)]! |= 1n << (b % 64n);
                }
            }
            cursor = to + 1n;
        }
    }
    return words;
}
