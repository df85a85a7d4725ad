/**
 * The table-page directory: a persistent vector (immutable `List`) indexed by table number, each
 * slot a 4 KiB table page stored as hardware stores it (`Uint32Array(1024)`: low and high words of
 * 512 entries), allocated on first write. Table `t` lives at `tablePaBase + t * 4096`.
 *
 * Edits go through a `StoreTxn`: the first write to a page the previous version shares copies it,
 * later writes in the same transaction go to the copy in place. Old versions keep their own
 * directory and pages, so they never change.
 */

import { List } from 'immutable';
import { WORDS_PER_TABLE } from './bits.js';

/** A table page as the reading code sees it (never written through). */
export type ReadonlyPage = { readonly [word: number]: number; readonly length: number };

/** Marks a directory slot whose table was freed (or never allocated). */
const META_FREE = -1;

/** One immutable version of the directory. */
export interface StoreState {
    /** Table pages; `undefined` for a free slot or an allocated page not written yet (all zero). */
    readonly pages: List<Uint32Array | undefined>;
    /** Per table: `level + 8 * spanIndex` (the IOVA frame it starts at divided by its span), or -1. */
    readonly meta: List<number>;
    /** Freed table numbers, reused last-in first-out (as the page allocator hands back hot pages). */
    readonly free: List<number>;
    /** Allocated tables. */
    readonly tableCount: number;
}

/** An empty directory. */
export function emptyStore(): StoreState {
    return { pages: List<Uint32Array | undefined>(), meta: List<number>(), free: List<number>(), tableCount: 0 };
}

/** Level of a table from its meta value. */
export function metaLevel(meta: number): number {
    return meta % 8;
}

/** Span index (first IOVA frame / frames covered) of a table from its meta value. */
export function metaSpanIndex(meta: number): number {
    return Math.floor(meta / 8);
}

/** A copy-on-write edit of a `StoreState`. */
export class StoreTxn {
    private pages: List<Uint32Array | undefined>;
    private meta: List<number>;
    private free: List<number>;
    private count: number;
    /** Pages created by this transaction: writable in place. */
    private readonly fresh = new Set<Uint32Array>();

    constructor(base: StoreState) {
        this.pages = base.pages.asMutable();
        this.meta = base.meta.asMutable();
        this.free = base.free.asMutable();
        this.count = base.tableCount;
    }

    /** Allocated tables so far. */
    get tableCount(): number {
        return this.count;
    }

    /** The page of table `t` for reading (`undefined` reads as all zero). */
    read(t: number): ReadonlyPage | undefined {
        return this.pages.get(t);
    }

    /** The page of table `t` for writing: copied the first time this transaction writes it. */
    write(t: number): Uint32Array {
        const cur = this.pages.get(t);
        if (cur !== undefined && this.fresh.has(cur)) {
            return cur;
        }
        const page = cur === undefined ? new Uint32Array(WORDS_PER_TABLE) : cur.slice();
        this.fresh.add(page);
        this.pages = this.pages.set(t, page);
        return page;
    }

    /** Allocates a table number for a table at `level` covering span `spanIndex`; its page stays unallocated until written. */
    alloc(level: number, spanIndex: number): number {
        let t: number;
        const reused = this.free.last();
        if (reused !== undefined) {
            this.free = this.free.pop();
            t = reused;
        } else {
            t = this.meta.size;
            this.pages = this.pages.push(undefined);
            this.meta = this.meta.push(META_FREE);
        }
        this.pages = this.pages.set(t, undefined);
        this.meta = this.meta.set(t, level + 8 * spanIndex);
        this.count++;
        return t;
    }

    /** Allocates `n` consecutive table numbers at the end (an ARM concatenated pgd). */
    allocContiguous(n: number, level: number): number {
        const first = this.meta.size;
        for (let i = 0; i < n; i++) {
            this.pages = this.pages.push(undefined);
            this.meta = this.meta.push(level + 8 * i);
        }
        this.count += n;
        return first;
    }

    /** Frees table `t`; its number may be handed out again by this or a later transaction. */
    release(t: number): void {
        this.pages = this.pages.set(t, undefined);
        this.meta = this.meta.set(t, META_FREE);
        this.free = this.free.push(t);
        this.count--;
    }

    /** Meta value of table `t` (-1 when free). */
    metaOf(t: number): number {
        return this.meta.get(t) ?? META_FREE;
    }

    /** The new immutable version. */
    commit(): StoreState {
        return {
            pages: this.pages.asImmutable(),
            meta: this.meta.asImmutable(),
            free: this.free.asImmutable(),
            tableCount: this.count,
        };
    }
}

/** Meta value of table `t` in a committed version (-1 when free or out of range). */
export function storeMeta(state: StoreState, t: number): number {
    return state.meta.get(t) ?? META_FREE;
}
