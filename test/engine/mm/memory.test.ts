/**
 * Process memory (`engine/mm/memory.ts`): mmap/munmap as mm/mmap.c and mm/hugetlb.c shape them
 * (page-rounded lengths, VMA splits, hugetlb lengths rounded by ksys_mmap_pgoff, no split inside
 * a huge page), pinning as mm/gup.c does it (an IOMMU mapping keeps the pages it pinned after
 * munmap), and locked_vm accounting (vfio_lock_acct → __account_locked_vm).
 */
import { describe, expect, test } from 'vitest';
import { vaToPa } from '../../../engine/mm/memory.js';
import { ep } from '../machine/builders.js';
import { isolated } from '../machines.js';
import { G, K, M, add, expectAllMatched, expectStep, finalKernel, kernelAfter, n, path, scenario, v, valueOf, vfioGroup } from '../scenario.js';
import type { ProcessBuilder } from '../scenario.js';

const TYPE1v2 = 3n;
const RW = 3n;

function machine() {
    return isolated([ep('01:00.0', 'nic0', { driver: 'ixgbe' })]);
}

function assign(p: ProcessBuilder): void {
    p.unbind('nic0');
    p.bind('nic0', 'vfio-pci');
    p.open(path('/dev/vfio/vfio'), 'c');
    p.open(vfioGroup('nic0'), 'g');
    p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
    p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
}

