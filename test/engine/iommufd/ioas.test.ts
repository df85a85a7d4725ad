/**
 * IOAS ioctls (engine/iommufd/ioas.ts, io-pagetable.ts, pages.ts): every rule of
 * kernel-semantics 5.4 with its errno and reason, lazy pinning, accounting, UNMAP progress.
 */
import { describe, expect, test } from 'vitest';
import { add, expectAllMatched, expectStep, n, scenario, v, vfioDevice } from '../scenario.js';
import { FIXED_IOVA, G, K, M, READABLE, RW, WRITEABLE, arr, bindAll, ctxOf, finalKernel, full, memfd } from './helpers.js';

function fresh() {
    const s = scenario(full);
    const p = s.process('vmm');
    p.open({ kind: 'literal', path: '/dev/iommu' }, 'iommufd');
    p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
    return { s, p };
}

describe('IOMMU_IOAS_ALLOC', () => {
    test('flags must be 0 (EOPNOTSUPP); ids are the lowest free from 1 and are reused', () => {
        const { s, p } = fresh();
        const bad = p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), { flags: 1 }, { expect: 'EOPNOTSUPP' });
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'two' });
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'three' });
        p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('two') });
        const again = p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {});
        const next = p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {});
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, bad, 'EOPNOTSUPP', /flags 0x1 must be 0/);
        expect(run.results[again]!.values.out_ioas_id?.value).toBe(2n);
        expect(run.results[next]!.values.out_ioas_id?.value).toBe(4n);
    });
});

describe('IOMMU_IOAS_IOVA_RANGES', () => {
    test('fresh IOAS: one range over the whole 64-bit space, alignment 1', () => {
        const { s, p } = fresh();
        const r = p.ioctl('IOMMU_IOAS_IOVA_RANGES', v('iommufd'), { ioas_id: v('ioas'), num_iovas: 1 }, { expect: 'ok', fields: { num_iovas: 1, out_iova_alignment: 1 } });
        const run = s.run();
        expectAllMatched(run);
        expect(run.results[r]!.values['allowed_iovas[0].start']?.value).toBe(0n);
    });

    test('EMSGSIZE still writes num_iovas and the ranges that fit', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas') });
        const r = p.ioctl('IOMMU_IOAS_IOVA_RANGES', v('iommufd'), { ioas_id: v('ioas'), num_iovas: 1 }, { expect: 'EMSGSIZE', fields: { num_iovas: 2 } });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, r, 'EMSGSIZE', /has 2 usable ranges but num_iovas leaves room for 1/);
        expect(run.results[r]!.values['allowed_iovas[0].last']?.value).toBe(0xfedf_ffffn);
        expect(run.results[r]!.values['allowed_iovas[1].start']).toBeUndefined();
    });

    test('__reserved is EOPNOTSUPP, a non-IOAS id ENOENT', () => {
        const { s, p } = fresh();
        const a = p.ioctl('IOMMU_IOAS_IOVA_RANGES', v('iommufd'), { ioas_id: v('ioas'), __reserved: 1 }, { expect: 'EOPNOTSUPP' });
        const b = p.ioctl('IOMMU_IOAS_IOVA_RANGES', v('iommufd'), { ioas_id: 7 }, { expect: 'ENOENT' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, a, 'EOPNOTSUPP', /__reserved/);
        expectStep(run, b, 'ENOENT', /ioas_id 7 is not an IOAS of iommufd 1 \(no such object\)/);
    });
});

