/**
 * The type1 IOMMU backend (`engine/vfio/type1.ts`) against drivers/vfio/vfio_iommu_type1.c:
 * vfio_iommu_type1_get_info (capability chain sizes from vfio_info_cap_add, 8-byte aligned),
 * vfio_dma_do_map (checks in code order, with the 6.19 check_add_overflow -> EOVERFLOW),
 * vfio_dma_do_unmap (v1/v2 semantics), vfio_pin_pages_remote (RLIMIT_MEMLOCK),
 * vfio_iommu_type1_attach_group (apertures, reserved regions, MSI isolation, domain reuse,
 * replay) and the page sizes iommu_map picks for the pinned runs (kernel-semantics 8.1).
 */
import { describe, expect, test } from 'vitest';
import type { MachineSpec } from '../../../engine/machine/spec.js';
import { vaToPa } from '../../../engine/mm/memory.js';
import { SZ_1G, SZ_2M, SZ_4K } from '../../../engine/u64.js';
import { ep, pci, rp } from '../machine/builders.js';
import { MODERN, isolated, machineOf, vtdUnit, workstation } from '../machines.js';
import type { ProcessBuilder } from '../scenario.js';
import { G, K, M, dev, expectAllMatched, expectStep, finalKernel, kernelAfter, path, scenario, v, valueOf, vfioGroup } from '../scenario.js';

const VFIO_TYPE1_IOMMU = 1n;
const TYPE1v2 = 3n;
const READ = 1n;
const WRITE = 2n;
const MAP_VADDR = 4n;
const UNMAP_DIRTY = 1n;
const UNMAP_ALL = 2n;
const UNMAP_VADDR = 4n;
const INFO_PGSIZES = 1n;
const INFO_CAPS = 2n;
const container = path('/dev/vfio/vfio');

function nic(cmdline?: string): MachineSpec {
    return isolated([ep('01:00.0', 'nic0', { driver: 'ixgbe' })], { cmdline });
}

/** nic0 on vfio-pci, in a container `c` with the given type1 flavour; group fd `g`. */
function setup(p: ProcessBuilder, type = TYPE1v2, device = 'nic0'): void {
    p.unbind(device);
    p.bind(device, 'vfio-pci');
    p.open(container, 'c');
    p.open(vfioGroup(device), 'g');
    p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
    p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: type });
}

describe('VFIO_IOMMU_GET_INFO', () => {
    test('argsz below 16 is EINVAL; too small for the caps: argsz is raised and cap_offset stays 0', () => {
        const s = scenario(nic());
        const p = s.process('vmm');
        setup(p);
        const tiny = p.ioctl('VFIO_IOMMU_GET_INFO', v('c'), { argsz: 15 }, { expect: 'EINVAL' });
        const min = p.ioctl('VFIO_IOMMU_GET_INFO', v('c'), { argsz: 16 });
        const base = p.ioctl('VFIO_IOMMU_GET_INFO', v('c'), { argsz: 24 });
        const run = s.run();
        expectAllMatched(run);
        const r = expectStep(run, tiny, 'EINVAL', /argsz 15 is smaller than 16/);
        expect(r.source?.func).toBe('vfio_iommu_type1_get_info');
        // info 24 + MIGRATION 32 + DMA_AVAIL 16 (12 rounded up) + IOVA_RANGE 16 + 2 * 16 = 120
        expect(valueOf(run, min, 'argsz')).toBe(120n);
        expect(valueOf(run, min, 'flags')).toBe(INFO_PGSIZES | INFO_CAPS);
        expect(valueOf(run, min, 'iova_pgsizes')).toBe(0x40201000n);
        // copy_to_user(min(argsz, sizeof(info))): a 16-byte buffer gets no cap_offset back.
        expect(run.results[min]!.values.cap_offset).toBeUndefined();
        expect(valueOf(run, base, 'argsz')).toBe(120n);
        expect(valueOf(run, base, 'cap_offset')).toBe(0n);
        expect(run.results[base]!.values.nr_iovas).toBeUndefined();
    });

    test('with room for the caps: the worked example of a first-stage VT-d domain (kernel-semantics 10)', () => {
        const s = scenario(nic());
        const p = s.process('vmm');
        setup(p);
        const info = p.ioctl('VFIO_IOMMU_GET_INFO', v('c'), { argsz: 4096 });
        p.mmap(2n * M, 'ram');
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 2n * M, flags: READ | WRITE });
        const after = p.ioctl('VFIO_IOMMU_GET_INFO', v('c'), { argsz: 4096 });
        const run = s.run();
        expectAllMatched(run);
        expect(valueOf(run, info, 'flags')).toBe(INFO_PGSIZES | INFO_CAPS);
        expect(valueOf(run, info, 'iova_pgsizes')).toBe(0x40201000n);
        expect(valueOf(run, info, 'cap_offset')).toBe(24n);
        expect(valueOf(run, info, 'nr_iovas')).toBe(2n);
        expect(valueOf(run, info, 'iova_ranges[0].start')).toBe(0n);
        expect(valueOf(run, info, 'iova_ranges[0].end')).toBe(0xfedf_ffffn);
        expect(valueOf(run, info, 'iova_ranges[1].start')).toBe(0xfef0_0000n);
        expect(valueOf(run, info, 'iova_ranges[1].end')).toBe(0x7fff_ffff_ffffn);
        expect(valueOf(run, info, 'dma_avail')).toBe(65535n);
        expect(valueOf(run, after, 'dma_avail')).toBe(65534n);
    });

    test('a unit without 1G pages: iova_pgsizes 4K|2M; intel_iommu=sp_off leaves 4K only', () => {
        const noGig = isolated([ep('01:00.0', 'nic0', { driver: 'ixgbe' })], { unit: vtdUnit('dmar0', { pageSizes: [SZ_4K, SZ_2M] }) });
        const s1 = scenario(noGig);
        const p1 = s1.process('vmm');
        setup(p1);
        const i1 = p1.ioctl('VFIO_IOMMU_GET_INFO', v('c'), { argsz: 4096 });
        const r1 = s1.run();
        expectAllMatched(r1);
        expect(valueOf(r1, i1, 'iova_pgsizes')).toBe(0x201000n);
        const s2 = scenario(nic('intel_iommu=sp_off'));
        const p2 = s2.process('vmm');
        setup(p2);
        const i2 = p2.ioctl('VFIO_IOMMU_GET_INFO', v('c'), { argsz: 4096 });
        const r2 = s2.run();
        expectAllMatched(r2);
        expect(valueOf(r2, i2, 'iova_pgsizes')).toBe(0x1000n);
    });
});

