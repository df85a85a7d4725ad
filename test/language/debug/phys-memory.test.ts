/** The sparse, copy-on-write physical memory store of engine/mm/phys-memory.ts. */
import { describe, expect, test } from 'vitest';
import { dmaPatternLine, PhysMemory, recordDmaWrite } from '../../../engine/mm/phys-memory.js';
import type { KernelState } from '../../../engine/state.js';

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');

describe('PhysMemory', () => {
    test('a pattern line names the writer and the address it used', () => {
        expect(text(dmaPatternLine('nic0', 0x1000n))).toBe('nic0..@000001000');
        expect(text(dmaPatternLine('averylongname', 0x12_3456_7890n))).toBe('averyl@234567890');
    });

    test('reads zero where nothing was written; a write lands where it was aimed', () => {
        const empty = PhysMemory.empty();
        expect([...empty.read(0x5000n, 4)]).toEqual([0, 0, 0, 0]);
        const m = empty.writePattern(0x8000n, 32n, 'nic0', 0x10_1000n);
        expect(text(m.read(0x8000n, 32))).toBe('nic0..@000101000nic0..@000101010');
        // Unaligned reads cut the lines where they are.
        expect(text(m.read(0x8004n, 8))).toBe('..@00010');
        expect([...m.read(0x7ffen, 4)]).toEqual([0, 0, 0x6e, 0x69]);
    });

    test('copy on write: a write returns a new memory and leaves the old one as it was', () => {
        const a = PhysMemory.empty().writePattern(0n, 64n, 'a', 0n);
        const b = a.writeBytes(16n, new Uint8Array([1, 2, 3]));
        expect(text(a.read(16n, 3))).toBe('a..');
        expect([...b.read(16n, 3)]).toEqual([1, 2, 3]);
        // The untouched parts of the old extent keep their pattern on both sides of the new one.
        expect(text(b.read(0n, 16))).toBe('a.....@000000000');
        expect(text(b.read(19n, 13))).toBe('...@000000010');
        expect(b.extentCount).toBe(3);
    });

    test('a big write is one extent per physically contiguous segment, read back anywhere', () => {
        const m = PhysMemory.empty().writePattern(0x4000_0000n, 1n << 30n, 'gpu0', 0n);
        expect(m.extentCount).toBe(1);
        expect(text(m.read(0x4000_0000n + 0x1234_5670n, 16))).toBe('gpu0..@012345670');
    });

    test('recordDmaWrite writes each translated segment, addressed by its IOVA, and shares the rest of the kernel', () => {
        const k = { physMemory: PhysMemory.empty(), devices: new Map() } as unknown as KernelState;
        const after = recordDmaWrite(k, 'nvme0', [
            { iova: 0x1000n, length: 16n, pa: 0x9000n, pageSize: 0x1000n },
            { iova: 0x1010n, length: 16n, pa: 0x3000n, pageSize: 0x1000n },
        ]);
        expect(after.devices).toBe(k.devices);
        expect(text(after.physMemory.read(0x9000n, 16))).toBe('nvme0.@000001000');
        expect(text(after.physMemory.read(0x3000n, 16))).toBe('nvme0.@000001010');
        expect(recordDmaWrite(k, 'nvme0', [])).toBe(k);
    });
});