describe('IOMMU_IOAS_ALLOW_IOVAS', () => {
    test('start must be below last, ranges must not overlap (EINVAL)', () => {
        const { s, p } = fresh();
        const one = p.ioctl('IOMMU_IOAS_ALLOW_IOVAS', v('iommufd'), { ioas_id: v('ioas'), allowed_iovas: arr([{ start: 0x1000, last: 0x1000 }]) }, { expect: 'EINVAL' });
        const two = p.ioctl('IOMMU_IOAS_ALLOW_IOVAS', v('iommufd'), { ioas_id: v('ioas'), allowed_iovas: arr([{ start: 0, last: 0xffff }, { start: 0x8000, last: 0x1_ffff }]) }, { expect: 'EINVAL' });
        const res = p.ioctl('IOMMU_IOAS_ALLOW_IOVAS', v('iommufd'), { ioas_id: v('ioas'), __reserved: 1 }, { expect: 'EOPNOTSUPP' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, one, 'EINVAL', /start must be below last/);
        expectStep(run, two, 'EINVAL', /overlaps \[0x0, 0xffff\]/);
        expectStep(run, res, 'EOPNOTSUPP', /__reserved/);
    });

    test('an allowed range may not meet a reservation (EADDRINUSE), and later reservations may not meet allowed ranges', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0', 'nic0']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas') });
        const clash = p.ioctl('IOMMU_IOAS_ALLOW_IOVAS', v('iommufd'), { ioas_id: v('ioas'), allowed_iovas: arr([{ start: 0xfe00_0000, last: 0xfeff_ffff }]) }, { expect: 'EADDRINUSE' });
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas2' });
        p.ioctl('IOMMU_IOAS_ALLOW_IOVAS', v('iommufd'), { ioas_id: v('ioas2'), allowed_iovas: arr([{ start: 0, last: 0xffff_ffff }]) });
        const attach = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nic0_fd'), { pt_id: v('ioas2') }, { expect: 'EADDRINUSE' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, clash, 'EADDRINUSE', /meets the reserved range \[0xfee00000, 0xfeefffff\] \(MSI window of 0000:01:00\.0 \(nvme0\)\)/);
        expectStep(run, attach, 'EADDRINUSE', /MSI window of 0000:02:00\.0 \(nic0\).*meets the allowed range \[0x0, 0xffffffff\]/);
    });
});

