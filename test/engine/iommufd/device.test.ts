/**
 * DEVICE objects (engine/iommufd/device.ts, engine/iommu/pasid.ts): binding and DMA ownership,
 * attach / replace / detach on the RID and on PASIDs, auto HWPTs, GET_HW_INFO.
 */
import { describe, expect, test } from 'vitest';
import { expectAllMatched, expectStep, scenario, v, vfioDevice, vfioGroup } from '../scenario.js';
import { ep, pci, rp } from '../machine/builders.js';
import { ALLOC_PASID, ATTACH_PASID, DIRTY_TRACKING, FIXED_IOVA, K, M, RW, accelHost, bindAll, ctxOf, finalKernel, full, machineWith, vtdUnit } from './helpers.js';

describe('iommufd_device_bind (through VFIO_DEVICE_BIND_IOMMUFD)', () => {
    test('EPERM while a sibling of the group is on a kernel driver; fine once it is not', () => {
        const s = scenario(full);
        const p = s.process('vmm');
        p.unbind('nicA');
        p.bind('nicA', 'vfio-pci');
        p.open({ kind: 'literal', path: '/dev/iommu' }, 'iommufd');
        p.open(vfioDevice('nicA'), 'a');
        const perm = p.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('a'), { iommufd: v('iommufd') }, { expect: 'EPERM' });
        p.unbind('nicB');
        const ok = p.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('a'), { iommufd: v('iommufd') });
        const back = p.bind('nicB', 'ixgbe', { expect: 'EBUSY' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, perm, 'EPERM', /group \d+ of 0000:03:00\.0 \(nicA\) is not viable: 0000:03:00\.1 \(nicB\) is bound to ixgbe/);
        expectStep(run, ok, 'ok');
        expectStep(run, back, 'EBUSY', /owned by iommufd 1/);
    });

    test('two devices of one group: same iommufd fine, a different iommufd EPERM', () => {
        const s = scenario(full);
        bindAll(s, 'vm1', ['nicA', 'nicB']);
        const vm2 = s.process('vm2');
        vm2.open({ kind: 'literal', path: '/dev/iommu' }, 'iommufd');
        const p = s.process('vm1');
        p.close(v('nicB_fd'));
        vm2.open(vfioDevice('nicB'), 'b');
        const perm = vm2.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('b'), { iommufd: v('iommufd') }, { expect: 'EPERM' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, perm, 'EPERM', /it is owned by iommufd 1/);
    });

    test('without interrupt remapping: EPERM unless iommufd.allow_unsafe_interrupts=1', () => {
        for (const cmdline of [undefined, 'iommufd.allow_unsafe_interrupts=1']) {
            const s = scenario(machineWith(vtdUnit(['coherent', 'enforce-coherency']), { cmdline }));
            bindAll(s, 'vmm', ['nvme0']);
            const run = s.run();
            const bind = run.results.findIndex((r) => r.op === 'VFIO_DEVICE_BIND_IOMMUFD');
            if (cmdline) {
                expectStep(run, bind, 'ok');
                expect(finalKernel(run).log.some((l) => /MSI interrupts are not secure/.test(l))).toBe(true);
            } else {
                expectStep(run, bind, 'EPERM', /no interrupt remapping.*iommufd\.allow_unsafe_interrupts=1/);
            }
        }
    });

    test('binding blocks the kernel DMA API: the group is in the blocking domain until attach', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0']);
        const d = s.process('vmm').dma('nvme0', 'read', 0x1000n, 8n, { expect: 'fault' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, d, 'fault', /blocking domain/);
    });
});