describe('VFIO_IOMMU_MAP_DMA', () => {
    test('every check of vfio_dma_do_map, in order', () => {
        const s = scenario(nic('vfio_iommu_type1.dma_entry_limit=2'));
        const p = s.process('vmm');
        setup(p);
        p.mmap(4n * M, 'ram');
        const rw = READ | WRITE;
        const rows = {
            argsz: p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { argsz: 31, vaddr: v('ram'), iova: 0, size: 4n * K, flags: rw }, { expect: 'EINVAL' }),
            flags: p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 4n * K, flags: 8 }, { expect: 'EINVAL' }),
            size0: p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 0, flags: rw }, { expect: 'EINVAL' }),
            iovaWrap: p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0xffff_ffff_ffff_f000n, size: 8n * K, flags: rw }, { expect: 'EOVERFLOW' }),
            vaddrWrap: p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: 0xffff_ffff_ffff_f000n, iova: 0, size: 8n * K, flags: rw }, { expect: 'EOVERFLOW' }),
            noProt: p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 4n * K, flags: 0 }, { expect: 'EINVAL' }),
            vaddrRw: p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 4n * K, flags: MAP_VADDR | READ }, { expect: 'EINVAL' }),
            unalignedIova: p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0x800, size: 4n * K, flags: rw }, { expect: 'EINVAL' }),
            unalignedSize: p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 0x1800, flags: rw }, { expect: 'EINVAL' }),
            vaddrNoMapping: p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 4n * K, flags: MAP_VADDR }, { expect: 'ENOENT' }),
            ok: p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 2n * M, flags: rw }),
            vaddrValid: p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 2n * M, flags: MAP_VADDR }, { expect: 'EINVAL' }),
            exist: p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 1n * M, size: 2n * M, flags: READ }, { expect: 'EEXIST' }),
            writeOnly: p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 4n * M, size: 4n * K, flags: WRITE }),
            // dma_entry_limit=2: both entries are used.
            nospc: p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 8n * M, size: 4n * K, flags: rw }, { expect: 'ENOSPC' }),
        };
        p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { iova: 4n * M, size: 4n * K });
        const later = {
            msi: p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0xfee0_0000n, size: 1n * M, flags: rw }, { expect: 'EINVAL' }),
            beyond: p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0x8000_0000_0000n, size: 4n * K, flags: rw }, { expect: 'EINVAL' }),
            fault: p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: 0x1000_0000, iova: 16n * M, size: 4n * K, flags: rw }, { expect: 'EFAULT' }),
            partial: p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 16n * M, size: 8n * M, flags: rw }, { expect: 'EFAULT' }),
        };
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, rows.argsz, 'EINVAL', /argsz 31 is smaller than 32/);
        expectStep(run, rows.flags, 'EINVAL', /unknown flags 0x8/);
        expectStep(run, rows.size0, 'EINVAL', /size is 0/);
        expectStep(run, rows.iovaWrap, 'EOVERFLOW', /wraps around 2\^64/);
        expectStep(run, rows.vaddrWrap, 'EOVERFLOW');
        expectStep(run, rows.noProt, 'EINVAL', /neither READ nor WRITE/);
        expectStep(run, rows.vaddrRw, 'EINVAL', /VADDR cannot be combined with READ or WRITE/);
        expectStep(run, rows.unalignedIova, 'EINVAL', /multiples of the smallest IOMMU page \(4K/);
        expectStep(run, rows.unalignedSize, 'EINVAL', /multiples of the smallest IOMMU page/);
        expectStep(run, rows.vaddrNoMapping, 'ENOENT', /no mapping at IOVA 0x0 to update the vaddr of/);
        expectStep(run, rows.ok, 'ok');
        expectStep(run, rows.vaddrValid, 'EINVAL', /still has a valid vaddr/);
        expectStep(run, rows.exist, 'EEXIST', /\[0x100000, 0x2fffff\] overlaps the existing mapping \[0x0, 0x1fffff\]/);
        expectStep(run, rows.writeOnly, 'ok');
        const r = expectStep(run, rows.nospc, 'ENOSPC', /dma_entry_limit \(2\) mappings/);
        expect(r.source?.func).toBe('vfio_dma_do_map');
        expectStep(run, later.msi, 'EINVAL', /not inside one usable IOVA range.*MSI window 0xfee00000-0xfeefffff/);
        expectStep(run, later.beyond, 'EINVAL', /\[0x800000000000, 0x800000000fff\] is not inside one usable IOVA range/);
        expectStep(run, later.fault, 'EFAULT', /user address 0x10000000 is not mapped/);
        expectStep(run, later.partial, 'EFAULT', /is not mapped in the process/);
        // A failed map leaves no entry behind.
        const k = finalKernel(run);
        const c = [...k.vfio.containers.values()][0]!;
        expect(c.type1!.dmaList.toArray().map((e) => e.start)).toEqual([0n]);
    });

    test('before 6.19 a wrapping range was EINVAL, not EOVERFLOW', () => {
        const s = scenario({ ...nic(), kernel: { major: 6, minor: 12 } });
        const p = s.process('vmm');
        setup(p);
        p.mmap(2n * M, 'ram');
        const map = p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0xffff_ffff_ffff_f000n, size: 8n * K, flags: READ }, { expect: 'EINVAL' });
        const unmap = p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { iova: 0xffff_ffff_ffff_f000n, size: 8n * K }, { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, map, 'EINVAL', /wraps around 2\^64/);
        expectStep(run, unmap, 'EINVAL', /wraps around 2\^64/);
    });

    test('RLIMIT_MEMLOCK without CAP_IPC_LOCK: ENOMEM past the limit; unmapping gives the pages back', () => {
        const s = scenario(nic());
        const p = s.process('vmm', { caps: ['CAP_SYS_ADMIN'], memlock: 4n * M });
        setup(p);
        p.mmap(16n * M, 'ram');
        const over = p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 8n * M, flags: READ | WRITE }, { expect: 'ENOMEM' });
        const fits = p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 4n * M, flags: READ | WRITE });
        const onePage = p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 4n * M, size: 4n * K, flags: READ }, { expect: 'ENOMEM' });
        const unmap = p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { iova: 0, size: 4n * M });
        const again = p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 2n * M, flags: READ | WRITE });
        const run = s.run();
        expectAllMatched(run);
        const r = expectStep(run, over, 'ENOMEM', /pinning 8M would exceed vmm's RLIMIT_MEMLOCK of 4M \(0 already locked\) and it lacks CAP_IPC_LOCK/);
        expect(r.source?.func).toBe('vfio_pin_pages_remote');
        expect(kernelAfter(run, fits).processes.get('vmm')!.mm.locked_vm).toBe(1024n);
        expectStep(run, onePage, 'ENOMEM', /\(4M already locked\)/);
        expect(kernelAfter(run, unmap).processes.get('vmm')!.mm.locked_vm).toBe(0n);
        expect(kernelAfter(run, again).processes.get('vmm')!.mm.locked_vm).toBe(512n);
    });
});

