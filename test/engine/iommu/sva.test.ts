/**
 * SVA (`engine/iommu/sva.ts`) against drivers/iommu/iommu-sva.c (iommu_sva_bind_device,
 * iommu_alloc_mm_data, iommu_sva_unbind_device), iommu.c (iommu_alloc_global_pasid,
 * iommu_attach_handle_get) and kernel/fork.c (mm_pasid_drop); example 03 sva_pasid_per_process.
 */
import { describe, expect, test } from 'vitest';
import { applyOp, bootKernel, updateKernel } from '../../../engine/kernel.js';
import { spawnProcess } from '../../../engine/fs/process.js';
import type { MachineSpec } from '../../../engine/machine/spec.js';
import { vaToPa } from '../../../engine/mm/memory.js';
import { ep, pci, rp } from '../machine/builders.js';
import { machineOf, vtdUnit } from '../machines.js';
import { K, M, expectAllMatched, expectStep, finalKernel, scenario, v, valueOf } from '../scenario.js';

/** Example 03's accel_host, with a NIC without PASID and two idxd functions sharing a group. */
function accelHost(): MachineSpec {
    const dsa = { driver: 'idxd', pasid: 20, ats: true, pri: true } as const;
    return machineOf([vtdUnit('dmar0', { pasidWidth: 20, features: ['coherent', 'enforce-coherency', 'intr-remap', 'nesting', 'sva'] })], [
        pci(0, 'dmar0',
            rp('00:01.0', 'rp0', { acs: true }, ep('01:00.0', 'dsa0', dsa)),
            rp('00:02.0', 'rp1', { acs: true }, ep('02:00.0', 'dsa1', dsa)),
            rp('00:03.0', 'rp2', { acs: true }, ep('03:00.0', 'nic0', { driver: 'ixgbe' })),
            rp('00:04.0', 'rp3', {}, ep('04:00.0', 'dsa2', dsa), ep('04:00.1', 'dsa3', dsa))),
    ]);
}

describe('example 03: sva_pasid_per_process', () => {
    test('one PASID per process, the same on every device; DMA with it walks the process\'s page table', () => {
        const s = scenario(accelHost());
        const app1 = s.process('app1');
        const buf = app1.mmap(2n * M, 'buf');
        const p1 = app1.svaBind('dsa0', 'p1', { expect: 'ok', fields: { pasid: 1 } });
        const p1b = app1.svaBind('dsa1', 'p1b', { expect: 'ok', fields: { pasid: 1 } });
        const w = app1.dma('dsa0', 'write', v('buf'), 4n * K, {}, v('p1'));
        const r = app1.dma('dsa1', 'read', v('buf'), 4n * K, {}, v('p1'));
        const app2 = s.process('app2');
        const p2 = app2.svaBind('dsa0', 'p2', { expect: 'ok', fields: { pasid: 2 } });
        const miss = app2.dma('dsa0', 'read', 0x1000n, 8n, { expect: 'fault' }, v('p2'));
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, p1, 'ok');
        expectStep(run, p1b, 'ok');
        expectStep(run, p2, 'ok');
        const mm = finalKernel(run).processes.get('app1')!.mm;
        const at = valueOf(run, buf, 'addr');
        expect(valueOf(run, w, 'pa')).toBe(BigInt(vaToPa(mm, at)!.pa));
        expect(valueOf(run, r, 'pa')).toBe(BigInt(vaToPa(mm, at)!.pa));
        expect(run.results[w]!.dma!.segments[0]!.pasid).toBe(1);
        const f = expectStep(run, miss, 'fault', /address 0x1000 is not mapped in app2's page table \(SVA\)/);
        expect(f.dma?.fault?.reason).toBe('not-present');
    });
});

