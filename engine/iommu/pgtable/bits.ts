/**
 * Number helpers for 64-bit page-table entries kept as two 32-bit words, and for page frame
 * numbers. Inside the page-table code every address is a page frame number (address >> 12): an
 * IOVA below 2^64 has a frame number below 2^52 and so is an exact double, which keeps bigint out
 * of the inner loops (u64 IOVAs only appear at the public API).
 */

/** 2^20: the part of a frame number that goes in the low word (bits 31:12 of the entry). */
export const TWO_POW_20 = 0x10_0000;
/** 2^32. */
export const TWO_POW_32 = 0x1_0000_0000;
/** Bytes per 4 KiB page, as bigint, for the API boundary. */
export const PAGE_SIZE_BIG = 0x1000n;
/** log2 of the 4 KiB granule. */
export const PAGE_SHIFT = 12;
/** 32-bit words per 4 KiB table page (512 entries of two words). */
export const WORDS_PER_TABLE = 1024;
/** Entries per 4 KiB table page. */
export const ENTRIES_PER_TABLE = 512;

/** `DIV[level]`: pages one entry at `level` covers (2^(9*level)); index 6 and 7 only as bounds. */
export const DIV: readonly number[] = [1, 2 ** 9, 2 ** 18, 2 ** 27, 2 ** 36, 2 ** 45, 2 ** 54, 2 ** 63];

/** Low word holding frame number `pfn` at bits 31:12 (int32 result; typed arrays store it mod 2^32). */
export function pfnLo(pfn: number): number {
    return (pfn & 0xf_ffff) << 12;
}

/** High-word part of frame number `pfn` (entry bits 51:32 are pfn bits 39:20), cut to `mask`. */
export function pfnHi(pfn: number, mask: number): number {
    return Math.floor(pfn / TWO_POW_20) & mask;
}

/** Frame number held in an entry's address field (bits 31:12 of lo, `mask` bits of hi). */
export function entryPfn(lo: number, hi: number, mask: number): number {
    return (lo >>> 12) + (hi & mask) * TWO_POW_20;
}

/** Count of trailing zero bits of a non-negative integer below 2^53 (64 for zero). */
export function ctz(x: number): number {
    if (x === 0) {
        return 64;
    }
    const low = x >>> 0;
    if (low !== 0) {
        return 31 - Math.clz32(low & -low);
    }
    const high = Math.floor(x / TWO_POW_32) >>> 0;
    return 32 + (31 - Math.clz32(high & -high));
}

/** `__fls`: index of the highest set bit of a positive integer below 2^53. */
export function floorLog2(x: number): number {
    if (x < TWO_POW_32) {
        return 31 - Math.clz32(x);
    }
    return 32 + (31 - Math.clz32(Math.floor(x / TWO_POW_32)));
}

/** Count of trailing one bits of a non-negative integer below 2^53 - 1. */
export function trailingOnes(x: number): number {
    return ctz(x + 1);
}

/** The raw 64-bit value of an entry. */
export function rawEntry(lo: number, hi: number): bigint {
    return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