describe('VFIO_IOMMU_UNMAP_DMA', () => {
    test('argument checks, then v2: a range may not bisect a mapping at either end', () => {
        const s = scenario(nic());
        const p = s.process('vmm');
        setup(p);
        p.mmap(8n * M, 'ram');
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 1n * M, size: 2n * M, flags: READ | WRITE });
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 4n * M, size: 2n * M, flags: READ | WRITE });
        const rows = {
            argsz: p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { argsz: 23, iova: 0, size: 4n * K }, { expect: 'EINVAL' }),
            flags: p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { flags: 8, iova: 0, size: 4n * K }, { expect: 'EINVAL' }),
            dirtyAll: p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { flags: UNMAP_DIRTY | UNMAP_ALL }, { expect: 'EINVAL' }),
            iova: p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { iova: 0x800, size: 4n * K }, { expect: 'EINVAL' }),
            allArgs: p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { flags: UNMAP_ALL, iova: 0, size: 4n * K }, { expect: 'EINVAL' }),
            size0: p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { iova: 0, size: 0 }, { expect: 'EINVAL' }),
            sizeOdd: p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { iova: 0, size: 0x1800 }, { expect: 'EINVAL' }),
            wrap: p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { iova: 0xffff_ffff_ffff_f000n, size: 8n * K }, { expect: 'EOVERFLOW' }),
            head: p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { iova: 2n * M, size: 4n * M }, { expect: 'EINVAL' }),
            tail: p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { iova: 0, size: 2n * M }, { expect: 'EINVAL' }),
            nothing: p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { iova: 16n * M, size: 1n * M }, { expect: 'ok', fields: { size: 0 } }),
            both: p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { iova: 0, size: 8n * M }, { expect: 'ok', fields: { size: 4n * M } }),
        };
        const dma = p.dma('nic0', 'read', 1n * M, 8n, { expect: 'fault' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, rows.argsz, 'EINVAL', /argsz 23 is smaller than 24/);
        expectStep(run, rows.flags, 'EINVAL', /unknown flags 0x8/);
        expectStep(run, rows.dirtyAll, 'EINVAL', /GET_DIRTY_BITMAP cannot be combined with ALL or VADDR/);
        expectStep(run, rows.iova, 'EINVAL', /iova 0x800 is not a multiple of the smallest IOMMU page/);
        expectStep(run, rows.allArgs, 'EINVAL', /FLAG_ALL needs iova and size 0/);
        expectStep(run, rows.size0, 'EINVAL', /size is 0/);
        expectStep(run, rows.sizeOdd, 'EINVAL', /size 0x1800 is not a multiple of 4K/);
        expectStep(run, rows.wrap, 'EOVERFLOW', /wraps around 2\^64/);
        const r = expectStep(run, rows.head, 'EINVAL', /\[0x200000, 0x5fffff\] starts inside the mapping \[0x100000, 0x2fffff\]: TYPE1v2 never splits a mapping/);
        expect(r.source?.func).toBe('vfio_dma_do_unmap');
        expectStep(run, rows.tail, 'EINVAL', /\[0x0, 0x1fffff\] ends inside the mapping \[0x100000, 0x2fffff\]/);
        expect(valueOf(run, rows.nothing, 'size')).toBe(0n);
        expect(valueOf(run, rows.both, 'size')).toBe(4n * M);
        // A failed unmap writes nothing back.
        expect(run.results[rows.head]!.values.size).toBeUndefined();
        expectStep(run, dma, 'fault', /not mapped/);
    });

    test('v1 (VFIO_TYPE1_IOMMU): an unmap starting inside a mapping succeeds with size 0; one covering its start removes it all', () => {
        const s = scenario(nic());
        const p = s.process('vmm');
        setup(p, VFIO_TYPE1_IOMMU);
        p.mmap(4n * M, 'ram');
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 2n * M, size: 2n * M, flags: READ | WRITE });
        const inside = p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { iova: 2n * M + 4n * K, size: 4n * K }, { expect: 'ok', fields: { size: 0 } });
        const still = p.dma('nic0', 'read', 2n * M + 4n * K, 8n);
        const start = p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { iova: 2n * M, size: 4n * K }, { expect: 'ok', fields: { size: 2n * M } });
        const gone = p.dma('nic0', 'read', 3n * M, 8n, { expect: 'fault' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, inside, 'ok');
        expectStep(run, still, 'ok');
        expectStep(run, start, 'ok');
        expectStep(run, gone, 'fault');
    });

    test('VFIO_DMA_UNMAP_FLAG_ALL removes every mapping and reports their total size', () => {
        const s = scenario(nic());
        const p = s.process('vmm');
        setup(p);
        p.mmap(8n * M, 'ram');
        for (const iova of [0n, 2n * M, 8n * M]) {
            p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova, size: 2n * M, flags: READ | WRITE });
        }
        const all = p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { flags: UNMAP_ALL }, { expect: 'ok', fields: { size: 6n * M } });
        const empty = p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { flags: UNMAP_ALL }, { expect: 'ok', fields: { size: 0 } });
        const info = p.ioctl('VFIO_IOMMU_GET_INFO', v('c'), { argsz: 4096 });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, all, 'ok');
        expectStep(run, empty, 'ok');
        expect(valueOf(run, info, 'dma_avail')).toBe(65535n);
        expect(finalKernel(run).processes.get('vmm')!.mm.locked_vm).toBe(0n);
    });

    test('VADDR: invalidate then re-establish the vaddr; attaching a group meanwhile is EBUSY', () => {
        const s = scenario(workstation());
        const p = s.process('vmm');
        setup(p, TYPE1v2, 'nvme0');
        p.mmap(2n * M, 'ram');
        p.mmap(2n * M, 'ram2');
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 2n * M, flags: READ | WRITE });
        const inval = p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { flags: UNMAP_VADDR, iova: 0, size: 2n * M }, { expect: 'ok', fields: { size: 2n * M } });
        const twice = p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { flags: UNMAP_VADDR, iova: 0, size: 2n * M }, { expect: 'EINVAL' });
        // The IOMMU mapping stays while the vaddr is being updated.
        const dma = p.dma('nvme0', 'write', 0x1000n, 64n);
        p.unbind('gpu0');
        p.bind('gpu0', 'vfio-pci');
        p.open(vfioGroup('gpu0'), 'g2');
        const attach = p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g2'), { positional: v('c') }, { expect: 'EBUSY' });
        const wrongSize = p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram2'), iova: 0, size: 4n * K, flags: MAP_VADDR }, { expect: 'EINVAL' });
        const update = p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram2'), iova: 0, size: 2n * M, flags: MAP_VADDR });
        const attachOk = p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g2'), { positional: v('c') });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, inval, 'ok');
        expectStep(run, twice, 'EINVAL', /already invalidated/);
        expectStep(run, dma, 'ok');
        expectStep(run, attach, 'EBUSY', /invalidated vaddr/);
        expectStep(run, wrongSize, 'EINVAL', /must be exactly the mapping/);
        expectStep(run, update, 'ok');
        expectStep(run, attachOk, 'ok');
    });

    test('a new process re-establishing the vaddr takes over the locked_vm charge (vfio_change_dma_owner)', () => {
        const s = scenario(nic());
        const old = s.process('old');
        setup(old);
        old.mmap(2n * M, 'ram');
        old.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 2n * M, flags: READ | WRITE });
        old.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { flags: UNMAP_VADDR, iova: 0, size: 2n * M });
        old.send(v('c'), 'small', 'c');
        old.send(v('c'), 'fresh', 'c');
        const small = s.process('small', { caps: ['CAP_SYS_ADMIN'], memlock: 1n * M });
        small.mmap(2n * M, 'ram');
        const refused = small.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 2n * M, flags: MAP_VADDR }, { expect: 'ENOMEM' });
        const fresh = s.process('fresh');
        fresh.mmap(2n * M, 'ram');
        const moved = fresh.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 2n * M, flags: MAP_VADDR });
        const run = s.run();
        expectAllMatched(run);
        const r = expectStep(run, refused, 'ENOMEM', /RLIMIT_MEMLOCK of 1M/);
        expect(r.source?.func).toBe('vfio_change_dma_owner');
        const k = kernelAfter(run, moved);
        expect(k.processes.get('old')!.mm.locked_vm).toBe(0n);
        expect(k.processes.get('fresh')!.mm.locked_vm).toBe(512n);
    });

    test('UNMAP_FLAG_VADDR while an mdev group is in the container is EBUSY', () => {
        const s = scenario(workstation());
        const p = s.process('vmm');
        p.open(container, 'c');
        p.open(vfioGroup('vgpu0'), 'g');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        p.mmap(2n * M, 'ram');
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 2n * M, flags: READ | WRITE });
        const busy = p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { flags: UNMAP_VADDR, iova: 0, size: 2n * M }, { expect: 'EBUSY' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, busy, 'EBUSY', /mdev \(emulated\) groups/);
    });
});

