/**
 * Device DMA (`engine/iommu/dma.ts`): what a requester ID's DMA goes through (kernel-semantics
 * 8.7): the group's current domain (iommu.c: default, blocking or the user's domain), identity
 * with iommu=pt, nothing without an IOMMU; and the faults the walk reports (VT-d first stage
 * x86_64.h, second stage vtdss.h, the interrupt window intel_iommu_get_resv_regions).
 */
import { describe, expect, test } from 'vitest';
import type { MachineSpec } from '../../../engine/machine/spec.js';
import { vaToPa } from '../../../engine/mm/memory.js';
import { SZ_4K } from '../../../engine/u64.js';
import { ep } from '../machine/builders.js';
import { isolated, machineOf, vtdUnit } from '../machines.js';
import type { ProcessBuilder } from '../scenario.js';
import { M, expectAllMatched, expectStep, finalKernel, path, scenario, v, valueOf, vfioGroup } from '../scenario.js';

const TYPE1v2 = 3n;
const READ = 1n;
const WRITE = 2n;

function nic(opts: { cmdline?: string; legacy?: boolean } = {}): MachineSpec {
    const unit = { ...vtdUnit('dmar0'), mode: opts.legacy ? 'legacy' as const : undefined };
    return isolated([ep('01:00.0', 'nic0', { driver: 'ixgbe' })], { unit, cmdline: opts.cmdline });
}

function assign(p: ProcessBuilder): void {
    p.unbind('nic0');
    p.bind('nic0', 'vfio-pci');
    p.open(path('/dev/vfio/vfio'), 'c');
    p.open(vfioGroup('nic0'), 'g');
    p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
}

describe('translation through a type1 domain', () => {
    test('the translated address is where the process memory is; a DMA may span pages', () => {
        const s = scenario(nic());
        const p = s.process('vmm');
        assign(p);
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        const mm = p.mmap(4n * M, 'ram');
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0x10_0000, size: 4n * M, flags: READ | WRITE });
        const one = p.dma('nic0', 'write', 0x10_0000n + 0x2345n, 16n);
        const span = p.dma('nic0', 'read', 0x10_0000n + 0xff0n, 0x20n);
        const run = s.run();
        expectAllMatched(run);
        const ram = valueOf(run, mm, 'addr');
        const procMm = finalKernel(run).processes.get('vmm')!.mm;
        expect(valueOf(run, one, 'pa')).toBe(BigInt(vaToPa(procMm, ram + 0x2345n)!.pa));
        expect(valueOf(run, one, 'page_size')).toBe(SZ_4K);
        // Two 4K pages of anonymous memory are not physically contiguous: two segments.
        const segs = run.results[span]!.dma!.segments;
        expect(segs.map((x) => x.length)).toEqual([0x10n, 0x10n]);
        expect(segs[1]!.pa).toBe(BigInt(vaToPa(procMm, ram + 0x1000n)!.pa));
    });

    test('faults: not present, beyond the mapping mid-DMA, write to read-only, beyond the domain width, the MSI window', () => {
        const s = scenario(nic());
        const p = s.process('vmm');
        assign(p);
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        p.mmap(4n * M, 'ram');
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 2n * M, flags: READ | WRITE });
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 4n * M, size: 2n * M, flags: READ });
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 8n * M, size: 4096, flags: WRITE });
        const notPresent = p.dma('nic0', 'read', 3n * M, 8n, { expect: 'fault' });
        const partial = p.dma('nic0', 'write', 2n * M - 16n, 32n, { expect: 'fault' });
        const readOnly = p.dma('nic0', 'write', 4n * M, 8n, { expect: 'fault' });
        const readOk = p.dma('nic0', 'read', 4n * M, 8n);
        // First-stage (x86-64 format) leaves cannot say "no read": a write-only map reads too.
        const writeOnlyRead = p.dma('nic0', 'read', 8n * M, 8n);
        const wide = p.dma('nic0', 'read', 0x8000_0000_0000n, 8n, { expect: 'fault' });
        const msi = p.dma('nic0', 'write', 0xfee0_0000n, 4n, { expect: 'fault' });
        const run = s.run();
        expectAllMatched(run);
        const np = expectStep(run, notPresent, 'fault', /0000:01:00\.0 \(nic0\): IOVA 0x300000 is not mapped in paging domain \d+ \(x86-64\)/);
        expect(np.dma?.fault?.reason).toBe('not-present');
        const pr = expectStep(run, partial, 'fault', /IOVA 0x200000 is not mapped/);
        expect(pr.dma?.segments.map((x) => x.length)).toEqual([16n]);
        const ro = expectStep(run, readOnly, 'fault', /IOVA 0x400000 is mapped read-only .*the write is refused/);
        expect(ro.dma?.fault?.reason).toBe('write-to-read-only');
        expectStep(run, readOk, 'ok');
        expectStep(run, writeOnlyRead, 'ok');
        const w = expectStep(run, wide, 'fault', /IOVA 0x800000000000 is beyond .*input range \[0x0, 0x7fffffffffff\]/);
        expect(w.dma?.fault?.reason).toBe('beyond-address-width');
        const m = expectStep(run, msi, 'fault', /wrote to 0xfee00000 in the x86 MSI window .*interrupt request/);
        expect(m.dma?.fault?.reason).toBe('msi-window');
    });

    test('a second-stage (legacy-mode) domain can refuse reads of a write-only mapping', () => {
        const s = scenario(nic({ legacy: true }));
        const p = s.process('vmm');
        assign(p);
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        p.mmap(2n * M, 'ram');
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 4096, flags: WRITE });
        const read = p.dma('nic0', 'read', 0n, 8n, { expect: 'fault' });
        const write = p.dma('nic0', 'write', 0n, 8n);
        const run = s.run();
        expectAllMatched(run);
        const r = expectStep(run, read, 'fault', /mapped write-only in paging domain \d+ \(vtd-ss\): the read is refused/);
        expect(r.dma?.fault?.reason).toBe('read-from-write-only');
        expectStep(run, write, 'ok');
    });
});

