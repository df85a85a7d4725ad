// Langium 4's parser library (chevrotain 13) uses Object.groupBy, which Node gained in 21. These
// entry points also run on Node 20 (the system Node of many machines), so provide the standard
// behaviour when it is missing. Imported first by every process entry point.
type GroupBy = <T, K extends PropertyKey>(items: Iterable<T>, key: (item: T, index: number) => K) => Partial<Record<K, T[]>>;
type MapGroupBy = <T, K>(items: Iterable<T>, key: (item: T, index: number) => K) => Map<K, T[]>;

const O = Object as unknown as { groupBy?: GroupBy };
if (typeof O.groupBy !== 'function') {
    O.groupBy = (items, key) => {
        const out = Object.create(null) as Record<PropertyKey, unknown[]>;
        let i = 0;
        for (const item of items) {
            const k = key(item, i++);
            (out[k] ??= []).push(item);
        }
        return out as never;
    };
}
const M = Map as unknown as { groupBy?: MapGroupBy };
if (typeof M.groupBy !== 'function') {
    M.groupBy = (items, key) => {
        const out = new Map();
        let i = 0;
        for (const item of items) {
            const k = key(item, i++);
            const list = out.get(k);
            if (list) {
                list.push(item);
            } else {
                out.set(k, [item]);
            }
        }
        return out;
    };
}
export {};