describe('page sizes of type1 mappings (kernel-semantics 8.1)', () => {
    test('4K anonymous memory maps as 4K leaves; 2M huge pages as 2M leaves at a 2M-aligned IOVA, 4K leaves 4K off; 1G pages as 1G leaves', () => {
        const s = scenario(nic());
        const p = s.process('vmm');
        setup(p);
        p.mmap(4n * M, 'anon');
        p.mmap(1n * G, 'huge', { hugepage: 2n * M });
        p.mmap(2n * G, 'giga', { hugepage: 1n * G });
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('anon'), iova: 0, size: 4n * M, flags: READ | WRITE });
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('huge'), iova: 1n * G, size: 1n * G, flags: READ | WRITE });
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('huge'), iova: 2n * G + 4n * K, size: 4n * M, flags: READ | WRITE });
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('giga'), iova: 4n * G, size: 2n * G, flags: READ | WRITE });
        const small = p.dma('nic0', 'write', 0x1000n, 64n);
        const two = p.dma('nic0', 'write', 1n * G + 2n * M + 0x123n, 64n);
        const off = p.dma('nic0', 'write', 2n * G + 4n * K + 2n * M, 64n);
        const giga = p.dma('nic0', 'read', 5n * G + 0x1234n, 8n);
        const run = s.run();
        expectAllMatched(run);
        const mm = finalKernel(run).processes.get('vmm')!.mm;
        const check = (i: number, va: bigint, size: bigint) => {
            expect(valueOf(run, i, 'page_size')).toBe(size);
            expect(valueOf(run, i, 'pa')).toBe(BigInt(vaToPa(mm, va)!.pa));
        };
        const anon = run.results.find((r) => r.op === 'mmap')!.values.addr!.value;
        const huge = run.results.filter((r) => r.op === 'mmap')[1]!.values.addr!.value;
        const gig = run.results.filter((r) => r.op === 'mmap')[2]!.values.addr!.value;
        check(small, anon + 0x1000n, SZ_4K);
        check(two, huge + 2n * M + 0x123n, SZ_2M);
        check(off, huge + 2n * M, SZ_4K);
        check(giga, gig + 1n * G + 0x1234n, SZ_1G);
    });

    test('1G huge pages map as 2M leaves where the domain has no 1G size', () => {
        const m = isolated([ep('01:00.0', 'nic0', { driver: 'ixgbe' })], { unit: vtdUnit('dmar0', { pageSizes: [SZ_4K, SZ_2M] }) });
        const s = scenario(m);
        const p = s.process('vmm');
        setup(p);
        p.mmap(1n * G, 'giga', { hugepage: 1n * G });
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('giga'), iova: 1n * G, size: 1n * G, flags: READ | WRITE });
        const d = p.dma('nic0', 'read', 1n * G + 0x30_0000n, 8n);
        const run = s.run();
        expectAllMatched(run);
        expect(valueOf(run, d, 'page_size')).toBe(SZ_2M);
    });
});