describe('attach, replace, detach', () => {
    test('pt_id: unknown ENOENT, a DEVICE id EINVAL', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        const noent = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: 42 }, { expect: 'ENOENT' });
        const dev = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('nvme0_id') }, { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, noent, 'ENOENT', /pt_id 42 is not an object of iommufd 1/);
        expectStep(run, dev, 'EINVAL', /DEVICE 1 \(0000:01:00\.0 nvme0\), neither an IOAS nor a HWPT/);
    });

    test('a second attach replaces: the old auto HWPT goes away with its last user, a manual HWPT stays', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas1' });
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas2' });
        const a1 = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas1') }, { bind: 'auto1' });
        const a2 = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas2') });
        const gone = p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('auto1') }, { expect: 'ENOENT' });
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas1') }, { bind: 'manual' });
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('manual') });
        const busy = p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('manual') }, { expect: 'EBUSY' });
        p.ioctl('VFIO_DEVICE_DETACH_IOMMUFD_PT', v('nvme0_fd'), {});
        p.ioctl('VFIO_DEVICE_DETACH_IOMMUFD_PT', v('nvme0_fd'), {});
        const destroy = p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('manual') });
        const run = s.run();
        expectAllMatched(run);
        expect(run.results[a1]!.values.pt_id?.value).toBe(4n);
        // ioas2's auto HWPT takes the lowest free id: 5 (4 is still in use while it is allocated).
        expect(run.results[a2]!.values.pt_id?.value).toBe(5n);
        expectStep(run, gone, 'ENOENT', /id 4 is not an object/);
        expectStep(run, busy, 'EBUSY', /DEVICE 1 \(0000:01:00\.0 nvme0\) is attached to it/);
        expectStep(run, destroy, 'ok');
    });

    test('each device of a group must be attached; the second joins without a hardware change', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nicA', 'nicB']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        p.mmap(64n * K, 'ram');
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 64n * K, iova: 0x1_0000n, flags: FIXED_IOVA | RW });
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nicA_fd'), { pt_id: v('ioas') }, { bind: 'hwpt' });
        const b = p.dma('nicB', 'read', 0x1_0000n, 8n);
        const twice = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nicB_fd'), { pt_id: v('hwpt') });
        p.ioctl('VFIO_DEVICE_DETACH_IOMMUFD_PT', v('nicA_fd'), {});
        const still = p.dma('nicB', 'read', 0x1_0000n, 8n);
        p.ioctl('VFIO_DEVICE_DETACH_IOMMUFD_PT', v('nicB_fd'), {});
        const blocked = p.dma('nicB', 'read', 0x1_0000n, 8n, { expect: 'fault' });
        const run = s.run();
        expectAllMatched(run);
        // DMA follows the group's domain even before nicB's own attach.
        expectStep(run, b, 'ok');
        expectStep(run, twice, 'ok');
        expectStep(run, still, 'ok');
        expectStep(run, blocked, 'fault', /blocking domain/);
    });

    test('a device reserved region meeting an existing mapping: EADDRINUSE, nothing attached', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        p.mmap(2n * M, 'ram');
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 2n * M, iova: 0xfee0_0000n, flags: FIXED_IOVA | RW });
        const a = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas') }, { expect: 'EADDRINUSE' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, a, 'EADDRINUSE', /MSI window of 0000:01:00\.0 \(nvme0\)\) cannot be reserved: the mapping \[0xfee00000, 0xfeffffff\] is there/);
        expect([...ctxOf(run).objects.keys()]).toEqual([1, 2]);
    });

    test('DETACH always succeeds, also with nothing attached', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        const d = p.ioctl('VFIO_DEVICE_DETACH_IOMMUFD_PT', v('nvme0_fd'), {});
        const dp = p.ioctl('VFIO_DEVICE_DETACH_IOMMUFD_PT', v('nvme0_fd'), { flags: ATTACH_PASID, pasid: 5 });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, d, 'ok');
        expectStep(run, dp, 'ok');
    });
});