describe('mmap and munmap', () => {
    test('lengths: 0 is EINVAL, others round up to pages; MAP_HUGETLB rounds up to the huge page; unknown huge sizes are EINVAL', () => {
        const s = scenario(machine());
        const p = s.process('app');
        const zero = p.mmap(0n, 'z', {}, { expect: 'EINVAL' });
        const odd = p.mmap(5000n, 'odd');
        const huge = p.mmap(3n * M, 'huge', { hugepage: 2n * M });
        const badSize = p.mmap(4n * M, 'bad', { hugepage: 4n * M }, { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, zero, 'EINVAL', /the length must be positive/);
        expectStep(run, badSize, 'EINVAL', /no 4M huge page size/);
        const mm = finalKernel(run).processes.get('app')!.mm;
        const oddAt = valueOf(run, odd, 'addr');
        expect(mm.vmas.find(oddAt)!.value.length).toBe(8n * K);
        const hugeAt = valueOf(run, huge, 'addr');
        expect(hugeAt % (2n * M)).toBe(0n);
        expect(mm.vmas.find(hugeAt)!.value.length).toBe(4n * M);
    });

    test('a partial munmap splits the VMA; what stays keeps its physical pages; misaligned addresses and huge-page splits are EINVAL', () => {
        const s = scenario(machine());
        const p = s.process('app');
        const ram = p.mmap(16n * K, 'ram');
        const huge = p.mmap(4n * M, 'huge', { hugepage: 2n * M });
        const before = p.munmap(add(v('ram'), n(4096)), 4096n);
        const misaligned = p.munmap(add(v('ram'), n(100)), 4096n);
        const hugeSplit = p.munmap(add(v('huge'), n(4096)), 4096n);
        const hugeHalf = p.munmap(add(v('huge'), n(2n * M)), 2n * M);
        const run = s.run();
        expectStep(run, misaligned, 'EINVAL', /munmap address 0x[0-9a-f]+64 is not page aligned/);
        expectStep(run, hugeSplit, 'EINVAL', /splits a 2M huge page/);
        expectStep(run, before, 'ok');
        expectStep(run, hugeHalf, 'ok');
        const start = valueOf(run, ram, 'addr');
        const h = valueOf(run, huge, 'addr');
        const beforeMm = kernelAfter(run, ram).processes.get('app')!.mm;
        const mm = finalKernel(run).processes.get('app')!.mm;
        expect(vaToPa(mm, start + 4n * K)).toBeUndefined();
        expect(vaToPa(mm, start + 8n * K)!.pa).toBe(vaToPa(beforeMm, start + 8n * K)!.pa);
        expect(vaToPa(mm, start)!.pa).toBe(vaToPa(beforeMm, start)!.pa);
        expect(mm.vmas.toArray().filter((e) => e.start >= start && e.start < start + 16n * K).map((e) => [e.start - start, e.last - start])).toEqual([[0n, 4095n], [8192n, 16383n]]);
        expect(vaToPa(mm, h + 2n * M)).toBeUndefined();
        expect(vaToPa(mm, h)).toBeDefined();
    });
});

describe('pinned memory and the IOMMU', () => {
    test('munmap does not unpin: the IOMMU keeps pointing at the old pages; mapping the hole again is EFAULT', () => {
        const s = scenario(machine());
        const p = s.process('vmm');
        assign(p);
        const ram = p.mmap(2n * M, 'ram');
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 2n * M, flags: RW });
        const before = p.dma('nic0', 'write', 0x1000n, 64n);
        p.munmap(v('ram'), 2n * M);
        const after = p.dma('nic0', 'write', 0x1000n, 64n);
        const again = p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 4n * M, size: 2n * M, flags: RW }, { expect: 'EFAULT' });
        // New memory gets new pages; the pinned ones are not handed out again.
        const fresh = p.mmap(2n * M, 'fresh');
        const run = s.run();
        expectAllMatched(run);
        expect(valueOf(run, after, 'pa')).toBe(valueOf(run, before, 'pa'));
        expectStep(run, again, 'EFAULT', /is not mapped in the process/);
        const mm = finalKernel(run).processes.get('vmm')!.mm;
        expect(vaToPa(mm, valueOf(run, ram, 'addr'))).toBeUndefined();
        const freshPa = BigInt(vaToPa(mm, valueOf(run, fresh, 'addr') + 0x1000n)!.pa);
        expect(freshPa).not.toBe(valueOf(run, before, 'pa'));
        // Still pinned and charged.
        expect(mm.locked_vm).toBe(512n);
    });

    test('locked_vm is charged per pinned page and given back by unmap and by closing the container', () => {
        const s = scenario(machine());
        const p = s.process('vmm');
        assign(p);
        p.mmap(1n * G, 'ram');
        const map1 = p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 4n * M, flags: RW });
        const map2 = p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: add(v('ram'), n(4n * M)), iova: 4n * M, size: 4n * M, flags: RW });
        const unmap = p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { iova: 0, size: 4n * M });
        p.close(v('c'));
        const stillHeld = p.dma('nic0', 'read', 4n * M, 8n);
        const closeGroup = p.close(v('g'));
        const run = s.run();
        expectAllMatched(run);
        const locked = (i: number) => kernelAfter(run, i).processes.get('vmm')!.mm.locked_vm;
        expect(locked(map1)).toBe(1024n);
        expect(locked(map2)).toBe(2048n);
        expect(locked(unmap)).toBe(1024n);
        // Closing the container fd alone changes nothing: the group holds the container.
        expectStep(run, stillHeld, 'ok');
        expect(locked(closeGroup)).toBe(0n);
    });

    test('a forked child\'s pin unshares its copy-on-write pages: the IOMMU gets the child\'s own pages', () => {
        const s = scenario(machine());
        const p = s.process('vmm');
        assign(p);
        const ram = p.mmap(2n * M, 'ram');
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 2n * M, flags: RW });
        p.fork('child');
        const child = s.process('child');
        // The child's fds share the parent's files: it may map through the same container.
        const map = child.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 2n * M, size: 2n * M, flags: RW });
        const d = child.dma('nic0', 'read', 2n * M + 0x10n, 8n);
        const parentMap = p.dma('nic0', 'read', 0x10n, 8n);
        const run = s.run();
        expectAllMatched(run);
        const k = finalKernel(run);
        expect(k.processes.get('vmm')!.mm.locked_vm).toBe(512n);
        expect(k.processes.get('child')!.mm.locked_vm).toBe(512n);
        const at = valueOf(run, ram, 'addr') + 0x10n;
        const parentPa = BigInt(vaToPa(k.processes.get('vmm')!.mm, at)!.pa);
        const childPa = BigInt(vaToPa(k.processes.get('child')!.mm, at)!.pa);
        // FOLL_PIN in the child unshared the pages (gup_must_unshare): its own copy, not the parent's.
        expect(childPa).not.toBe(parentPa);
        expect(valueOf(run, d, 'pa')).toBe(childPa);
        expect(valueOf(run, parentMap, 'pa')).toBe(parentPa);
        expectStep(run, map, 'ok');
    });
});