describe('IOMMU_IOAS_MAP', () => {
    test('argument checks in kernel order', () => {
        const { s, p } = fresh();
        p.mmap(2n * M, 'ram');
        const flags = p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 4096, flags: 8n | RW }, { expect: 'EOPNOTSUPP' });
        const rsv = p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 4096, flags: RW, __reserved: 1 }, { expect: 'EOPNOTSUPP' });
        const ovf = p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 4096, iova: -1, flags: FIXED_IOVA | RW }, { expect: 'EOVERFLOW' });
        const norw = p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: 9, user_va: v('ram'), length: 4096, flags: FIXED_IOVA }, { expect: 'EINVAL' });
        const noent = p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: 9, user_va: v('ram'), length: 4096, flags: RW }, { expect: 'ENOENT' });
        const uva = p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: -4096, length: 8192, flags: RW }, { expect: 'EOVERFLOW' });
        const zero = p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 0, flags: RW }, { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, flags, 'EOPNOTSUPP', /flags 0x8 are not IOMMU_IOAS_MAP flags/);
        expectStep(run, rsv, 'EOPNOTSUPP', /__reserved must be 0/);
        expectStep(run, ovf, 'EOVERFLOW', /iova 0xffffffffffffffff is ULONG_MAX or more/);
        expectStep(run, norw, 'EINVAL', /neither READABLE nor WRITEABLE/);
        expectStep(run, noent, 'ENOENT', /ioas_id 9/);
        expectStep(run, uva, 'EOVERFLOW', /wraps around 2\^64/);
        expectStep(run, zero, 'EINVAL', /length is 0/);
    });

    test('without a domain MAP records but does not pin: an unmapped user VA only fails at attach (EFAULT)', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        const map = p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: 0x1234_5000, length: 64n * K, iova: 0x10_0000, flags: FIXED_IOVA | RW });
        const attach = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas') }, { expect: 'EFAULT' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, map, 'ok');
        expectStep(run, attach, 'EFAULT', /user address 0x12345000 is not mapped/);
        // The attach changed nothing: the auto HWPT's id was released, the group is still blocked.
        const ctx = ctxOf(run);
        expect([...ctx.objects.keys()]).toEqual([1, 2]);
    });

    test('with a domain MAP pins at once: EFAULT from MAP itself', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas') });
        const map = p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: 0x1234_5000, length: 64n * K, iova: 0x10_0000, flags: FIXED_IOVA | RW }, { expect: 'EFAULT' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, map, 'EFAULT', /not mapped in the process/);
    });

    test('FIXED_IOVA: reserved range EINVAL, existing area EEXIST, misaligned EINVAL once a domain sets 4K', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas') });
        p.mmap(2n * M, 'ram');
        const msi = p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 2n * M, iova: 0xfee0_0000n, flags: FIXED_IOVA | RW }, { expect: 'EINVAL' });
        const high = p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 4096, iova: 1n << 47n, flags: FIXED_IOVA | RW }, { expect: 'EINVAL' });
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 64n * K, iova: 0x10_0000n, flags: FIXED_IOVA | RW });
        const dup = p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 4096, iova: 0x10_8000n, flags: FIXED_IOVA | RW }, { expect: 'EEXIST' });
        const mis = p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 4096, iova: 0x20_0800n, flags: FIXED_IOVA | RW }, { expect: 'EINVAL' });
        const len = p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 100, iova: 0x20_0000n, flags: FIXED_IOVA | RW }, { expect: 'EINVAL' });
        const off = p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: add(v('ram'), n(0x10)), length: 4096, iova: 0x20_0000n, flags: FIXED_IOVA | RW }, { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, msi, 'EINVAL', /meets the reserved range \[0xfee00000, 0xfeefffff\] \(MSI window of/);
        expectStep(run, high, 'EINVAL', /beyond domain \d+'s aperture \(it ends at 0x7fffffffffff\)/);
        expectStep(run, dup, 'EEXIST', /overlaps the existing mapping \[0x100000, 0x10ffff\]/);
        expectStep(run, mis, 'EINVAL', /iova 0x200800 is not a multiple of the IOAS's alignment 4K/);
        expectStep(run, len, 'EINVAL', /length 0x64 is not a multiple of IOAS 2's alignment 4K/);
        expectStep(run, off, 'EINVAL', /starts 0x10 into its page/);
    });

    test('auto IOVA: aligned to min(roundup_pow_of_two(length), user_va alignment, 2M), never page 0', () => {
        const { s, p } = fresh();
        p.mmap(4n * M, 'big');
        p.mmap(64n * K, 'small');
        const a = p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('small'), length: 12n * K, flags: RW });
        const b = p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('big'), length: 4n * M, flags: RW });
        const c = p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: add(v('small'), n(0x123)), length: 0x100, flags: RW });
        const run = s.run();
        expectAllMatched(run);
        // 12K rounds up to 16K; the first hole starts at PAGE_SIZE, aligned up to 16K.
        expect(run.results[a]!.values.iova?.value).toBe(0x4000n);
        // 4M is capped at HPAGE_SIZE (2M) alignment.
        expect(run.results[b]!.values.iova?.value).toBe(0x20_0000n);
        // The in-page offset of the user address is kept.
        expect((run.results[c]!.values.iova?.value ?? 0n) % 4096n).toBe(0x123n);
    });

    test('auto IOVA inside allowed ranges; ENOSPC when none fits', () => {
        const { s, p } = fresh();
        p.mmap(64n * K, 'ram');
        p.ioctl('IOMMU_IOAS_ALLOW_IOVAS', v('iommufd'), { ioas_id: v('ioas'), allowed_iovas: arr([{ start: 0x1_0000_0000n, last: 0x1_0000_ffffn }]) });
        const a = p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 64n * K, flags: RW });
        const b = p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 4n * K, flags: RW }, { expect: 'ENOSPC' });
        const run = s.run();
        expectAllMatched(run);
        expect(run.results[a]!.values.iova?.value).toBe(0x1_0000_0000n);
        expectStep(run, b, 'ENOSPC', /inside the allowed ranges/);
    });

    test('huge pages: a 2M hugetlb page at a 2M IOVA is one 2M leaf; HUGE_PAGES=0 maps 4K leaves only', () => {
        for (const huge of [1n, 0n]) {
            const s = scenario(full);
            bindAll(s, 'vmm', ['nvme0']);
            const p = s.process('vmm');
            p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
            p.ioctl('IOMMU_OPTION', v('iommufd'), { option_id: 1, op: 0, object_id: v('ioas'), val64: huge });
            p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas') });
            p.mmap(4n * M, 'ram', { hugepage: 2n * M });
            p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 4n * M, iova: 0x4000_0000n, flags: FIXED_IOVA | RW });
            const d = p.dma('nvme0', 'read', 0x4010_0000n, 8n);
            const run = s.run();
            expectAllMatched(run);
            expect(run.results[d]!.dma!.segments[0]!.pageSize).toBe(huge ? 2n * M : 4n * K);
        }
    });
});