describe('PASID attach (kernel-semantics 6.3)', () => {
    function setup() {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        p.mmap(64n * K, 'ram');
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 64n * K, iova: 0x1_0000n, flags: FIXED_IOVA | RW });
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas'), flags: ALLOC_PASID }, { bind: 'pasid_hwpt' });
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas') }, { bind: 'plain_hwpt' });
        return { s, p };
    }

    test('an IOAS id on a PASID is always EINVAL (its auto HWPT has flags 0)', () => {
        const { s, p } = setup();
        const a = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas'), flags: ATTACH_PASID, pasid: 1 }, { expect: 'EINVAL' });
        const b = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('plain_hwpt'), flags: ATTACH_PASID, pasid: 1 }, { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, a, 'EINVAL', /was not allocated with IOMMU_HWPT_ALLOC_PASID.*auto HWPT allocated with flags 0/);
        expectStep(run, b, 'EINVAL', /HWPT 4 was not allocated with IOMMU_HWPT_ALLOC_PASID: it cannot be attached to a PASID/);
    });

    test('the RID\'s HWPT must be PASID-compatible too, both ways', () => {
        const { s, p } = setup();
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('plain_hwpt') });
        const a = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('pasid_hwpt'), flags: ATTACH_PASID, pasid: 1 }, { expect: 'EINVAL' });
        p.ioctl('VFIO_DEVICE_DETACH_IOMMUFD_PT', v('nvme0_fd'), {});
        const b = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('pasid_hwpt'), flags: ATTACH_PASID, pasid: 1 });
        const c = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('plain_hwpt') }, { expect: 'EINVAL' });
        const d = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('pasid_hwpt') });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, a, 'EINVAL', /RID of group \d+ is attached to HWPT 4, which was not allocated with IOMMU_HWPT_ALLOC_PASID/);
        expectStep(run, b, 'ok');
        expectStep(run, c, 'EINVAL', /has PASID 1 attached, so its RID needs a HWPT allocated with IOMMU_HWPT_ALLOC_PASID/);
        expectStep(run, d, 'ok');
    });

    test('PASID DMA walks the PASID\'s domain; a second attach replaces; beyond the width EINVAL; detach clears the entry', () => {
        const { s, p } = setup();
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('pasid_hwpt'), flags: ATTACH_PASID, pasid: 7 });
        const d = p.dma('nvme0', 'write', 0x1_0000n, 64n, {}, 7n);
        const rid = p.dma('nvme0', 'write', 0x1_0000n, 64n, { expect: 'fault' });
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas'), flags: ALLOC_PASID | DIRTY_TRACKING }, { bind: 'ss' });
        const rep = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ss'), flags: ATTACH_PASID, pasid: 7 });
        const wide = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ss'), flags: ATTACH_PASID, pasid: 1 << 20 }, { expect: 'EINVAL' });
        p.ioctl('VFIO_DEVICE_DETACH_IOMMUFD_PT', v('nvme0_fd'), { flags: ATTACH_PASID, pasid: 7 });
        const after = p.dma('nvme0', 'write', 0x1_0000n, 64n, { expect: 'fault' }, 7n);
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, d, 'ok');
        expectStep(run, rid, 'fault', /blocking domain/);
        expectStep(run, rep, 'ok');
        const k = run.ticks[run.results[rep]!.tick]!.state.kernel;
        expect(k.devices.get('nvme0')!.pasids.get(7)?.pgtt).toBe(2);
        expectStep(run, wide, 'EINVAL', /PASID 1048576 is beyond 0000:01:00\.0 \(nvme0\)'s 1048576 PASIDs/);
        expectStep(run, after, 'fault', /PASID 7 .* has no domain/);
    });

    test('attaching the same PASID again from the same device is VFIO\'s replace (same HWPT: nothing to do)', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas'), flags: ALLOC_PASID }, { bind: 'h' });
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('h'), flags: ATTACH_PASID, pasid: 3 });
        const again = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('h'), flags: ATTACH_PASID, pasid: 3 });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, again, 'ok');
    });

    test('a PASID is a per-RID namespace: a kernel SVA bond on the parent makes a slice\'s attach of it EBUSY', () => {
        const s = scenario(accelHost);
        const app = s.process('app');
        app.svaBind('dsa0', 'p', { expect: 'ok', fields: { pasid: 1 } });
        const vm = s.process('vm');
        vm.open({ kind: 'literal', path: '/dev/iommu' }, 'iommufd');
        vm.open(vfioDevice('wq_a'), 'slice');
        vm.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('slice'), { iommufd: v('iommufd') }, { bind: 'dev' });
        vm.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        vm.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('dev'), pt_id: v('ioas'), flags: ALLOC_PASID }, { bind: 'h' });
        const busy = vm.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('slice'), { pt_id: v('h'), flags: ATTACH_PASID, pasid: 1 }, { expect: 'EBUSY' });
        const ok = vm.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('slice'), { pt_id: v('h'), flags: ATTACH_PASID, pasid: 2 });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, busy, 'EBUSY', /PASID 1 of group \d+ .* is already attached, by app's SVA bond/);
        expectStep(run, ok, 'ok');
    });
});

