/**
 * HWPT objects (engine/iommufd/hw-pagetable.ts): IOMMU_HWPT_ALLOC for paging and nested HWPTs,
 * dirty tracking, user cache invalidation (kernel-semantics 5.9, 5.11, 5.12).
 */
import { describe, expect, test } from 'vitest';
import { expectAllMatched, expectStep, scenario, v } from '../scenario.js';
import {
    ALLOC_PASID, DIRTY_TRACKING, FAULT_ID_VALID, FIXED_IOVA, K, M, NEST_PARENT, RW, arr, bindAll, ctxOf, finalKernel, full, machineWith, vtdUnit,
} from './helpers.js';

function setup(machine = full) {
    const s = scenario(machine);
    bindAll(s, 'vmm', ['nvme0', 'nic0']);
    const p = s.process('vmm');
    p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
    return { s, p };
}

describe('IOMMU_HWPT_ALLOC on an IOAS (paging)', () => {
    test('checks in kernel order: __reserved, data pairing, dev_id ENOENT, pt_id EINVAL (not ENOENT)', () => {
        const { s, p } = setup();
        const rsv = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: 99, pt_id: v('ioas'), __reserved: 1 }, { expect: 'EOPNOTSUPP' });
        const pair = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: 99, pt_id: v('ioas'), data_type: 1 }, { expect: 'EINVAL' });
        const pair2 = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: 99, pt_id: v('ioas'), data_len: 24 }, { expect: 'EINVAL' });
        const dev = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('ioas'), pt_id: v('ioas') }, { expect: 'ENOENT' });
        const pt = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: 77 }, { expect: 'EINVAL' });
        const kind = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('nic0_id') }, { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, rsv, 'EOPNOTSUPP', /__reserved/);
        expectStep(run, pair, 'EINVAL', /data_type 1 with data_len 0/);
        expectStep(run, pair2, 'EINVAL', /data_len 24 without a data_type/);
        expectStep(run, dev, 'ENOENT', /dev_id 3 is not a DEVICE of iommufd 1 \(it is IOAS 3\)/);
        expectStep(run, pt, 'EINVAL', /pt_id 77 is not an object of iommufd 1 \(IOMMU_HWPT_ALLOC says EINVAL, not ENOENT\)/);
        expectStep(run, kind, 'EINVAL', /DEVICE 2 .*a HWPT is allocated on an IOAS, a NEST_PARENT HWPT or a vIOMMU/);
    });

    test('flags: unknown EOPNOTSUPP, FAULT_ID_VALID with NEST_PARENT EOPNOTSUPP, user data EOPNOTSUPP, FAULT_ID_VALID needs a FAULT (ENOENT)', () => {
        const { s, p } = setup();
        const unknown = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas'), flags: 0x10 }, { expect: 'EOPNOTSUPP' });
        const combo = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas'), flags: NEST_PARENT | FAULT_ID_VALID }, { expect: 'EOPNOTSUPP' });
        const data = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas'), data_type: 1, data_len: 24, data_uptr: 0x1000 }, { expect: 'EOPNOTSUPP' });
        const fault = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas'), flags: FAULT_ID_VALID, fault_id: 42 }, { expect: 'ENOENT' });
        const after = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas') });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, unknown, 'EOPNOTSUPP', /flags 0x10 are not IOMMU_HWPT_ALLOC flags/);
        expectStep(run, combo, 'EOPNOTSUPP', /FAULT_ID_VALID cannot be combined with NEST_PARENT/);
        expectStep(run, data, 'EOPNOTSUPP', /takes no user data/);
        expectStep(run, fault, 'ENOENT', /fault_id 42 is not a FAULT/);
        // Failed allocations released their ids.
        expect(run.results[after]!.values.out_hwpt_id?.value).toBe(4n);
    });

    test('DIRTY_TRACKING needs the capability; NEST_PARENT needs nesting (EOPNOTSUPP)', () => {
        const { s, p } = setup(machineWith(vtdUnit(['coherent', 'enforce-coherency', 'intr-remap'])));
        const dirty = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas'), flags: DIRTY_TRACKING }, { expect: 'EOPNOTSUPP' });
        const nest = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas'), flags: NEST_PARENT }, { expect: 'EOPNOTSUPP' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, dirty, 'EOPNOTSUPP', /no dirty tracking \(IOMMU_CAP_DIRTY_TRACKING\)/);
        expectStep(run, nest, 'EOPNOTSUPP', /does not support nesting/);
    });

    test('the new domain is filled from existing mappings; areas beyond its aperture are EADDRINUSE', () => {
        const { s, p } = setup();
        p.mmap(64n * K, 'ram');
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 64n * K, iova: 1n << 47n, flags: FIXED_IOVA | RW });
        const fs = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas') }, { expect: 'EADDRINUSE' });
        const ss = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas'), flags: DIRTY_TRACKING }, { bind: 'ss' });
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ss') });
        const d = p.dma('nvme0', 'read', 1n << 47n, 8n);
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, fs, 'EADDRINUSE', /beyond domain \d+'s aperture .* cannot be reserved: the mapping \[0x800000000000, 0x80000000ffff\] is there/);
        expectStep(run, ss, 'ok');
        expectStep(run, d, 'ok');
    });

    test('a HWPT is not attached by HWPT_ALLOC; it cannot be destroyed while attached, and can after', () => {
        const { s, p } = setup();
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas') }, { bind: 'h' });
        const blocked = p.dma('nvme0', 'read', 0n, 8n, { expect: 'fault' });
        const ioasBusy = p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('ioas') }, { expect: 'EBUSY' });
        p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('h') });
        p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('ioas') });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, blocked, 'fault', /blocking domain/);
        expectStep(run, ioasBusy, 'EBUSY', /HWPT 4 maps it/);
        expect([...ctxOf(run).objects.keys()]).toEqual([1, 2]);
    });
});