describe('IOMMU_IOAS_UNMAP', () => {
    test('never splits an area: ENOENT, and areas unmapped before the failing one stay unmapped', () => {
        const { s, p } = fresh();
        p.mmap(64n * K, 'ram');
        for (const iova of [0x1_0000n, 0x2_0000n, 0x3_0000n]) {
            p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 64n * K, iova, flags: FIXED_IOVA | RW });
        }
        const cut = p.ioctl('IOMMU_IOAS_UNMAP', v('iommufd'), { ioas_id: v('ioas'), iova: 0x1_0000n, length: 0x2_8000n }, { expect: 'ENOENT' });
        const left = p.ioctl('IOMMU_IOAS_IOVA_RANGES', v('iommufd'), { ioas_id: v('ioas'), num_iovas: 1 });
        const again = p.ioctl('IOMMU_IOAS_UNMAP', v('iommufd'), { ioas_id: v('ioas'), iova: 0x1_0000n, length: 0x1_0000n }, { expect: 'ENOENT' });
        const all = p.ioctl('IOMMU_IOAS_UNMAP', v('iommufd'), { ioas_id: v('ioas'), iova: 0, length: -1 }, { expect: 'ok', fields: { length: 0x1_0000 } });
        const empty = p.ioctl('IOMMU_IOAS_UNMAP', v('iommufd'), { ioas_id: v('ioas'), iova: 0, length: -1 }, { expect: 'ok', fields: { length: 0 } });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, cut, 'ENOENT', /cuts the mapping \[0x30000, 0x3ffff\].*128K before it were unmapped and stay unmapped/);
        expect(run.results[cut]!.values.length).toBeUndefined();
        expect(run.results[left]!.values.num_iovas?.value).toBe(1n);
        expectStep(run, again, 'ENOENT', /nothing is mapped in \[0x10000, 0x1ffff\]/);
        expectStep(run, all, 'ok');
        expectStep(run, empty, 'ok');
    });

    test('length 0 EINVAL, wrap EOVERFLOW, unknown IOAS ENOENT first', () => {
        const { s, p } = fresh();
        const zero = p.ioctl('IOMMU_IOAS_UNMAP', v('iommufd'), { ioas_id: v('ioas'), iova: 0x1000, length: 0 }, { expect: 'EINVAL' });
        const wrap = p.ioctl('IOMMU_IOAS_UNMAP', v('iommufd'), { ioas_id: v('ioas'), iova: -4096, length: 0x2000 }, { expect: 'EOVERFLOW' });
        const noent = p.ioctl('IOMMU_IOAS_UNMAP', v('iommufd'), { ioas_id: 5, iova: 0, length: 0 }, { expect: 'ENOENT' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, zero, 'EINVAL', /length is 0/);
        expectStep(run, wrap, 'EOVERFLOW');
        expectStep(run, noent, 'ENOENT', /ioas_id 5/);
    });
});

describe('IOMMU_IOAS_COPY', () => {
    test('shares the pinned pages: charged once, and a WRITEABLE copy of read-only pages is EPERM', () => {
        const s = scenario(full);
        s.process('vmm', { uid: 1000, memlock: 1n * M, caps: [] });
        bindAll(s, 'vmm', ['nvme0'], { rebind: false });
        const root = s.process('root');
        root.unbind('nvme0');
        root.bind('nvme0', 'vfio-pci');
        // Rebinding needs root; the iommufd work is done by the unprivileged vmm.
        s.steps.unshift(...s.steps.splice(s.steps.length - 2, 2));
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'a' });
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'b' });
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('a') });
        p.mmap(512n * K, 'ram');
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('a'), user_va: v('ram'), length: 512n * K, iova: 0x10_0000n, flags: FIXED_IOVA | READABLE });
        const copy = p.ioctl('IOMMU_IOAS_COPY', v('iommufd'), { src_ioas_id: v('a'), dst_ioas_id: v('b'), src_iova: 0x10_0000n, length: 512n * K, flags: READABLE }, { bind: 'iova_b' });
        const eperm = p.ioctl('IOMMU_IOAS_COPY', v('iommufd'), { src_ioas_id: v('a'), dst_ioas_id: v('b'), src_iova: 0x10_0000n, length: 4n * K, flags: RW }, { expect: 'EPERM' });
        const hole = p.ioctl('IOMMU_IOAS_COPY', v('iommufd'), { src_ioas_id: v('a'), dst_ioas_id: v('b'), src_iova: 0x18_0000n, length: 4n * K, flags: READABLE }, { expect: 'ENOENT' });
        const nodst = p.ioctl('IOMMU_IOAS_COPY', v('iommufd'), { src_ioas_id: v('a'), dst_ioas_id: 9, src_iova: 0x10_0000n, length: 4n * K, flags: READABLE }, { expect: 'ENOENT' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, copy, 'ok');
        expectStep(run, eperm, 'EPERM', /source pages were mapped without WRITEABLE/);
        expectStep(run, hole, 'ENOENT', /not fully covered by mappings: the first hole is at 0x180000/);
        expectStep(run, nodst, 'ENOENT', /dst_ioas_id 9/);
        // USER accounting: 512K charged to uid 1000 once.
        expect(finalKernel(run).userLockedVm.get(1000)).toBe(128n);
    });
});