describe('PASID slices (example 03)', () => {
    test('a slice binds without claiming its parent\'s group; its RID attach is EINVAL', () => {
        const s = scenario(full);
        const p = s.process('vm');
        p.mdev('wq', 'nvme0', 'pasid');
        p.open({ kind: 'literal', path: '/dev/iommu' }, 'iommufd');
        p.open(vfioDevice('wq'), 'slice');
        p.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('slice'), { iommufd: v('iommufd') }, { bind: 'dev' });
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        const rid = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('slice'), { pt_id: v('ioas') }, { expect: 'EINVAL' });
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('dev'), pt_id: v('ioas'), flags: ALLOC_PASID }, { bind: 'h' });
        const rid2 = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('slice'), { pt_id: v('h') }, { expect: 'EINVAL' });
        const pasid0 = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('slice'), { pt_id: v('h'), flags: ATTACH_PASID, pasid: 0 }, { expect: 'EINVAL' });
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('slice'), { pt_id: v('h'), flags: ATTACH_PASID, pasid: 5 });
        p.mmap(64n * K, 'ram');
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 64n * K, iova: 0x1_0000n, flags: FIXED_IOVA | RW });
        const dma = p.dma('wq', 'write', 0x1_0000n, 64n, {}, 5n);
        const parentRid = p.dma('nvme0', 'read', 0x1_0000n, 8n, { expect: 'fault' });
        p.close(v('slice'));
        const gone = p.dma('wq', 'write', 0x1_0000n, 64n, { expect: 'fault' }, 5n);
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, rid, 'EINVAL', /PASID slice of 0000:01:00\.0 \(nvme0\): it has no requester ID of its own/);
        expectStep(run, rid2, 'EINVAL', /PASID slice/);
        expectStep(run, pasid0, 'EINVAL', /PASID slice/);
        expectStep(run, dma, 'ok');
        expectStep(run, parentRid, 'fault', /not mapped in DMA-API domain/);
        expectStep(run, gone, 'fault', /PASID 5 .* has no domain/);
        const k = finalKernel(run);
        const g = k.groups.get(k.devices.get('nvme0')!.group!)!;
        expect(g.owner).toBeNull();
        expect(g.owner_cnt).toBe(1);
    });
});

describe('IOMMU_GET_HW_INFO', () => {
    test('VT-d: type INTEL_VTD, 24 bytes with the errata flag, DIRTY_TRACKING capability, PASID width', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0', 'nic0']);
        const p = s.process('vmm');
        const info = p.ioctl('IOMMU_GET_HW_INFO', v('iommufd'), { dev_id: v('nvme0_id'), data_len: 24, data_uptr: 0x1000 }, { expect: 'ok', fields: { out_data_type: 1, data_len: 24, out_capabilities: 1, out_max_pasid_log2: 20 } });
        const short = p.ioctl('IOMMU_GET_HW_INFO', v('iommufd'), { dev_id: v('nic0_id'), data_len: 4, data_uptr: 0x1000 }, { expect: 'ok', fields: { data_len: 24, out_max_pasid_log2: 0 } });
        const bad = p.ioctl('IOMMU_GET_HW_INFO', v('iommufd'), { dev_id: v('nvme0_id'), flags: 1, in_data_type: 2 }, { expect: 'EOPNOTSUPP' });
        const flags = p.ioctl('IOMMU_GET_HW_INFO', v('iommufd'), { dev_id: v('nvme0_id'), flags: 2 }, { expect: 'EOPNOTSUPP' });
        const noent = p.ioctl('IOMMU_GET_HW_INFO', v('iommufd'), { dev_id: 9 }, { expect: 'ENOENT' });
        const run = s.run();
        expectAllMatched(run);
        const vals = run.results[info]!.values;
        expect(vals['data.flags']?.value).toBe(1n);
        // MGAW 47 (48-bit), SAGAW 3/4-level, SLLPS 2M|1G.
        expect(((vals['data.cap_reg']?.value ?? 0n) >> 16n) & 0x3fn).toBe(47n);
        // ecap: FLTS, SLTS, SLADS, NEST, SC, PASID with PSS 19.
        const ecap = vals['data.ecap_reg']?.value ?? 0n;
        expect((ecap >> 47n) & 1n).toBe(1n);
        expect((ecap >> 45n) & 1n).toBe(1n);
        expect((ecap >> 35n) & 0x1fn).toBe(19n);
        // A 4-byte buffer gets only flags; data_len still says 24.
        expect(run.results[short]!.values['data.flags']?.value).toBe(1n);
        expect(run.results[short]!.values['data.cap_reg']).toBeUndefined();
        expectStep(run, bad, 'EOPNOTSUPP', /only IOMMU_HW_INFO_TYPE_INTEL_VTD, not type 2/);
        expectStep(run, flags, 'EOPNOTSUPP', /flags 2 has bits this kernel does not know/);
        expectStep(run, noent, 'ENOENT', /dev_id 9 is not a DEVICE/);
    });
});