describe('nested HWPTs (VT-d stage 1 on a NEST_PARENT)', () => {
    test('the parent must be a NEST_PARENT, non-auto HWPT; the data a 24-byte IOMMU_HWPT_DATA_VTD_S1', () => {
        const { s, p } = setup();
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nic0_fd'), { pt_id: v('ioas') }, { bind: 'auto' });
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas') }, { bind: 'plain' });
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas'), flags: NEST_PARENT }, { bind: 'parent' });
        const s1 = arr([{ flags: 0, pgtbl_addr: 0x10_0000, addr_width: 48 }]);
        const noData = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('parent') }, { expect: 'EOPNOTSUPP' });
        const flags = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('parent'), flags: NEST_PARENT, data_type: 1, data_uptr: s1 }, { expect: 'EOPNOTSUPP' });
        const auto = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('auto'), data_type: 1, data_uptr: s1 }, { expect: 'EINVAL' });
        const plain = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('plain'), data_type: 1, data_uptr: s1 }, { expect: 'EINVAL' });
        const type = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('parent'), data_type: 2, data_len: 16, data_uptr: s1 }, { expect: 'EOPNOTSUPP' });
        const short = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('parent'), data_type: 1, data_len: 16, data_uptr: s1 }, { expect: 'EINVAL' });
        const null_ = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('parent'), data_type: 1, data_len: 24 }, { expect: 'EFAULT' });
        const ok = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('parent'), data_type: 1, data_uptr: s1 }, { bind: 'nested' });
        const nestedAsPt = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('nested'), data_type: 1, data_uptr: s1 }, { expect: 'EINVAL' });
        const busy = p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('parent') }, { expect: 'EBUSY' });
        const attach = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('nested') });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, noData, 'EOPNOTSUPP', /needs driver data/);
        expectStep(run, flags, 'EOPNOTSUPP', /a nested HWPT takes only FAULT_ID_VALID and PASID/);
        expectStep(run, auto, 'EINVAL', /is an auto HWPT/);
        expectStep(run, plain, 'EINVAL', /was not allocated with IOMMU_HWPT_ALLOC_NEST_PARENT/);
        expectStep(run, type, 'EOPNOTSUPP', /not IOMMU_HWPT_DATA_VTD_S1/);
        expectStep(run, short, 'EINVAL', /data_len 16 does not fit struct iommu_hwpt_vtd_s1/);
        expectStep(run, null_, 'EFAULT', /data_uptr is NULL/);
        expectStep(run, ok, 'ok');
        expectStep(run, nestedAsPt, 'EINVAL', /nested HWPT \d+: a HWPT is allocated on/);
        expectStep(run, busy, 'EBUSY', /is nested on it/);
        expectStep(run, attach, 'ok');
        const k = finalKernel(run);
        const ctx = ctxOf(run);
        const nested = ctx.objects.get(Number(run.results[ok]!.values.out_hwpt_id!.value))!;
        expect(nested.type).toBe('hwpt_nested');
        const dom = k.domains.get((nested as { domain: number }).domain)!;
        expect(dom.type).toBe('nested');
        expect(dom.nested).toMatchObject({ dataType: 'vtd-s1', root: 0x10_0000n, addressWidth: 48 });
    });

    test('IOMMU_HWPT_INVALIDATE: entry_num is written back, also on failure', () => {
        const { s, p } = setup();
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas'), flags: NEST_PARENT }, { bind: 'parent' });
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('parent'), data_type: 1, data_uptr: arr([{ pgtbl_addr: 0x1000, addr_width: 48 }]) }, { bind: 'nested' });
        const ok = p.ioctl('IOMMU_HWPT_INVALIDATE', v('iommufd'), { hwpt_id: v('nested'), data_type: 0, data_uptr: arr([{ addr: 0, npages: -1 }, { addr: 0x2000, npages: 1, flags: 1 }]) }, { expect: 'ok', fields: { entry_num: 2 } });
        const bad = p.ioctl('IOMMU_HWPT_INVALIDATE', v('iommufd'), { hwpt_id: v('nested'), data_type: 0, data_uptr: arr([{ addr: 0x1000, npages: 1 }, { addr: 0x1001, npages: 1 }, { addr: 0, npages: 1 }]) }, { expect: 'EINVAL', fields: { entry_num: 1 } });
        const flags = p.ioctl('IOMMU_HWPT_INVALIDATE', v('iommufd'), { hwpt_id: v('nested'), data_type: 0, data_uptr: arr([{ addr: 0, npages: 1, flags: 2 }]) }, { expect: 'EOPNOTSUPP', fields: { entry_num: 0 } });
        const type = p.ioctl('IOMMU_HWPT_INVALIDATE', v('iommufd'), { hwpt_id: v('nested'), data_type: 1, entry_num: 0 }, { expect: 'EINVAL' });
        const paging = p.ioctl('IOMMU_HWPT_INVALIDATE', v('iommufd'), { hwpt_id: v('parent'), data_type: 0, entry_num: 0 }, { expect: 'EINVAL' });
        const noent = p.ioctl('IOMMU_HWPT_INVALIDATE', v('iommufd'), { hwpt_id: 99, entry_num: 0 }, { expect: 'ENOENT' });
        const nulls = p.ioctl('IOMMU_HWPT_INVALIDATE', v('iommufd'), { hwpt_id: v('nested'), entry_num: 2 }, { expect: 'EINVAL' });
        const big = p.ioctl('IOMMU_HWPT_INVALIDATE', v('iommufd'), { hwpt_id: v('nested'), data_type: 0, entry_len: 32, data_uptr: arr([{ addr: 0, npages: 1 }]) }, { expect: 'ok', fields: { entry_num: 1 } });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, ok, 'ok');
        expectStep(run, bad, 'EINVAL', /entry 1: addr 0x1001 is not 4 KiB aligned/);
        expectStep(run, flags, 'EOPNOTSUPP', /only IOMMU_VTD_INV_FLAGS_LEAF/);
        expectStep(run, type, 'EINVAL', /data_type 1 is not IOMMU_HWPT_INVALIDATE_DATA_VTD_S1/);
        expectStep(run, paging, 'EINVAL', /HWPT \d+: only a nested HWPT or a vIOMMU/);
        expectStep(run, noent, 'ENOENT');
        expectStep(run, nulls, 'EINVAL', /entry_num 2 with a NULL data_uptr/);
        expectStep(run, big, 'ok');
    });
});