describe('accounting (RLIMIT_MEMLOCK)', () => {
    function limited(mode: 'user' | 'mm') {
        const s = scenario(full);
        const root = s.process('root');
        root.unbind('nvme0');
        root.bind('nvme0', 'vfio-pci');
        s.process('vmm', { uid: 1000, memlock: 1n * M, caps: mode === 'mm' ? ['CAP_SYS_RESOURCE'] : [] });
        bindAll(s, 'vmm', ['nvme0'], { rebind: false });
        const p = s.process('vmm');
        if (mode === 'mm') {
            // The mode changes only while the ctx is empty: before the bind made a DEVICE.
            s.steps.splice(s.steps.length - 2, 0, { op: 'ioctl', ioctl: 'IOMMU_OPTION', fd: v('iommufd'), fields: { option_id: { kind: 'expr', expr: n(0) }, op: { kind: 'expr', expr: n(0) }, val64: { kind: 'expr', expr: n(1) } }, process: 'vmm' });
        }
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        p.mmap(2n * M, 'ram');
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 512n * K, iova: 0x10_0000n, flags: FIXED_IOVA | RW });
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: add(v('ram'), n(512n * K)), length: 1n * M, iova: 0x20_0000n, flags: FIXED_IOVA | RW });
        const attach = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas') }, { expect: 'ENOMEM' });
        p.ioctl('IOMMU_IOAS_UNMAP', v('iommufd'), { ioas_id: v('ioas'), iova: 0x20_0000n, length: 1n * M });
        const ok = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas') });
        const over = p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: add(v('ram'), n(512n * K)), length: 1n * M, iova: 0x20_0000n, flags: FIXED_IOVA | RW }, { expect: 'ENOMEM' });
        const run = s.run();
        expectAllMatched(run);
        return { run, attach, ok, over };
    }

    test('USER mode: user->locked_vm of the uid; ENOMEM surfaces at attach (lazy pin), then at MAP', () => {
        const { run, attach, over } = limited('user');
        expectStep(run, attach, 'ENOMEM', /uid 1000.*user->locked_vm/);
        expectStep(run, over, 'ENOMEM', /exceed RLIMIT_MEMLOCK \(1M\) of uid 1000/);
        const k = finalKernel(run);
        expect(k.userLockedVm.get(1000)).toBe(128n);
        expect(k.processes.get('vmm')!.mm.locked_vm).toBe(0n);
    });

    test('MM mode: the process\'s mm->locked_vm', () => {
        const { run, attach, over } = limited('mm');
        expectStep(run, attach, 'ENOMEM', /RLIMIT_MEMLOCK/);
        expectStep(run, over, 'ENOMEM');
        const k = finalKernel(run);
        expect(k.processes.get('vmm')!.mm.locked_vm).toBe(128n);
        expect(k.userLockedVm.get(1000) ?? 0n).toBe(0n);
    });

    test('detaching the last device unpins and uncharges everything', () => {
        const s = scenario(full);
        const root = s.process('root');
        root.unbind('nvme0');
        root.bind('nvme0', 'vfio-pci');
        s.process('vmm', { uid: 1000, memlock: 8n * M, caps: [] });
        bindAll(s, 'vmm', ['nvme0'], { rebind: false });
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        p.mmap(2n * M, 'ram');
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 2n * M, iova: 0x10_0000n, flags: FIXED_IOVA | RW });
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas') });
        const mid = p.ioctl('IOMMU_IOAS_IOVA_RANGES', v('iommufd'), { ioas_id: v('ioas'), num_iovas: 4 });
        p.ioctl('VFIO_DEVICE_DETACH_IOMMUFD_PT', v('nvme0_fd'), {});
        const run = s.run();
        expectAllMatched(run);
        expect(run.ticks[run.results[mid]!.tick]!.state.kernel.userLockedVm.get(1000)).toBe(512n);
        expect(finalKernel(run).userLockedVm.get(1000)).toBe(0n);
        // The auto HWPT went with its last device.
        expect([...ctxOf(run).objects.keys()]).toEqual([1, 2]);
    });
});

