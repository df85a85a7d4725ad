import { describe, expect, test } from 'vitest';
import { IntervalMap } from '../../engine/interval-map.js';

describe('IntervalMap', () => {
    test('finds, overlaps and shares structure across versions', () => {
        const a = IntervalMap.empty<string>().insert(0x1000n, 0x1fffn, 'a').insert(0x4000n, 0x7fffn, 'b');
        const b = a.insert(0x2000n, 0x2fffn, 'c');
        expect(a.size).toBe(2);
        expect(b.size).toBe(3);
        expect(b.find(0x2800n)?.value).toBe('c');
        expect(a.find(0x2800n)).toBeUndefined();
        expect(b.overlapping(0x1800n, 0x4000n).map((e) => e.value)).toEqual(['a', 'c', 'b']);
        expect(() => b.insert(0x1fffn, 0x2000n, 'x')).toThrow(/overlaps/);
        const c = b.remove(0x1000n);
        expect(c.find(0x1000n)).toBeUndefined();
        expect(b.find(0x1000n)?.value).toBe('a');
        expect(c.firstOverlap(0x0n, 0xffff_ffff_ffff_ffffn)?.value).toBe('c');
    });
});