describe('group and ctx lifetime', () => {
    test('closing the cdev fd releases ownership: the group fd and kernel drivers work again', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas') });
        const busy = p.open(vfioGroup('nvme0'), 'g', { expect: 'EBUSY' });
        p.close(v('nvme0_fd'));
        const open = p.open(vfioGroup('nvme0'), 'g');
        p.close(v('g'));
        p.unbind('nvme0');
        const rebind = p.bind('nvme0', 'nvme');
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, busy, 'EBUSY');
        expectStep(run, open, 'ok');
        expectStep(run, rebind, 'ok');
        // The auto HWPT went with the device; the IOAS is left.
        expect([...ctxOf(run).objects.keys()]).toEqual([2]);
    });

    test('a bound device keeps the iommufd alive after its fd is closed', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        p.mmap(64n * K, 'ram');
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 64n * K, iova: 0x1_0000n, flags: FIXED_IOVA | RW });
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas') });
        p.close(v('iommufd'));
        const d = p.dma('nvme0', 'read', 0x1_0000n, 8n);
        const mid = p.dma('nvme0', 'read', 0x1_0000n, 8n);
        p.close(v('nvme0_fd'));
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, d, 'ok');
        expect(run.ticks[run.results[mid]!.tick]!.state.kernel.iommufd.ctxs.size).toBe(1);
        expect(finalKernel(run).iommufd.ctxs.size).toBe(0);
        const g = finalKernel(run).groups.get(finalKernel(run).devices.get('nvme0')!.group!)!;
        expect(g.owner).toBeNull();
    });
});

describe('auto domains across IOMMU units (kernel-semantics 5.8)', () => {
    function twoUnits(snoop1: boolean) {
        const u0 = vtdUnit(['coherent', 'enforce-coherency', 'intr-remap']);
        const u1 = { ...vtdUnit(snoop1 ? ['coherent', 'enforce-coherency', 'intr-remap'] : ['coherent', 'intr-remap']), name: 'dmar1' };
        return {
            name: 'two', iommus: [u0, u1], platform: [], mdevs: [],
            segments: [
                pci(0, 'dmar0', rp('00:01.0', 'rp0', { acs: true }, ep('01:00.0', 'd0', { driver: 'nvme' }))),
                pci(1, 'dmar1', rp('00:01.0', 'rp1', { acs: true }, ep('01:00.0', 'd1', { driver: 'nvme' }))),
            ],
        };
    }

    test('devices behind different units with identical capabilities share one auto HWPT', () => {
        const s = scenario(twoUnits(true));
        bindAll(s, 'vmm', ['d0', 'd1']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        const a = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('d0_fd'), { pt_id: v('ioas') });
        const b = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('d1_fd'), { pt_id: v('ioas') });
        const run = s.run();
        expectAllMatched(run);
        expect(run.results[b]!.values.pt_id?.value).toBe(run.results[a]!.values.pt_id?.value);
    });

    test('a HWPT made coherent for a snoop-control device refuses one without (EINVAL → the search allocates another)', () => {
        const s = scenario(twoUnits(false));
        bindAll(s, 'vmm', ['d0', 'd1']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        const a = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('d0_fd'), { pt_id: v('ioas') }, { bind: 'h0' });
        const b = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('d1_fd'), { pt_id: v('ioas') });
        const manual = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('d1_fd'), { pt_id: v('h0') }, { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        expect(run.results[a]!.values.pt_id?.value).toBe(4n);
        expect(run.results[b]!.values.pt_id?.value).toBe(5n);
        expectStep(run, manual, 'EINVAL', /forces snooping but dmar1 has no snoop control/);
    });
});

describe('AMD-Vi', () => {
    test('ALLOC_PASID gives a v2 table, which the AMD driver cannot attach to a PASID (EOPNOTSUPP); PASID with DIRTY_TRACKING EOPNOTSUPP', () => {
        const amd = machineWith({ name: 'ivhd0', kind: 'amd-vi', addressWidth: 48, pasidWidth: 16, features: ['coherent', 'intr-remap', 'dirty-tracking'] });
        const s = scenario(amd);
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas'), flags: ALLOC_PASID }, { bind: 'v2' });
        const combo = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas'), flags: ALLOC_PASID | DIRTY_TRACKING }, { expect: 'EOPNOTSUPP' });
        const att = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('v2'), flags: ATTACH_PASID, pasid: 1 }, { expect: 'EOPNOTSUPP' });
        const rid = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('v2') });
        const info = p.ioctl('IOMMU_GET_HW_INFO', v('iommufd'), { dev_id: v('nvme0_id'), data_len: 16 }, { expect: 'ok', fields: { out_data_type: 4, data_len: 16 } });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, combo, 'EOPNOTSUPP', /cannot be combined with DIRTY_TRACKING or NEST_PARENT/);
        expectStep(run, att, 'EOPNOTSUPP', /attaches only SVA domains to PASIDs/);
        expectStep(run, rid, 'ok');
        expect(finalKernel(run).domains.get(finalKernel(run).groups.get(finalKernel(run).devices.get('nvme0')!.group!)!.domain)!.format).toBe('x86-64');
        expectStep(run, info, 'ok');
    });
});
