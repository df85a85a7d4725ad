/**
 * An immutable map of disjoint closed intervals [start, last] over u64 (bigint), in address
 * order: the shape of type1's `vfio_dma` rb-tree, the io_pagetable's area tree and a process's
 * VMAs. Updates return a new map that shares its B+tree nodes with the old one (sorted-btree's
 * copy-on-write clone), so per-step snapshots cost O(log n) per change, not O(n).
 */

import * as sortedBtree from 'sorted-btree';

/** The part of sorted-btree's `BTree` this module uses. */
interface Tree<V> {
    readonly size: number;
    get(key: bigint): IntervalEntry<V> | undefined;
    has(key: bigint): boolean;
    set(key: bigint, value: IntervalEntry<V>): boolean;
    delete(key: bigint): boolean;
    getPairOrNextLower(key: bigint): [bigint, IntervalEntry<V>] | undefined;
    getPairOrNextHigher(key: bigint): [bigint, IntervalEntry<V>] | undefined;
    nextHigherPair(key: bigint | undefined): [bigint, IntervalEntry<V>] | undefined;
    nextLowerPair(key: bigint | undefined): [bigint, IntervalEntry<V>] | undefined;
    forRange(low: bigint, high: bigint, includeHigh: boolean, onFound: (k: bigint, v: IntervalEntry<V>) => void): number;
    entries(): IterableIterator<[bigint, IntervalEntry<V>]>;
    valuesArray(): Array<IntervalEntry<V>>;
    clone(): Tree<V>;
    freeze(): void;
    unfreeze(): void;
}
type TreeCtor = new <V>(entries: undefined, compare: (a: bigint, b: bigint) => number) => Tree<V>;

// sorted-btree is CommonJS with `exports.default = BTree`; loaders differ in how many `.default`s
// wrap it (Node's ESM interop, esbuild, vitest), so take the innermost constructor.
function unwrapBTree(m: unknown): TreeCtor {
    let cur = m as { default?: unknown };
    while (typeof cur !== 'function' && cur && cur.default) {
        cur = cur.default as { default?: unknown };
    }
    return cur as unknown as TreeCtor;
}
const BTree = unwrapBTree(sortedBtree);

export interface IntervalEntry<V> {
    readonly start: bigint;
    /** Inclusive end. */
    readonly last: bigint;
    readonly value: V;
}

const compare = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

export class IntervalMap<V> {
    private constructor(private readonly tree: Tree<V>) {
        tree.freeze();
    }

    static empty<V>(): IntervalMap<V> {
        return new IntervalMap<V>(new BTree<V>(undefined, compare));
    }

    static of<V>(entries: Iterable<IntervalEntry<V>>): IntervalMap<V> {
        let m = IntervalMap.empty<V>();
        for (const e of entries) {
            m = m.insert(e.start, e.last, e.value);
        }
        return m;
    }

    get size(): number {
        return this.tree.size;
    }

    get isEmpty(): boolean {
        return this.tree.size === 0;
    }

    /** Adds an interval; it must not overlap an existing one (callers check first, as Linux does). */
    insert(start: bigint, last: bigint, value: V): IntervalMap<V> {
        if (last < start) {
            throw new RangeError(`interval [${start}, ${last}] is empty`);
        }
        if (this.firstOverlap(start, last)) {
            throw new RangeError(`interval [0x${start.toString(16)}, 0x${last.toString(16)}] overlaps an existing one`);
        }
        return this.edit((t) => t.set(start, { start, last, value }));
    }

    /** Replaces the value of the interval starting at `start`. */
    update(start: bigint, value: V): IntervalMap<V> {
        const e = this.tree.get(start);
        if (!e) {
            throw new RangeError(`no interval starts at 0x${start.toString(16)}`);
        }
        return this.edit((t) => t.set(start, { start, last: e.last, value }));
    }

    /** Removes the interval starting at `start`. */
    remove(start: bigint): IntervalMap<V> {
        if (!this.tree.has(start)) {
            return this;
        }
        return this.edit((t) => t.delete(start));
    }

    /** Removes several intervals (by start) in one copy. */
    removeAll(starts: Iterable<bigint>): IntervalMap<V> {
        return this.edit((t) => {
            for (const s of starts) {
                t.delete(s);
            }
        });
    }

    getAt(start: bigint): IntervalEntry<V> | undefined {
        return this.tree.get(start);
    }

    /** The interval containing `addr`. */
    find(addr: bigint): IntervalEntry<V> | undefined {
        const pair = this.tree.getPairOrNextLower(addr);
        if (pair && pair[1].last >= addr) {
            return pair[1];
        }
        return undefined;
    }

    /** The first interval (lowest start) intersecting [start, last]. */
    firstOverlap(start: bigint, last: bigint): IntervalEntry<V> | undefined {
        const before = this.tree.getPairOrNextLower(start);
        if (before && before[1].last >= start) {
            return before[1];
        }
        const after = this.tree.getPairOrNextHigher(start);
        if (after && after[0] <= last) {
            return after[1];
        }
        return undefined;
    }

    /** Every interval intersecting [start, last], in address order. */
    overlapping(start: bigint, last: bigint): Array<IntervalEntry<V>> {
        const out: Array<IntervalEntry<V>> = [];
        const before = this.tree.getPairOrNextLower(start);
        if (before && before[1].last >= start && before[0] < start) {
            out.push(before[1]);
        }
        this.tree.forRange(start, last, true, (_k: bigint, v: IntervalEntry<V>) => {
            out.push(v);
        });
        return out;
    }

    /** The first interval starting strictly after `addr`. */
    nextAfter(addr: bigint): IntervalEntry<V> | undefined {
        return this.tree.nextHigherPair(addr)?.[1];
    }

    first(): IntervalEntry<V> | undefined {
        return this.tree.nextHigherPair(undefined)?.[1];
    }

    lastEntry(): IntervalEntry<V> | undefined {
        return this.tree.nextLowerPair(undefined)?.[1];
    }

    *entries(): IterableIterator<IntervalEntry<V>> {
        for (const [, v] of this.tree.entries()) {
            yield v;
        }
    }

    toArray(): Array<IntervalEntry<V>> {
        return this.tree.valuesArray();
    }

    /** Entries from index `start`, at most `count` (for paged debug views). */
    slice(start: number, count: number): Array<IntervalEntry<V>> {
        const out: Array<IntervalEntry<V>> = [];
        let i = 0;
        for (const [, v] of this.tree.entries()) {
            if (i >= start + count) {
                break;
            }
            if (i >= start) {
                out.push(v);
            }
            i++;
        }
        return out;
    }

    private edit(fn: (t: Tree<V>) => void): IntervalMap<V> {
        const copy = this.tree.clone();
        copy.unfreeze();
        fn(copy);
        return new IntervalMap<V>(copy);
    }
}
