/**
 * Physical memory contents: what a device's DMA write left in RAM, so that a debugger can show
 * the bytes a device would read back. Sparse and copy on write: the store maps physical extents
 * (closed PA intervals) to what they hold, in an immutable interval map, and reads as zero
 * everywhere else. A write replaces only the extents it overlaps, so a step's snapshot shares all
 * the rest with its neighbours, and a DMA write costs one entry per physically contiguous segment
 * it touched, never a copy of the bytes.
 *
 * The engine does not model what a device writes, so a DMA write stores a deterministic,
 * recognisable pattern instead of data: every 16-byte line reads `<device>@<iova>`, the device
 * name and the IOVA of the line as the device addressed it (see {@link dmaPatternLine}). The
 * pattern is generated when read, which keeps a 1 GiB write as cheap as a 64-byte one per
 * segment.
 */

import { IntervalMap } from '../interval-map.js';
import type { KernelState } from '../state.js';
import type { DmaSegment } from '../step.js';

/** What an extent holds, starting at the extent's first byte. */
export type PhysFill =
    /** The DMA pattern of `tag`, with the extent's first byte at pattern address `origin`. */
    | { readonly kind: 'pattern'; readonly tag: string; readonly origin: bigint }
    /** Literal bytes: the extent's first byte is `data[0]`. */
    | { readonly kind: 'bytes'; readonly data: Uint8Array };

/** Bytes per pattern line: one device name and one address per hex-dump row. */
export const PATTERN_LINE = 16;
const TAG_CHARS = 6;
const ADDRESS_DIGITS = 9;
/** Addresses wrap at 2^36 (64 GiB) in the pattern: 9 hex digits. */
const ADDRESS_SPAN = 1n << BigInt(4 * ADDRESS_DIGITS);
const LINE = BigInt(PATTERN_LINE);

/**
 * One 16-byte line of the DMA pattern: the tag (the device name, cut or padded with `.` to 6
 * characters), `@`, and the line's address in 9 hex digits. `dmaPatternLine('nic0', 0x1000n)` is
 * `nic0..@000001000`.
 */
export function dmaPatternLine(tag: string, lineAddress: bigint): Uint8Array {
    const addr = ((lineAddress % ADDRESS_SPAN) + ADDRESS_SPAN) % ADDRESS_SPAN;
    const text = `${tag.slice(0, TAG_CHARS).padEnd(TAG_CHARS, '.')}@${addr.toString(16).padStart(ADDRESS_DIGITS, '0')}`;
    const out = new Uint8Array(PATTERN_LINE);
    for (let i = 0; i < PATTERN_LINE; i++) {
        // Names are ASCII in practice; anything else shows as '?'.
        const c = text.charCodeAt(i);
        out[i] = c < 0x80 ? c : 0x3f;
    }
    return out;
}

/** The fill from `skip` bytes into `fill` on. */
function advance(fill: PhysFill, skip: bigint): PhysFill {
    if (skip === 0n) {
        return fill;
    }
    return fill.kind === 'pattern'
        ? { kind: 'pattern', tag: fill.tag, origin: fill.origin + skip }
        : { kind: 'bytes', data: fill.data.subarray(Number(skip)) };
}

/** An immutable, sparse physical memory. */
export class PhysMemory {
    private static readonly EMPTY = new PhysMemory(IntervalMap.empty<PhysFill>());

    private constructor(private readonly extents: IntervalMap<PhysFill>) {}

    /** All zeros. */
    static empty(): PhysMemory {
        return PhysMemory.EMPTY;
    }

    /** How many extents hold written data (for tests and diagnostics). */
    get extentCount(): number {
        return this.extents.size;
    }

    /** Writes the DMA pattern of `tag` over [pa, pa + length), the first byte at pattern address `origin`. */
    writePattern(pa: bigint, length: bigint, tag: string, origin: bigint): PhysMemory {
        if (length <= 0n) {
            return this;
        }
        return this.write(pa, pa + length - 1n, { kind: 'pattern', tag, origin });
    }

    /** Writes literal bytes at `pa`. */
    writeBytes(pa: bigint, data: Uint8Array): PhysMemory {
        if (data.length === 0) {
            return this;
        }
        return this.write(pa, pa + BigInt(data.length) - 1n, { kind: 'bytes', data: data.slice() });
    }

    /** `length` bytes from `pa`; never-written bytes read as zero. */
    read(pa: bigint, length: number): Uint8Array {
        const out = new Uint8Array(Math.max(0, length));
        if (length <= 0) {
            return out;
        }
        const last = pa + BigInt(length) - 1n;
        for (const e of this.extents.overlapping(pa, last)) {
            const from = e.start > pa ? e.start : pa;
            const to = e.last < last ? e.last : last;
            const fill = e.value;
            const outOffset = Number(from - pa);
            const count = Number(to - from) + 1;
            const skip = from - e.start;
            if (fill.kind === 'bytes') {
                out.set(fill.data.subarray(Number(skip), Number(skip) + count), outOffset);
                continue;
            }
            let addr = fill.origin + skip;
            let i = 0;
            while (i < count) {
                const within = Number(((addr % LINE) + LINE) % LINE);
                const line = dmaPatternLine(fill.tag, addr - BigInt(within));
                const take = Math.min(PATTERN_LINE - within, count - i);
                out.set(line.subarray(within, within + take), outOffset + i);
                i += take;
                addr += BigInt(take);
            }
        }
        return out;
    }

    /** Replaces [start, last] with `fill`, trimming the extents it overlaps. */
    private write(start: bigint, last: bigint, fill: PhysFill): PhysMemory {
        let map = this.extents;
        for (const e of map.overlapping(start, last)) {
            map = map.remove(e.start);
            if (e.start < start) {
                map = map.insert(e.start, start - 1n, e.value);
            }
            if (e.last > last) {
                map = map.insert(last + 1n, e.last, advance(e.value, last + 1n - e.start));
            }
        }
        return new PhysMemory(map.insert(start, last, fill));
    }
}

/**
 * Records a device's DMA write: each segment that translated receives the device's pattern,
 * addressed by the IOVA the device used (so the bytes say who wrote them and where, from any
 * view). Returns the kernel with its new memory, sharing everything else.
 */
export function recordDmaWrite(k: KernelState, device: string, segments: readonly DmaSegment[]): KernelState {
    let mem = k.physMemory;
    for (const s of segments) {
        mem = mem.writePattern(s.pa, s.length, device, s.iova);
    }
    return mem === k.physMemory ? k : { ...k, physMemory: mem };
}