describe('what a device DMAs through before and outside VFIO', () => {
    test('a user-owned group before VFIO_SET_IOMMU is on the blocking domain: every DMA faults', () => {
        const s = scenario(nic());
        const p = s.process('vmm');
        assign(p);
        const blocked = p.dma('nic0', 'read', 0n, 8n, { expect: 'fault' });
        const run = s.run();
        expectAllMatched(run);
        const r = expectStep(run, blocked, 'fault', /nic0\) is in the blocking domain \d+: all its DMA is blocked/);
        expect(r.dma?.fault?.reason).toBe('blocked');
    });

    test('a kernel driver\'s device DMAs through its default domain; with iommu=pt that is the identity', () => {
        const dflt = scenario(nic());
        const d1 = dflt.process('host').dma('nic0', 'read', 0x1000n, 8n, { expect: 'fault' });
        const r1 = dflt.run();
        expectAllMatched(r1);
        const f = expectStep(r1, d1, 'fault', /not mapped in DMA-API domain/);
        expect(f.dma?.fault?.reason).toBe('not-present');
        const pt = scenario(nic({ cmdline: 'iommu=pt' }));
        const d2 = pt.process('host').dma('nic0', 'write', 0x1234_5000n, 64n);
        const r2 = pt.run();
        expectAllMatched(r2);
        expect(valueOf(r2, d2, 'pa')).toBe(0x1234_5000n);
        // With iommu=pt the group can still be handed to VFIO: type1 allocates a paging domain.
        const vf = scenario(nic({ cmdline: 'iommu=pt' }));
        const p = vf.process('vmm');
        assign(p);
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        const d3 = p.dma('nic0', 'read', 0x1000n, 8n, { expect: 'fault' });
        const r3 = vf.run();
        expectAllMatched(r3);
        expectStep(r3, d3, 'fault', /not mapped in paging domain/);
    });

    test('a device behind no IOMMU DMAs to physical addresses; a PASID-tagged DMA without PASID support faults', () => {
        const bare = machineOf([], [{ segment: 0, children: [ep('00:03.0', 'nic0', { driver: 'e1000e' })(0)] }]);
        const s = scenario(bare);
        const p = s.process('host');
        const d = p.dma('nic0', 'write', 0x8000_0000n, 4096n);
        const run = s.run();
        expectAllMatched(run);
        expect(valueOf(run, d, 'pa')).toBe(0x8000_0000n);
        const s2 = scenario(nic());
        const q = s2.process('host');
        const tagged = q.dma('nic0', 'read', 0n, 8n, { expect: 'fault' }, 1n);
        const r2 = s2.run();
        expectAllMatched(r2);
        const f = expectStep(r2, tagged, 'fault', /has no PASID support: a PASID-tagged request is refused/);
        expect(f.dma?.fault?.reason).toBe('pasid-beyond-width');
    });
});