describe('IOMMU_IOAS_MAP_FILE and IOMMU_IOAS_CHANGE_PROCESS', () => {
    test('a memfd maps; a non-memfd file is only refused when pinned (EINVAL at attach); a bad fd is EBADF', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        memfd(s, 'vmm', 2n * M, 'mfd');
        const ok = p.ioctl('IOMMU_IOAS_MAP_FILE', v('iommufd'), { ioas_id: v('ioas'), fd: v('mfd'), start: 0, length: 2n * M, flags: RW }, { bind: 'iova' });
        const badfd = p.ioctl('IOMMU_IOAS_MAP_FILE', v('iommufd'), { ioas_id: v('ioas'), fd: 99, start: 0, length: 4096, flags: RW }, { expect: 'EBADF' });
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas2' });
        const lazy = p.ioctl('IOMMU_IOAS_MAP_FILE', v('iommufd'), { ioas_id: v('ioas2'), fd: v('iommufd'), start: 0, length: 4096, flags: RW });
        const attach = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas2') }, { expect: 'EINVAL' });
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas') });
        const d = p.dma('nvme0', 'write', v('iova'), 64n);
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, ok, 'ok');
        expectStep(run, badfd, 'EBADF');
        expectStep(run, lazy, 'ok');
        expectStep(run, attach, 'EINVAL', /\/dev\/iommu is not a memfd/);
        expect(run.results[d]!.dma!.segments.length).toBe(1);
    });

    test('CHANGE_PROCESS: only MAP_FILE mappings (EINVAL), then the accounting follows the caller', () => {
        const s = scenario(full);
        const root = s.process('root');
        root.unbind('nvme0');
        root.bind('nvme0', 'vfio-pci');
        s.process('vmm', { uid: 1000, memlock: 8n * M, caps: ['CAP_SYS_RESOURCE'] });
        bindAll(s, 'vmm', ['nvme0'], { rebind: false });
        s.steps.splice(s.steps.length - 2, 0, { op: 'ioctl', ioctl: 'IOMMU_OPTION', fd: v('iommufd'), fields: { option_id: { kind: 'expr', expr: n(0) }, op: { kind: 'expr', expr: n(0) }, val64: { kind: 'expr', expr: n(1) } }, process: 'vmm' });
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas') });
        memfd(s, 'vmm', 1n * M, 'mfd');
        p.ioctl('IOMMU_IOAS_MAP_FILE', v('iommufd'), { ioas_id: v('ioas'), fd: v('mfd'), start: 0, length: 1n * M, iova: 0x10_0000n, flags: FIXED_IOVA | RW });
        p.fork('child');
        const c = s.process('child');
        const moved = c.ioctl('IOMMU_IOAS_CHANGE_PROCESS', v('iommufd'), {});
        p.mmap(64n * K, 'ram');
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 64n * K, iova: 0x40_0000n, flags: FIXED_IOVA | RW });
        const refused = c.ioctl('IOMMU_IOAS_CHANGE_PROCESS', v('iommufd'), {}, { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, moved, 'ok');
        expectStep(run, refused, 'EINVAL', /maps process memory at \[0x400000, 0x40ffff\]: only IOMMU_IOAS_MAP_FILE mappings/);
        const k = run.ticks[run.results[moved]!.tick]!.state.kernel;
        expect(k.processes.get('vmm')!.mm.locked_vm).toBe(0n);
        expect(k.processes.get('child')!.mm.locked_vm).toBe(256n);
    });
});