describe('dirty tracking', () => {
    test('SET_DIRTY_TRACKING needs a DIRTY_TRACKING HWPT; DMA writes set dirty bits; GET_DIRTY_BITMAP reads (and clears) them', () => {
        const { s, p } = setup();
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas') }, { bind: 'plain' });
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas'), flags: DIRTY_TRACKING }, { bind: 'dirty' });
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('dirty') });
        p.mmap(64n * K, 'ram');
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 64n * K, iova: 0x10_0000n, flags: FIXED_IOVA | RW });
        const noops = p.ioctl('IOMMU_HWPT_SET_DIRTY_TRACKING', v('iommufd'), { hwpt_id: v('plain'), flags: 1 }, { expect: 'EOPNOTSUPP' });
        const badflags = p.ioctl('IOMMU_HWPT_SET_DIRTY_TRACKING', v('iommufd'), { hwpt_id: v('dirty'), flags: 2 }, { expect: 'EOPNOTSUPP' });
        const noent = p.ioctl('IOMMU_HWPT_SET_DIRTY_TRACKING', v('iommufd'), { hwpt_id: v('ioas'), flags: 1 }, { expect: 'ENOENT' });
        p.dma('nvme0', 'write', 0x10_1000n, 8n);
        p.ioctl('IOMMU_HWPT_SET_DIRTY_TRACKING', v('iommufd'), { hwpt_id: v('dirty'), flags: 1 });
        p.dma('nvme0', 'write', 0x10_2000n, 8n);
        p.dma('nvme0', 'write', 0x10_f000n, 8n);
        p.dma('nvme0', 'read', 0x10_3000n, 8n);
        const bm = p.ioctl('IOMMU_HWPT_GET_DIRTY_BITMAP', v('iommufd'), { hwpt_id: v('dirty'), iova: 0x10_0000n, length: 64n * K, page_size: 4096, data: 0x1000, flags: 1 });
        const bm2 = p.ioctl('IOMMU_HWPT_GET_DIRTY_BITMAP', v('iommufd'), { hwpt_id: v('dirty'), iova: 0x10_0000n, length: 64n * K, page_size: 4096, data: 0x1000 });
        const bm3 = p.ioctl('IOMMU_HWPT_GET_DIRTY_BITMAP', v('iommufd'), { hwpt_id: v('dirty'), iova: 0x10_0000n, length: 64n * K, page_size: 4096, data: 0x1000 });
        const unaligned = p.ioctl('IOMMU_HWPT_GET_DIRTY_BITMAP', v('iommufd'), { hwpt_id: v('dirty'), iova: 0x10_0800n, length: 4096, page_size: 4096 }, { expect: 'EINVAL' });
        const ps0 = p.ioctl('IOMMU_HWPT_GET_DIRTY_BITMAP', v('iommufd'), { hwpt_id: v('dirty'), iova: 0x10_0000n, length: 4096, page_size: 0 }, { expect: 'EINVAL' });
        const plainBm = p.ioctl('IOMMU_HWPT_GET_DIRTY_BITMAP', v('iommufd'), { hwpt_id: v('plain'), iova: 0x10_0000n, length: 4096, page_size: 4096 }, { expect: 'EOPNOTSUPP' });
        const noclearFlags = p.ioctl('IOMMU_HWPT_GET_DIRTY_BITMAP', v('iommufd'), { hwpt_id: v('dirty'), iova: 0x10_0000n, length: 4096, page_size: 4096, flags: 2 }, { expect: 'EOPNOTSUPP' });
        const hole = p.ioctl('IOMMU_HWPT_GET_DIRTY_BITMAP', v('iommufd'), { hwpt_id: v('dirty'), iova: 0, length: 2n * M, page_size: 4096 });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, noops, 'EOPNOTSUPP', /not allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING/);
        expectStep(run, badflags, 'EOPNOTSUPP');
        expectStep(run, noent, 'ENOENT', /hwpt_id 3 is not a HWPT/);
        // Writes before tracking was enabled were cleared by the enable; reads are not dirty.
        expect(run.results[bm]!.values['data[0]']?.value).toBe((1n << 2n) | (1n << 15n));
        expect(run.results[bm2]!.values['data[0]']?.value).toBe((1n << 2n) | (1n << 15n));
        expect(run.results[bm3]!.values['data[0]']?.value).toBe(0n);
        expectStep(run, unaligned, 'EINVAL', /not aligned to the IOAS's alignment 4K/);
        expectStep(run, ps0, 'EINVAL', /page_size is 0/);
        expectStep(run, plainBm, 'EOPNOTSUPP', /no dirty tracking ops/);
        expectStep(run, noclearFlags, 'EOPNOTSUPP');
        // A range starting in a hole reports nothing and still succeeds.
        expect(run.results[hole]!.values.dirty_pages?.value).toBe(0n);
    });
});
