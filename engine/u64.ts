/**
 * 64-bit arithmetic as the kernel does it. uAPI values are `bigint` throughout the engine: IOVAs,
 * lengths and flags are u64 and do not fit in a JavaScript number (IOVA ranges end at
 * 0xffff_ffff_ffff_ffff). Physical addresses stay below 2^52 and are plain numbers in page tables.
 */

export const U32_MAX = 0xffff_ffffn;
export const U64_MAX = 0xffff_ffff_ffff_ffffn;
/** On 64-bit kernels `ULONG_MAX == U64_MAX`. */
export const ULONG_MAX = U64_MAX;
export const SIZE_MAX = U64_MAX;
export const INT_MAX = 0x7fff_ffffn;

export const SZ_4K = 0x1000n;
export const SZ_2M = 0x20_0000n;
export const SZ_1G = 0x4000_0000n;

export function u32(v: bigint): bigint {
    return BigInt.asUintN(32, v);
}

export function u64(v: bigint): bigint {
    return BigInt.asUintN(64, v);
}

export function s32(v: bigint): bigint {
    return BigInt.asIntN(32, v);
}

/** `check_add_overflow(a, b)` on u64: the sum, or undefined on overflow. */
export function addOverflowU64(a: bigint, b: bigint): bigint | undefined {
    const sum = a + b;
    return sum > U64_MAX ? undefined : sum;
}

/** `a + b - 1` for a non-empty range, or undefined when it wraps (the kernel's "last" overflow checks). */
export function lastOf(start: bigint, length: bigint): bigint | undefined {
    if (length === 0n) {
        return undefined;
    }
    return addOverflowU64(start, length - 1n);
}

export function isAligned(v: bigint, align: bigint): boolean {
    return align <= 1n || v % align === 0n;
}

export function alignDown(v: bigint, align: bigint): bigint {
    return v - (v % align);
}

export function alignUp(v: bigint, align: bigint): bigint {
    const r = v % align;
    return r === 0n ? v : v + (align - r);
}

export function isPowerOfTwo(v: bigint): boolean {
    return v > 0n && (v & (v - 1n)) === 0n;
}

/** `roundup_pow_of_two`. */
export function roundupPowerOfTwo(v: bigint): bigint {
    let p = 1n;
    while (p < v) {
        p <<= 1n;
    }
    return p;
}

/** `__ffs`: index of the lowest set bit (v must be non-zero). */
export function ffs(v: bigint): number {
    let n = 0;
    while ((v & 1n) === 0n) {
        v >>= 1n;
        n++;
    }
    return n;
}

/** `__fls`: index of the highest set bit (v must be non-zero). */
export function fls(v: bigint): number {
    return v.toString(2).length - 1;
}

export function minBig(a: bigint, b: bigint): bigint {
    return a < b ? a : b;
}

export function maxBig(a: bigint, b: bigint): bigint {
    return a > b ? a : b;
}

export function hex(v: bigint | number): string {
    const b = typeof v === 'number' ? BigInt(v) : v;
    return b < 0n ? `-0x${(-b).toString(16)}` : `0x${b.toString(16)}`;
}

const SIZE_UNITS: Array<[bigint, string]> = [
    [1n << 40n, 'T'],
    [1n << 30n, 'G'],
    [1n << 20n, 'M'],
    [1n << 10n, 'K'],
];

/** 4096 → "4K", 0x4000_0000 → "1G"; sizes that are not a whole unit stay in hex. */
export function formatSize(v: bigint | number): string {
    const b = typeof v === 'number' ? BigInt(v) : v;
    for (const [unit, suffix] of SIZE_UNITS) {
        if (b >= unit && b % unit === 0n) {
            return `${b / unit}${suffix}`;
        }
    }
    return b < 1024n ? `${b}` : hex(b);
}

/** Page-size bitmap (as in `pgsize_bitmap`) to the list of sizes it holds, smallest first. */
export function bitmapSizes(bitmap: bigint): bigint[] {
    const out: bigint[] = [];
    for (let bit = 0n; bit < 64n; bit++) {
        if ((bitmap >> bit) & 1n) {
            out.push(1n << bit);
        }
    }
    return out;
}

export function sizesBitmap(sizes: readonly bigint[]): bigint {
    return sizes.reduce((acc, s) => acc | s, 0n);
}