/** Two VT-d units: dmar0 (48-bit, scalable: first-stage domains) and dmar1 (legacy mode, 39-bit second stage, 4K|2M). */
function twoUnits(opts: { dmar1Features?: MachineSpec['iommus'][number]['features'] } = {}): MachineSpec {
    const dmar1 = { ...vtdUnit('dmar1', { addressWidth: 39, pageSizes: [SZ_4K, SZ_2M], features: opts.dmar1Features ?? MODERN }), mode: 'legacy' as const };
    return machineOf([vtdUnit('dmar0'), dmar1], [
        pci(0, 'dmar0',
            rp('00:01.0', 'rp0', { acs: true }, ep('01:00.0', 'nic0', { driver: 'ixgbe' })),
            rp('00:02.0', 'rp1', { acs: true }, ep('02:00.0', 'nic1', { driver: 'ixgbe' }))),
        pci(1, 'dmar1', rp('00:01.0', 'rp2', { acs: true }, ep('01:00.0', 'gpu0', { driver: 'amdgpu' }))),
    ]);
}

function take(p: ProcessBuilder, device: string, fd: string): void {
    p.unbind(device);
    p.bind(device, 'vfio-pci');
    p.open(vfioGroup(device), fd);
}

describe('several groups in one container', () => {
    test('compatible groups share one domain; an existing mapping reaches the second group at once', () => {
        const s = scenario(twoUnits());
        const p = s.process('vmm');
        p.open(container, 'c');
        take(p, 'nic0', 'g0');
        take(p, 'nic1', 'g1');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g0'), { positional: v('c') });
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        p.mmap(2n * M, 'ram');
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 2n * M, flags: READ | WRITE });
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g1'), { positional: v('c') });
        const a = p.dma('nic0', 'write', 0x1000n, 64n);
        const b = p.dma('nic1', 'write', 0x1000n, 64n);
        const run = s.run();
        expectAllMatched(run);
        const sa = run.results[a]!.dma!.segments[0]!;
        const sb = run.results[b]!.dma!.segments[0]!;
        expect(sb.domain).toBe(sa.domain);
        expect(sb.pa).toBe(sa.pa);
    });

    test('a group on another, smaller IOMMU gets its own domain, narrows the IOVA list and the page sizes; mappings are replayed', () => {
        const s = scenario(twoUnits());
        const p = s.process('vmm');
        p.open(container, 'c');
        take(p, 'nic0', 'g0');
        take(p, 'gpu0', 'g1');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g0'), { positional: v('c') });
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        p.mmap(2n * M, 'ram');
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 2n * M, flags: READ | WRITE });
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g1'), { positional: v('c') });
        const info = p.ioctl('VFIO_IOMMU_GET_INFO', v('c'), { argsz: 4096 });
        const a = p.dma('nic0', 'write', 0x1000n, 64n);
        const b = p.dma('gpu0', 'write', 0x1000n, 64n);
        const beyond = p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0x80_0000_0000n, size: 4n * K, flags: READ }, { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        expect(valueOf(run, info, 'iova_ranges[1].end')).toBe(0x7f_ffff_ffffn);
        expect(valueOf(run, info, 'iova_pgsizes')).toBe(0x201000n);
        const sa = run.results[a]!.dma!.segments[0]!;
        const sb = run.results[b]!.dma!.segments[0]!;
        expect(sb.domain).not.toBe(sa.domain);
        expect(sb.pa).toBe(sa.pa);
        expectStep(run, beyond, 'EINVAL', /not inside one usable IOVA range/);
        // Pinned once, though mapped in two domains.
        expect(finalKernel(run).processes.get('vmm')!.mm.locked_vm).toBe(512n);
    });

    test('attaching a group whose aperture misses existing mappings is EINVAL (vfio_iommu_aper_conflict)', () => {
        const s = scenario(twoUnits());
        const p = s.process('vmm');
        p.open(container, 'c');
        take(p, 'nic0', 'g0');
        take(p, 'gpu0', 'g1');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g0'), { positional: v('c') });
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        p.mmap(2n * M, 'ram');
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0x100_0000_0000n, size: 2n * M, flags: READ | WRITE });
        const attach = p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g1'), { positional: v('c') }, { expect: 'EINVAL' });
        // The failed attach gave the group's ownership back.
        const status = p.ioctl('VFIO_GROUP_GET_STATUS', v('g1'), {}, { expect: 'ok', fields: { flags: 1 } });
        const run = s.run();
        expectAllMatched(run);
        const r = expectStep(run, attach, 'EINVAL', /aperture \[0x0, 0x7fffffffff\] conflicts with the container's IOVA list or existing mappings/);
        expect(r.source?.func).toBe('vfio_iommu_type1_attach_group');
        expectStep(run, status, 'ok');
    });

    test('groups that differ in cache-coherency enforcement never share a domain; DMA_CC_IOMMU drops to 0', () => {
        const s = scenario(twoUnits({ dmar1Features: ['coherent', 'intr-remap'] }));
        const p = s.process('vmm');
        p.open(container, 'c');
        take(p, 'nic0', 'g0');
        take(p, 'gpu0', 'g1');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g0'), { positional: v('c') });
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        const cc1 = p.ioctl('VFIO_CHECK_EXTENSION', v('c'), { positional: 4 }, { expect: 'ok', fields: { value: 1 } });
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g1'), { positional: v('c') });
        const cc0 = p.ioctl('VFIO_CHECK_EXTENSION', v('c'), { positional: 4 }, { expect: 'ok', fields: { value: 0 } });
        p.ioctl('VFIO_GROUP_UNSET_CONTAINER', v('g1'));
        const cc2 = p.ioctl('VFIO_CHECK_EXTENSION', v('c'), { positional: 4 }, { expect: 'ok', fields: { value: 1 } });
        const info = p.ioctl('VFIO_IOMMU_GET_INFO', v('c'), { argsz: 4096 });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, cc1, 'ok');
        expectStep(run, cc0, 'ok');
        expectStep(run, cc2, 'ok');
        // Detaching the narrower group widens the IOVA list again (vfio_iommu_aper_expand).
        expect(valueOf(run, info, 'iova_ranges[1].end')).toBe(0x7fff_ffff_ffffn);
        expect(valueOf(run, info, 'iova_pgsizes')).toBe(0x40201000n);
    });

    test('an mdev-only container has no IOVA restriction; a real group\'s reserved regions then narrow it, or conflict', () => {
        const s = scenario(workstation());
        const p = s.process('vmm');
        p.open(container, 'c');
        p.open(vfioGroup('vgpu0'), 'mg');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('mg'), { positional: v('c') });
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        const open = p.ioctl('VFIO_IOMMU_GET_INFO', v('c'), { argsz: 4096 });
        p.mmap(2n * M, 'ram');
        // Nothing reserves the MSI window for an emulated group, so this maps.
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0xfee0_0000n, size: 1n * M, flags: READ | WRITE });
        take(p, 'nvme0', 'g');
        const conflict = p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') }, { expect: 'EINVAL' });
        p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { iova: 0xfee0_0000n, size: 1n * M });
        const attach = p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
        const narrowed = p.ioctl('VFIO_IOMMU_GET_INFO', v('c'), { argsz: 4096 });
        const run = s.run();
        expectAllMatched(run);
        expect(run.results[open]!.values.nr_iovas).toBeUndefined();
        expect(valueOf(run, open, 'cap_offset')).toBe(24n);
        expectStep(run, conflict, 'EINVAL', /an existing mapping overlaps group 5's reserved region \[0xfee00000, 0xfeefffff\] \(MSI window\)/);
        expectStep(run, attach, 'ok');
        expect(valueOf(run, narrowed, 'nr_iovas')).toBe(2n);
        expect(valueOf(run, narrowed, 'iova_ranges[0].end')).toBe(0xfedf_ffffn);
    });

    test('x86 interrupt remapping is all or nothing: one unit without it leaves no group isolated', () => {
        const s = scenario(twoUnits({ dmar1Features: ['coherent', 'enforce-coherency'] }));
        const p = s.process('vmm');
        p.open(container, 'c');
        take(p, 'nic0', 'g0');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g0'), { positional: v('c') });
        const set = p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 }, { expect: 'EPERM' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, set, 'EPERM', /interrupt remapping is off because another IOMMU unit lacks it/);
    });

    test('vfio_iommu_type1.allow_unsafe_interrupts=1 lets a group without MSI isolation attach', () => {
        const unit = vtdUnit('dmar0', { features: ['coherent', 'enforce-coherency'] });
        const s = scenario(isolated([ep('01:00.0', 'nic0', { driver: 'e1000e' })], { unit, cmdline: 'vfio_iommu_type1.allow_unsafe_interrupts=1' }));
        const p = s.process('vmm');
        setup(p);
        p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('g'), { positional: dev('nic0') }, { bind: 'd' });
        const run = s.run();
        expectAllMatched(run);
    });
});