describe('IOMMU_OPTION', () => {
    test('RLIMIT_MODE: global (object_id EOPNOTSUPP), CAP_SYS_RESOURCE (EPERM), empty ctx (EBUSY), 0/1 (EINVAL)', () => {
        const s = scenario(full);
        const u = s.process('user', { uid: 1000, caps: [] });
        u.open({ kind: 'literal', path: '/dev/iommu' }, 'fd');
        const perm = u.ioctl('IOMMU_OPTION', v('fd'), { option_id: 0, op: 0, val64: 1 }, { expect: 'EPERM' });
        const p = s.process('root');
        p.open({ kind: 'literal', path: '/dev/iommu' }, 'fd');
        const get = p.ioctl('IOMMU_OPTION', v('fd'), { option_id: 0, op: 1 }, { expect: 'ok', fields: { val64: 0 } });
        const obj = p.ioctl('IOMMU_OPTION', v('fd'), { option_id: 0, op: 1, object_id: 1 }, { expect: 'EOPNOTSUPP' });
        const inval = p.ioctl('IOMMU_OPTION', v('fd'), { option_id: 0, op: 0, val64: 2 }, { expect: 'EINVAL' });
        p.ioctl('IOMMU_OPTION', v('fd'), { option_id: 0, op: 0, val64: 1 });
        p.ioctl('IOMMU_OPTION', v('fd'), { option_id: 0, op: 1 }, { expect: 'ok', fields: { val64: 1 } });
        p.ioctl('IOMMU_IOAS_ALLOC', v('fd'), {});
        const busy = p.ioctl('IOMMU_OPTION', v('fd'), { option_id: 0, op: 0, val64: 0 }, { expect: 'EBUSY' });
        const other = p.ioctl('IOMMU_OPTION', v('fd'), { option_id: 7, op: 1 }, { expect: 'EOPNOTSUPP' });
        const rsv = p.ioctl('IOMMU_OPTION', v('fd'), { option_id: 0, op: 1, __reserved: 1 }, { expect: 'EOPNOTSUPP' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, perm, 'EPERM', /CAP_SYS_RESOURCE/);
        expectStep(run, get, 'ok');
        expectStep(run, obj, 'EOPNOTSUPP', /global/);
        expectStep(run, inval, 'EINVAL', /val64 2/);
        expectStep(run, busy, 'EBUSY', /already has objects/);
        expectStep(run, other, 'EOPNOTSUPP', /option_id 7/);
        expectStep(run, rsv, 'EOPNOTSUPP');
    });

    test('HUGE_PAGES: IOAS looked up first (ENOENT); refused with mappings in domains (EINVAL); realignment EADDRINUSE', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        const noent = p.ioctl('IOMMU_OPTION', v('iommufd'), { option_id: 1, op: 7, object_id: 9 }, { expect: 'ENOENT' });
        const get = p.ioctl('IOMMU_OPTION', v('iommufd'), { option_id: 1, op: 1, object_id: v('ioas') }, { expect: 'ok', fields: { val64: 1 } });
        p.mmap(64n * K, 'ram');
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: add(v('ram'), n(0x800)), length: 0x800, iova: 0x1_0800n, flags: FIXED_IOVA | RW });
        const realign = p.ioctl('IOMMU_OPTION', v('iommufd'), { option_id: 1, op: 0, object_id: v('ioas'), val64: 0 }, { expect: 'EADDRINUSE' });
        p.ioctl('IOMMU_IOAS_UNMAP', v('iommufd'), { ioas_id: v('ioas'), iova: 0, length: -1 });
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas') });
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 64n * K, iova: 0x1_0000n, flags: FIXED_IOVA | RW });
        const busy = p.ioctl('IOMMU_OPTION', v('iommufd'), { option_id: 1, op: 0, object_id: v('ioas'), val64: 0 }, { expect: 'EINVAL' });
        const bad = p.ioctl('IOMMU_OPTION', v('iommufd'), { option_id: 1, op: 0, object_id: v('ioas'), val64: 3 }, { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, noent, 'ENOENT', /object_id 9/);
        expectStep(run, get, 'ok');
        expectStep(run, realign, 'EADDRINUSE', /not aligned to 4K/);
        expectStep(run, busy, 'EINVAL', /already has mappings in 1 domain/);
        expectStep(run, bad, 'EINVAL', /val64 3/);
    });
});

describe('DMA through the IOAS', () => {
    test('a read-only mapping refuses writes, and unmapped IOVA faults', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas') });
        p.mmap(64n * K, 'ram');
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 64n * K, iova: 0x1_0000n, flags: FIXED_IOVA | READABLE });
        const r = p.dma('nvme0', 'read', 0x1_0000n, 64n);
        const w = p.dma('nvme0', 'write', 0x1_0000n, 64n, { expect: 'fault' });
        const x = p.dma('nvme0', 'read', 0x8_0000n, 64n, { expect: 'fault' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, r, 'ok');
        expectStep(run, w, 'fault', /read-only/);
        expectStep(run, x, 'fault', /not mapped/);
        void WRITEABLE;
        void vfioDevice;
    });
});