describe('iommu_sva_bind_device', () => {
    test('ENOSPC for a device without PASID; ENODEV for an unbound device or one on vfio-pci', () => {
        const s = scenario(accelHost());
        const p = s.process('app');
        const nospc = p.svaBind('nic0', 'x', { expect: 'ENOSPC' });
        p.unbind('dsa1');
        const unbound = p.svaBind('dsa1', 'y', { expect: 'ENODEV' });
        p.bind('dsa1', 'vfio-pci');
        const vfio = p.svaBind('dsa1', 'z', { expect: 'ENODEV' });
        const run = s.run();
        expectAllMatched(run);
        const r = expectStep(run, nospc, 'ENOSPC', /0000:03:00\.0 \(nic0\) has no PASID support: no global PASID can be allocated/);
        expect(r.source?.file).toBe('drivers/iommu/iommu-sva.c');
        expectStep(run, unbound, 'ENODEV', /dsa1\) is unbound/);
        expectStep(run, vfio, 'ENODEV', /bound to vfio-pci: only its kernel driver can bind an address space/);
    });

    test('a process that has a PASID binding a device without PASID: EOVERFLOW', () => {
        const s = scenario(accelHost());
        const p = s.process('app');
        p.svaBind('dsa0', 'p');
        const over = p.svaBind('nic0', 'q', { expect: 'EOVERFLOW' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, over, 'EOVERFLOW', /app's PASID 1 is beyond 0000:03:00\.0 \(nic0\)'s 0 PASIDs/);
    });

    test('the PASID slot held by someone else\'s attachment is EBUSY', () => {
        // A user's iommufd PASID attach on dsa0's RID (through a slice) that picked PASID 1: the
        // global allocator does not know about user-chosen PASIDs (kernel-semantics 6.5).
        const boot = bootKernel(accelHost());
        const k = updateKernel(boot.kernel, (d) => {
            spawnProcess(d, { name: 'app' });
            const g = d.groups.get(d.devices.get('dsa0')!.group!)!;
            g.pasid_array.set(1, { domain: g.default_domain, by: { kind: 'iommufd', ctx: 1 } });
        });
        const { kernel, outcome } = applyOp(k, 'app', { op: 'sva-bind', device: 'dsa0' });
        expect(outcome.errno).toBe('EBUSY');
        expect(outcome.reason).toMatch(/PASID 1 of group 4 is already used by iommufd 1/);
        expect(outcome.source?.func).toBe('iommu_sva_bind_device');
        // iommu_alloc_mm_data committed mm->iommu_mm before the slot check: the mm keeps PASID 1
        // (and the global allocator keeps it taken) even though the bind failed.
        expect(kernel.processes.get('app')!.mm.pasid).toBe(1);
        expect(kernel.globalPasids.get(1)).toBe('app');
    });

    test('two devices of one group bound by one process share the group\'s handle; unbinding one keeps the PASID attached', () => {
        const s = scenario(accelHost());
        const p = s.process('app');
        p.mmap(2n * M, 'buf');
        p.svaBind('dsa2', 'a', { expect: 'ok', fields: { pasid: 1 } });
        const second = p.svaBind('dsa3', 'b', { expect: 'ok', fields: { pasid: 1 } });
        const again = p.svaBind('dsa3', 'c', { expect: 'ok', fields: { pasid: 1 } });
        p.svaUnbind('dsa2');
        const still = p.dma('dsa3', 'read', v('buf'), 8n, {}, v('b'));
        p.svaUnbind('dsa3');
        p.svaUnbind('dsa3');
        const gone = p.dma('dsa3', 'read', v('buf'), 8n, { expect: 'fault' }, v('b'));
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, second, 'ok');
        expectStep(run, again, 'ok');
        expectStep(run, still, 'ok');
        expectStep(run, gone, 'fault', /PASID 1 of 0000:04:00\.[01] \(dsa[23]\) has no domain/);
    });
});

describe('PASID lifetime', () => {
    test('unbinding the kernel driver drops its SVA bonds: the group can then be handed to VFIO', () => {
        const s = scenario(accelHost());
        const app = s.process('app');
        app.svaBind('dsa0', 'p');
        const noUnbind = app.svaUnbind('dsa1', { expect: 'ENOENT' });
        app.unbind('dsa0');
        app.bind('dsa0', 'vfio-pci');
        app.open({ kind: 'literal', path: '/dev/vfio/vfio' }, 'c');
        app.open({ kind: 'vfio-group', device: 'dsa0' }, 'g');
        const owned = app.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
        const tagged = app.dma('dsa0', 'read', 0n, 8n, { expect: 'fault' }, v('p'));
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, noUnbind, 'ENOENT', /dsa1 has no SVA bond with app/);
        expectStep(run, owned, 'ok');
        expectStep(run, tagged, 'fault', /PASID 1 of .* has no domain/);
        // The mm keeps its PASID.
        expect(finalKernel(run).processes.get('app')!.mm.pasid).toBe(1);
    });

    test('unbinding keeps the mm\'s PASID; exit frees it for the next process', () => {
        const s = scenario(accelHost());
        const a = s.process('a');
        a.svaBind('dsa0', 'p', { expect: 'ok', fields: { pasid: 1 } });
        a.svaUnbind('dsa0');
        const b = s.process('b');
        const pb = b.svaBind('dsa0', 'p', { expect: 'ok', fields: { pasid: 2 } });
        const rebind = a.svaBind('dsa1', 'p2', { expect: 'ok', fields: { pasid: 1 } });
        a.exit();
        const c = s.process('c');
        const pc = c.svaBind('dsa0', 'p', { expect: 'ok', fields: { pasid: 1 } });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, pb, 'ok');
        expectStep(run, rebind, 'ok');
        expectStep(run, pc, 'ok');
        expect(finalKernel(run).globalPasids.get(1)).toBe('c');
    });
});