describe('VFIO_IOMMU_DIRTY_PAGES', () => {
    test('v2 only (EACCES on v1); GET_BITMAP covers whole mappings and reports every pinned page dirty', () => {
        const START = 1n;
        const STOP = 2n;
        const GET = 4n;
        const s1 = scenario(nic());
        const p1 = s1.process('vmm');
        setup(p1, VFIO_TYPE1_IOMMU);
        const v1 = p1.ioctl('VFIO_IOMMU_DIRTY_PAGES', v('c'), { positional: START }, { expect: 'EACCES' });
        const r1 = s1.run();
        expectAllMatched(r1);
        expectStep(r1, v1, 'EACCES', /needs a VFIO_TYPE1v2_IOMMU container/);

        const s = scenario(nic());
        const p = s.process('vmm');
        setup(p);
        p.mmap(4n * M, 'ram');
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 2n * M, flags: READ | WRITE });
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 2n * M, size: 2n * M, flags: READ | WRITE });
        const notStarted = p.ioctl('VFIO_IOMMU_DIRTY_PAGES', v('c'), { positional: GET, iova: 0, size: 4n * M, 'bitmap.pgsize': 4n * K }, { expect: 'EINVAL' });
        const two = p.ioctl('VFIO_IOMMU_DIRTY_PAGES', v('c'), { positional: START | STOP }, { expect: 'EINVAL' });
        p.ioctl('VFIO_IOMMU_DIRTY_PAGES', v('c'), { positional: START });
        const all = p.ioctl('VFIO_IOMMU_DIRTY_PAGES', v('c'), { positional: GET, iova: 0, size: 4n * M, 'bitmap.pgsize': 4n * K });
        const bisect = p.ioctl('VFIO_IOMMU_DIRTY_PAGES', v('c'), { positional: GET, iova: 0, size: 1n * M, 'bitmap.pgsize': 4n * K }, { expect: 'EINVAL' });
        const badPg = p.ioctl('VFIO_IOMMU_DIRTY_PAGES', v('c'), { positional: GET, iova: 0, size: 2n * M, 'bitmap.pgsize': 2n * M }, { expect: 'EINVAL' });
        p.ioctl('VFIO_IOMMU_DIRTY_PAGES', v('c'), { positional: STOP });
        const stopped = p.ioctl('VFIO_IOMMU_DIRTY_PAGES', v('c'), { positional: GET, iova: 0, size: 2n * M, 'bitmap.pgsize': 4n * K }, { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, notStarted, 'EINVAL', /not started/);
        expectStep(run, two, 'EINVAL', /exactly one of START, STOP, GET_BITMAP/);
        expect(valueOf(run, all, 'dirty_pages')).toBe(1024n);
        expectStep(run, bisect, 'EINVAL', /bisects a mapping/);
        expectStep(run, badPg, 'EINVAL', /smallest IOMMU page \(4K\)/);
        expectStep(run, stopped, 'EINVAL', /not started/);
    });
});
