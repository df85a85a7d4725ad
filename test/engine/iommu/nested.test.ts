/**
 * Nested translation (engine/iommu/dma-nested.ts, guest-s1.ts): the guest's stage-1 table written
 * by `guest-map`, DMA walking both stages with faults that name the stage (kernel-semantics 5.9,
 * 6.6, 8.7), huge pages in either stage, PASID-tagged nested DMA, and the IOTLB that
 * IOMMU_HWPT_INVALIDATE flushes (5.12).
 */
import { describe, expect, test } from 'vitest';
import type { ScenarioRun } from '../../../engine/runner.js';
import type { DmaSegment, StepResult } from '../../../engine/step.js';
import { vaToPa } from '../../../engine/mm/memory.js';
import { SZ_1G, SZ_2M, SZ_4K } from '../../../engine/u64.js';
import { runDiagnostics } from '../../../language/simulation/simulation-diagnostics.js';
import { M, expectAllMatched, expectStep, finalKernel, v, valueOf } from '../scenario.js';
import { FIXED_IOVA, arr, attach, guestMap, guestUnmap, smmuMachine, smmuNested, steS1, vmm, vtdMachine, vtdNested, vtdNesting } from './nested-helpers.js';
import { machineWith } from '../iommufd/helpers.js';

/** The host physical address of guest-physical `gpa` (guest RAM is the VMM's `ram` at GPA 0). */
function hostPa(run: ScenarioRun, gpa: bigint): bigint {
    const k = finalKernel(run);
    const ram = valueOf(run, run.program.steps.findIndex((s) => s.op === 'mmap'), 'addr');
    return BigInt(vaToPa(k.processes.get('vmm')!.mm, ram + gpa)!.pa);
}

function segments(run: ScenarioRun, step: number): readonly DmaSegment[] {
    return run.results[step]!.dma!.segments;
}

function fault(run: ScenarioRun, step: number): NonNullable<NonNullable<StepResult['dma']>['fault']> {
    const f = run.results[step]!.dma?.fault;
    if (!f) {
        throw new Error(`step ${step} did not fault: ${run.results[step]!.reason}`);
    }
    return f;
}

describe('VT-d nested: stage 1 in the guest, stage 2 in the parent', () => {
    test('a guest mapping translates IOVA → GPA → host PA, and reports both stages', () => {
        const s = vmm(vtdMachine);
        vtdNested(s, 's1', 0x10_0000n);
        attach(s, 'nvme0', 's1');
        const map = guestMap(s, 'vmm', v('s1'), 0x1000n, 0x20_0000n, SZ_4K);
        const dma = s.process('vmm').dma('nvme0', 'write', 0x1010n, 64n);
        const run = s.run();
        expectAllMatched(run);
        // A 4-level table: the root and one table per level below it, from pgtbl_addr on.
        expect(run.results[map]!.values.tables).toMatchObject({ value: 4n, display: '4 table pages at GPA 0x100000-0x103fff' });
        expect(run.results[map]!.values.leaves?.display).toBe('4K');
        const [seg] = segments(run, dma);
        expect(seg).toMatchObject({ iova: 0x1010n, length: 64n, gpa: 0x20_0010n, stage1PageSize: SZ_4K, stage2PageSize: SZ_4K, pageSize: SZ_4K });
        expect(seg!.pa).toBe(hostPa(run, 0x20_0010n));
        expect(valueOf(run, dma, 'gpa')).toBe(0x20_0010n);
        expect(seg!.iotlb).toBeUndefined();
    });

    test('stage-1 faults: not present, write to a read-only leaf; stage 2 is never asked', () => {
        const s = vmm(vtdMachine);
        vtdNested(s, 's1', 0x10_0000n);
        attach(s, 'nvme0', 's1');
        guestMap(s, 'vmm', v('s1'), 0x1000n, 0x20_0000n, SZ_4K, { read: true });
        const p = s.process('vmm');
        const absent = p.dma('nvme0', 'read', 0x2000n, 8n, { expect: 'fault' });
        const ro = p.dma('nvme0', 'write', 0x1000n, 8n, { expect: 'fault' });
        const read = p.dma('nvme0', 'read', 0x1000n, 8n);
        const run = s.run();
        expectAllMatched(run);
        expect(fault(run, absent)).toMatchObject({ reason: 'stage1-not-present', level: 0, iova: 0x2000n });
        expectStep(run, absent, 'fault', /stage 1 \(guest table of nested HWPT 4, domain \d+\): IOVA 0x2000 is not mapped: the level-0 entry at GPA 0x103010 .* not present; stage 2, NEST_PARENT HWPT 3, domain \d+, not reached/);
        expect(fault(run, ro)).toMatchObject({ reason: 'stage1-permission', level: 0 });
        expectStep(run, ro, 'fault', /the guest maps IOVA 0x1000 read-only \(GPA 0x200000, a 4K leaf\): the write is refused/);
        expect(segments(run, read)[0]!.pa).toBe(hostPa(run, 0x20_0000n));
    });

    test('stage-2 faults: the output GPA not in guest RAM; a guest table page not in stage 2', () => {
        const s = vmm(vtdMachine);
        vtdNested(s, 's1', 0x10_0000n);
        vtdNested(s, 'lost', 0x4000_0000n);
        attach(s, 'nvme0', 's1');
        guestMap(s, 'vmm', v('s1'), 0x1000n, 0x1_0000_0000n, SZ_4K);
        const p = s.process('vmm');
        const out = p.dma('nvme0', 'read', 0x1000n, 8n, { expect: 'fault' });
        attach(s, 'nvme0', 'lost');
        const walk = p.dma('nvme0', 'read', 0x1000n, 8n, { expect: 'fault' });
        const run = s.run();
        expectAllMatched(run);
        expect(fault(run, out)).toMatchObject({ reason: 'stage2-not-present', gpa: 0x1_0000_0000n });
        expectStep(run, out, 'fault', /stage 2 \(NEST_PARENT HWPT 3, domain \d+\): GPA 0x100000000 is not mapped; stage 1 \(guest table of nested HWPT 4, domain \d+\) put IOVA 0x1000 there/);
        // The table walk needs the root page first: it is not in stage 2.
        expect(fault(run, walk)).toMatchObject({ reason: 'stage2-not-present', gpa: 0x4000_0000n, level: 3 });
        expectStep(run, walk, 'fault', /the guest's level-3 \(root\) table page at GPA 0x40000000 is not mapped in stage 2, so stage 1 \(guest table of nested HWPT 5, domain \d+\) cannot be walked for IOVA 0x1000 \[VT-d: second-stage fault on a first-stage paging-structure access\]/);
    });

    test('a table page below the root outside stage 2: the walk faults at that level', () => {
        // Guest RAM is GPA [0, 8M); the root sits in its last page, so the next table pages
        // (allocated after the root) are beyond it.
        const s = vmm(vtdMachine);
        vtdNested(s, 's1', 8n * M - SZ_4K);
        attach(s, 'nvme0', 's1');
        guestMap(s, 'vmm', v('s1'), 0x1000n, 0x20_0000n, SZ_4K);
        const walk = s.process('vmm').dma('nvme0', 'read', 0x1000n, 8n, { expect: 'fault' });
        const run = s.run();
        expectAllMatched(run);
        expect(fault(run, walk)).toMatchObject({ reason: 'stage2-not-present', level: 2, gpa: 8n * M });
        expectStep(run, walk, 'fault', /the guest's level-2 table page at GPA 0x800000 is not mapped in stage 2/);
    });

    test('huge pages in either stage: the segment reports each leaf, pageSize the smaller', () => {
        const s = vmm(vtdMachine, { huge: true, ramSize: 8n * M });
        vtdNested(s, 's1', 0x10_0000n);
        attach(s, 'nvme0', 's1');
        guestMap(s, 'vmm', v('s1'), 0x20_0000n, 0x40_0000n, SZ_2M);       // a 2M stage-1 leaf
        guestMap(s, 'vmm', v('s1'), 0x4000_0000n, 0n, SZ_1G);            // a 1G stage-1 leaf (cap.FL1GP)
        guestMap(s, 'vmm', v('s1'), 0x1000n, 0x60_1000n, SZ_4K);          // a 4K leaf over a 2M stage-2 leaf
        const p = s.process('vmm');
        const big = p.dma('nvme0', 'read', 0x20_0000n, SZ_2M);
        const giant = p.dma('nvme0', 'write', 0x4000_0000n + 0x20_0000n + 0x10n, 16n);
        const small = p.dma('nvme0', 'read', 0x1000n, 8n);
        const run = s.run();
        expectAllMatched(run);
        expect(segments(run, big)).toEqual([expect.objectContaining({ length: SZ_2M, gpa: 0x40_0000n, stage1PageSize: SZ_2M, stage2PageSize: SZ_2M, pageSize: SZ_2M, pa: hostPa(run, 0x40_0000n) })]);
        expect(segments(run, giant)[0]).toMatchObject({ gpa: 0x20_0010n, stage1PageSize: SZ_1G, stage2PageSize: SZ_2M, pageSize: SZ_2M });
        expect(segments(run, small)[0]).toMatchObject({ stage1PageSize: SZ_4K, stage2PageSize: SZ_2M, pageSize: SZ_4K, pa: hostPa(run, 0x60_1000n) });
    });

    test('a 2M stage-1 leaf over 4K stage-2 pages: one piece per stage-2 page', () => {
        const s = vmm(vtdMachine);
        vtdNested(s, 's1', 0x10_0000n);
        attach(s, 'nvme0', 's1');
        const map = guestMap(s, 'vmm', v('s1'), 0x20_0000n, 0x20_0000n, SZ_2M);
        const dma = s.process('vmm').dma('nvme0', 'read', 0x20_0000n + 0xff0n, 0x20n);
        const run = s.run();
        expectAllMatched(run);
        expect(run.results[map]!.values.leaves?.display).toBe('2M');
        expect(segments(run, dma).map((x) => [x.length, x.stage1PageSize, x.stage2PageSize, x.pa])).toEqual([
            [0x10n, SZ_2M, SZ_4K, hostPa(run, 0x20_0ff0n)],
            [0x10n, SZ_2M, SZ_4K, hostPa(run, 0x20_1000n)],
        ]);
    });

    test('5-level stage 1 (addr_width 57) on a unit with cap.FL5LP; a 4-level one stops at 2^47', () => {
        const wide = machineWith({ ...vtdNesting, addressWidth: 57 });
        const s = vmm(wide);
        vtdNested(s, 's1', 0x10_0000n, { addrWidth: 57 });
        attach(s, 'nvme0', 's1');
        const map = guestMap(s, 'vmm', v('s1'), 1n << 50n, 0x20_0000n, SZ_4K);
        const p = s.process('vmm');
        const far = p.dma('nvme0', 'read', 1n << 50n, 8n);
        const run = s.run();
        expectAllMatched(run);
        expect(run.results[map]!.values.tables?.value).toBe(5n);
        expect(segments(run, far)[0]!.pa).toBe(hostPa(run, 0x20_0000n));

        const t = vmm(vtdMachine);
        vtdNested(t, 's1', 0x10_0000n);
        attach(t, 'nvme0', 's1');
        const tooFar = guestMap(t, 'vmm', v('s1'), 1n << 47n, 0x20_0000n, SZ_4K);
        const beyond = t.process('vmm').dma('nvme0', 'read', 1n << 47n, 8n, { expect: 'fault' });
        const run2 = t.run();
        expectStep(run2, tooFar, 'invalid', /beyond the 48-bit input range of nested HWPT 4's stage 1 \(\[0, 0x7fffffffffff\]\)/);
        expect(fault(run2, beyond).reason).toBe('beyond-address-width');
    });

    test('PASID-tagged nested DMA: the PASID entry (PGTT=3) points at its own guest table', () => {
        const s = vmm(vtdMachine);
        vtdNested(s, 'rid', 0x10_0000n, { flags: 8n });
        vtdNested(s, 'p1', 0x20_0000n, { flags: 8n });
        attach(s, 'nvme0', 'rid');
        attach(s, 'nvme0', 'p1', 1n);
        guestMap(s, 'vmm', v('rid'), 0x1000n, 0x40_0000n, SZ_4K);
        guestMap(s, 'vmm', v('p1'), 0x1000n, 0x50_0000n, SZ_4K);
        const p = s.process('vmm');
        const ridDma = p.dma('nvme0', 'read', 0x1000n, 8n);
        const pasidDma = p.dma('nvme0', 'read', 0x1000n, 8n, {}, 1n);
        const other = p.dma('nvme0', 'read', 0x1000n, 8n, { expect: 'fault' }, 2n);
        const run = s.run();
        expectAllMatched(run);
        expect(finalKernel(run).devices.get('nvme0')!.pasids.get(1)).toMatchObject({ pgtt: 3 });
        expect(segments(run, ridDma)[0]).toMatchObject({ gpa: 0x40_0000n });
        expect(segments(run, pasidDma)[0]).toMatchObject({ gpa: 0x50_0000n, pasid: 1 });
        expect(fault(run, other).reason).toBe('pasid-not-present');
    });

    test('the dirty bits of a DIRTY_TRACKING parent record what nested DMA wrote (live migration)', () => {
        const s = vmm(vtdMachine);
        const p = s.process('vmm');
        // A second parent with dirty tracking over the same guest RAM.
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas'), flags: 1n | 2n }, { bind: 'dirty' });
        p.ioctl('IOMMU_HWPT_SET_DIRTY_TRACKING', v('iommufd'), { hwpt_id: v('dirty'), flags: 1n });
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('dirty'), data_type: 1, data_uptr: arr([{ pgtbl_addr: 0x10_0000n, addr_width: 48 }]) }, { bind: 's1' });
        attach(s, 'nvme0', 's1');
        guestMap(s, 'vmm', v('s1'), 0x1000n, 0x30_0000n, SZ_4K);
        p.dma('nvme0', 'write', 0x1000n, 8n);
        const bitmap = p.ioctl('IOMMU_HWPT_GET_DIRTY_BITMAP', v('iommufd'), { hwpt_id: v('dirty'), iova: 0, length: 8n * M, page_size: SZ_4K, data: 0x1000 });
        const run = s.run();
        expectAllMatched(run);
        // The written page, and nothing else: the walk's table-page reads set only A bits.
        expect(run.results[bitmap]!.values.dirty_pages?.display).toBe('1 dirty: 0x300000');
    });

    test('two nested HWPTs over the same guest memory and root read the same guest table', () => {
        const s = vmm(vtdMachine, { devices: ['nvme0', 'nic0'] });
        vtdNested(s, 'a', 0x10_0000n);
        vtdNested(s, 'b', 0x10_0000n, { dev: 'nic0' });
        attach(s, 'nvme0', 'a');
        attach(s, 'nic0', 'b');
        guestMap(s, 'vmm', v('a'), 0x1000n, 0x30_0000n, SZ_4K);
        const viaB = s.process('vmm').dma('nic0', 'read', 0x1000n, 8n);
        const run = s.run();
        expectAllMatched(run);
        expect(segments(run, viaB)[0]).toMatchObject({ gpa: 0x30_0000n });
    });
});

describe('guest-map and guest-unmap', () => {
    test('refused in words: no nested HWPT, misaligned, overlapping, no permission, no stage-1 table', () => {
        const s = vmm(vtdMachine);
        vtdNested(s, 's1', 0x10_0000n);
        vtdNested(s, 'odd', 0x20_0000n, { addrWidth: 39 });
        const p = s.process('vmm');
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas') }, { bind: 'paging' });
        const ioas = guestMap(s, 'vmm', v('ioas'), 0n, 0n, SZ_4K);
        const parent = guestMap(s, 'vmm', v('s2'), 0n, 0n, SZ_4K);
        const paging = guestMap(s, 'vmm', v('paging'), 0n, 0n, SZ_4K);
        const unknown = guestMap(s, 'vmm', v('s1') as never, 0n, 0n, SZ_4K);
        s.steps[unknown] = { ...s.steps[unknown]!, hwpt: { kind: 'int', value: 77n } } as never;
        const odd = guestMap(s, 'vmm', v('s1'), 0x1800n, 0n, SZ_4K);
        const oddLen = guestMap(s, 'vmm', v('s1'), 0x1000n, 0x2000n, 100n);
        const ok = guestMap(s, 'vmm', v('s1'), 0x20_0000n, 0x20_0000n, SZ_2M);
        const overlap = guestMap(s, 'vmm', v('s1'), 0x20_1000n, 0x50_0000n, SZ_4K);
        const none = guestMap(s, 'vmm', v('s1'), 0x1000n, 0x2000n, SZ_4K, {});
        const width = guestMap(s, 'vmm', v('odd'), 0x1000n, 0x2000n, SZ_4K);
        const run = s.run();
        expectStep(run, ioas, 'invalid', /object 2 of iommufd 1 is IOAS 2, not a nested HWPT/);
        expectStep(run, parent, 'invalid', /is HWPT 3, not a nested HWPT: a NEST_PARENT HWPT is stage 2, the VMM's mapping of guest memory/);
        expectStep(run, paging, 'invalid', /not a nested HWPT: a paging HWPT has no guest stage 1/);
        expectStep(run, unknown, 'invalid', /no iommufd vmm has open \(1\) has an object 77/);
        expectStep(run, odd, 'invalid', /IOVA 0x1800 is not 4 KiB aligned/);
        expectStep(run, oddLen, 'invalid', /length 0x64 is not 4 KiB aligned/);
        expectStep(run, ok, 'ok');
        expectStep(run, overlap, 'invalid', /IOVA \[0x201000, 0x201fff\] overlaps what the guest already mapped in the guest's 4-level x86-64 table at GPA 0x100000: unmap it first/);
        expectStep(run, none, 'invalid', /a mapping needs read, write or both/);
        expectStep(run, width, 'invalid', /addr_width 39 is neither 48 \(4-level\) nor 57 \(5-level\): intel_pasid_setup_nested refuses/);
    });

    test('a process without /dev/iommu has no nested HWPT', () => {
        const s = vmm(vtdMachine);
        vtdNested(s, 's1', 0x10_0000n);
        const other = guestMap(s, 'guest', v('s1') as never, 0x1000n, 0n, SZ_4K);
        s.steps[other] = { ...s.steps[other]!, hwpt: { kind: 'int', value: 4n } } as never;
        const run = s.run();
        expectStep(run, other, 'invalid', /guest has no \/dev\/iommu open/);
    });

    test('guest-unmap removes whole leaves (a 2M leaf partly inside goes whole) and reports the bytes', () => {
        const s = vmm(vtdMachine);
        vtdNested(s, 's1', 0x10_0000n);
        attach(s, 'nvme0', 's1');
        guestMap(s, 'vmm', v('s1'), 0x20_0000n, 0x20_0000n, SZ_2M);
        guestMap(s, 'vmm', v('s1'), 0x1000n, 0x2000n, 2n * SZ_4K);
        const part = guestUnmap(s, 'vmm', v('s1'), 0x20_0000n, SZ_4K);
        const one = guestUnmap(s, 'vmm', v('s1'), 0x2000n, SZ_4K);
        const nothing = guestUnmap(s, 'vmm', v('s1'), 0x10_0000n, SZ_4K);
        const p = s.process('vmm');
        const gone = p.dma('nvme0', 'read', 0x30_0000n, 8n, { expect: 'fault' });
        const kept = p.dma('nvme0', 'read', 0x1000n, 8n);
        const run = s.run();
        expectAllMatched(run);
        expect(valueOf(run, part, 'unmapped')).toBe(SZ_2M);
        expect(valueOf(run, one, 'unmapped')).toBe(SZ_4K);
        expect(valueOf(run, nothing, 'unmapped')).toBe(0n);
        expect(valueOf(run, one, 'mapped')).toBe(SZ_4K);
        expect(fault(run, gone).reason).toBe('stage1-not-present');
        expect(segments(run, kept)[0]!.gpa).toBe(0x2000n);
    });
});

describe('the IOTLB and IOMMU_HWPT_INVALIDATE', () => {
    function cached() {
        const s = vmm(vtdMachine);
        vtdNested(s, 's1', 0x10_0000n);
        attach(s, 'nvme0', 's1');
        guestMap(s, 'vmm', v('s1'), 0x1000n, 0x20_0000n, SZ_4K);
        guestMap(s, 'vmm', v('s1'), 0x9000n, 0x30_0000n, SZ_4K);
        const p = s.process('vmm');
        p.dma('nvme0', 'read', 0x1000n, 8n);
        p.dma('nvme0', 'read', 0x9000n, 8n);
        guestUnmap(s, 'vmm', v('s1'), 0x1000n, SZ_4K);
        guestUnmap(s, 'vmm', v('s1'), 0x9000n, SZ_4K);
        return { s, p };
    }

    test('unmapped without an invalidation: the device still reaches the old page (stale), with a warning', () => {
        const { s, p } = cached();
        const stale = p.dma('nvme0', 'write', 0x1000n, 8n);
        const run = s.run();
        expectAllMatched(run);
        expect(segments(run, stale)[0]).toMatchObject({ gpa: 0x20_0000n, iotlb: 'stale', pa: hostPa(run, 0x20_0000n) });
        expect(run.results[stale]!.reason).toMatch(/IOVA 0x1000 was translated by a stale IOTLB entry of nested HWPT 4, domain \d+: the guest changed its stage-1 table there without IOMMU_HWPT_INVALIDATE/);
        const warnings = runDiagnostics(run).filter((d) => d.code === 'stale-iotlb');
        expect(warnings).toEqual([expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/^stale IOTLB: .*IOVA 0x1000 was translated by a stale IOTLB entry/) })]);
    });

    test('an invalidation drops the page-selective range it names (rounded to a power of two); U64_MAX drops all', () => {
        const { s, p } = cached();
        const inv = (addr: bigint, npages: bigint) => p.ioctl('IOMMU_HWPT_INVALIDATE', v('iommufd'), { hwpt_id: v('s1'), data_type: 0, data_uptr: arr([{ addr, npages }]) }, { expect: 'ok', fields: { entry_num: 1 } });
        inv(0x4000n, 1n);                            // another page: 0x1000 stays cached
        const still = p.dma('nvme0', 'read', 0x1000n, 8n);
        inv(0x3000n, 2n);                            // pages 3-4 → the aligned 8 pages [0, 0x8000)
        const dropped = p.dma('nvme0', 'read', 0x1000n, 8n, { expect: 'fault' });
        const other = p.dma('nvme0', 'read', 0x9000n, 8n);
        inv(0n, 0xffff_ffff_ffff_ffffn);
        const all = p.dma('nvme0', 'read', 0x9000n, 8n, { expect: 'fault' });
        const run = s.run();
        expectAllMatched(run);
        expect(segments(run, still)[0]!.iotlb).toBe('stale');
        expect(fault(run, dropped).reason).toBe('stage1-not-present');
        expect(segments(run, other)[0]!.iotlb).toBe('stale');
        expect(fault(run, all).reason).toBe('stage1-not-present');
    });

    test('entries handled before a bad one are invalidated; the rest are not', () => {
        const { s, p } = cached();
        p.ioctl('IOMMU_HWPT_INVALIDATE', v('iommufd'), { hwpt_id: v('s1'), data_type: 0, data_uptr: arr([{ addr: 0x1000, npages: 1 }, { addr: 0x9001, npages: 1 }]) }, { expect: 'EINVAL', fields: { entry_num: 1 } });
        const first = p.dma('nvme0', 'read', 0x1000n, 8n, { expect: 'fault' });
        const second = p.dma('nvme0', 'read', 0x9000n, 8n);
        const run = s.run();
        expectAllMatched(run);
        expect(fault(run, first).reason).toBe('stage1-not-present');
        expect(segments(run, second)[0]!.iotlb).toBe('stale');
    });

    test('a new mapping needs no invalidation: faulting walks are not cached', () => {
        const s = vmm(vtdMachine);
        vtdNested(s, 's1', 0x10_0000n);
        attach(s, 'nvme0', 's1');
        const p = s.process('vmm');
        p.dma('nvme0', 'read', 0x1000n, 8n, { expect: 'fault' });
        guestMap(s, 'vmm', v('s1'), 0x1000n, 0x20_0000n, SZ_4K);
        const now = p.dma('nvme0', 'read', 0x1000n, 8n);
        const again = p.dma('nvme0', 'read', 0x1004n, 4n);
        const run = s.run();
        expectAllMatched(run);
        expect(segments(run, now)[0]!.iotlb).toBeUndefined();
        expect(segments(run, again)[0]!.iotlb).toBe('hit');
    });

    test('remapped read/write without an invalidation: the cached read-only entry still refuses writes', () => {
        const s = vmm(vtdMachine);
        vtdNested(s, 's1', 0x10_0000n);
        attach(s, 'nvme0', 's1');
        guestMap(s, 'vmm', v('s1'), 0x1000n, 0x20_0000n, SZ_4K, { read: true });
        const p = s.process('vmm');
        p.dma('nvme0', 'read', 0x1000n, 8n);
        guestUnmap(s, 'vmm', v('s1'), 0x1000n, SZ_4K);
        guestMap(s, 'vmm', v('s1'), 0x1000n, 0x20_0000n, SZ_4K);
        const write = p.dma('nvme0', 'write', 0x1000n, 8n, { expect: 'fault' });
        const run = s.run();
        expectAllMatched(run);
        expect(fault(run, write).reason).toBe('stage1-permission');
        expectStep(run, write, 'fault', /a stale IOTLB entry from an earlier walk maps IOVA 0x1000 read-only/);
    });

    test('a stage-2 map (more guest RAM) leaves nested entries alone: only unmaps flush them', () => {
        const { s, p } = cached();
        p.mmap(2n * M, 'more');
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('more'), length: 2n * M, iova: 0x1000_0000, flags: FIXED_IOVA | 6n });
        const stale = p.dma('nvme0', 'read', 0x1000n, 8n);
        const run = s.run();
        expectAllMatched(run);
        expect(segments(run, stale)[0]!.iotlb).toBe('stale');
    });

    test('a stage-2 unmap flushes nested entries (the kernel flushes nested caches with their parent)', () => {
        // Guest RAM in two IOAS areas: [0, 2M) holds the guest's table, [2M, 8M) its data.
        const s = vmm(vtdMachine, { ramSize: 8n * M, split: SZ_2M });
        const p = s.process('vmm');
        vtdNested(s, 's1', 0x10_0000n);
        attach(s, 'nvme0', 's1');
        guestMap(s, 'vmm', v('s1'), 0x1000n, 0x30_0000n, SZ_4K);
        const first = p.dma('nvme0', 'read', 0x1000n, 8n);
        const hit = p.dma('nvme0', 'read', 0x1000n, 8n);
        p.ioctl('IOMMU_IOAS_UNMAP', v('iommufd'), { ioas_id: v('ioas'), iova: 0, length: SZ_2M });
        const walk = p.dma('nvme0', 'read', 0x1000n, 8n, { expect: 'fault' });
        const run = s.run();
        expectAllMatched(run);
        expect(segments(run, first)[0]!.iotlb).toBeUndefined();
        expect(segments(run, hit)[0]!.iotlb).toBe('hit');
        expect(fault(run, walk)).toMatchObject({ reason: 'stage2-not-present', gpa: 0x10_0000n });
    });
});

describe('SMMUv3 nested: a vSTE whose CD table and stage-1 table are guest memory', () => {
    test('Config 5: the CD at S1ContextPtr, the LPAE table from the next page; IOVA → GPA → host', () => {
        const s = vmm(smmuMachine);
        smmuNested(s, 'vste', steS1(0x10_0000n));
        attach(s, 'nvme0', 'vste');
        const map = guestMap(s, 'vmm', v('vste'), 0x1000n, 0x20_0000n, SZ_4K, { read: true });
        guestMap(s, 'vmm', v('vste'), 0x40_0000n, 0x40_0000n, SZ_2M);
        const p = s.process('vmm');
        const ok = p.dma('nvme0', 'read', 0x1000n, 8n);
        const huge = p.dma('nvme0', 'write', 0x40_0000n, 64n);
        const ro = p.dma('nvme0', 'write', 0x1000n, 8n, { expect: 'fault' });
        const absent = p.dma('nvme0', 'read', 0x2000n, 8n, { expect: 'fault' });
        const out = guestMap(s, 'vmm', v('vste'), 0x80_0000n, 0x1000_0000n, SZ_4K);
        const s2 = p.dma('nvme0', 'read', 0x80_0000n, 8n, { expect: 'fault' });
        const run = s.run();
        expectAllMatched(run);
        expect(run.results[map]!.values.tables?.display).toBe('4 table pages at GPA 0x101000-0x104fff');
        expect(segments(run, ok)[0]).toMatchObject({ gpa: 0x20_0000n, pa: hostPa(run, 0x20_0000n) });
        expect(segments(run, huge)[0]).toMatchObject({ stage1PageSize: SZ_2M });
        expect(fault(run, ro).reason).toBe('stage1-permission');
        expectStep(run, ro, 'fault', /\[SMMU event F_PERMISSION, S2=0, CLASS=IN\]/);
        expect(fault(run, absent).reason).toBe('stage1-not-present');
        expectStep(run, absent, 'fault', /\[SMMU event F_TRANSLATION, S2=0, CLASS=IN\]/);
        expectStep(run, out, 'ok');
        expect(fault(run, s2)).toMatchObject({ reason: 'stage2-not-present', gpa: 0x1000_0000n });
        expectStep(run, s2, 'fault', /\[SMMU event F_TRANSLATION, S2=1, CLASS=IN\]/);
    });

    test('stage-2 faults fetching the CD (CLASS=CD) and a table page (CLASS=TT)', () => {
        const s = vmm(smmuMachine);
        smmuNested(s, 'vste', steS1(0x4000_0000n));
        attach(s, 'nvme0', 'vste');
        const cd = s.process('vmm').dma('nvme0', 'read', 0x1000n, 8n, { expect: 'fault' });
        const run = s.run();
        expectAllMatched(run);
        expect(fault(run, cd)).toMatchObject({ reason: 'stage2-not-present', gpa: 0x4000_0000n });
        expectStep(run, cd, 'fault', /the guest's context descriptor CD 0 \(STE S1ContextPtr\) at GPA 0x40000000 is not mapped in stage 2.*\[SMMU event F_TRANSLATION, S2=1, CLASS=CD\]/);

        // The CD in guest RAM's last page: the table root right after it is beyond guest RAM.
        const t = vmm(smmuMachine);
        smmuNested(t, 'vste', steS1(8n * M - SZ_4K));
        attach(t, 'nvme0', 'vste');
        const tt = t.process('vmm').dma('nvme0', 'read', 0x1000n, 8n, { expect: 'fault' });
        const run2 = t.run();
        expectAllMatched(run2);
        expect(fault(run2, tt)).toMatchObject({ reason: 'stage2-not-present', gpa: 8n * M });
        expectStep(run2, tt, 'fault', /\[SMMU event F_TRANSLATION, S2=1, CLASS=TT\]/);
    });

    test('a write-only stage 2 (HAP): the table walk cannot read it (stage2-permission)', () => {
        const s = vmm(smmuMachine, { ramSize: 4n * M });
        const p = s.process('vmm');
        p.mmap(4n * M, 'wo');
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('wo'), length: 4n * M, iova: 0x4000_0000, flags: FIXED_IOVA | 2n });
        smmuNested(s, 'vste', steS1(0x10_0000n));
        smmuNested(s, 'woTable', steS1(0x4000_0000n), 0n, false);
        attach(s, 'nvme0', 'vste');
        guestMap(s, 'vmm', v('vste'), 0x1000n, 0x4000_1000n, SZ_4K);
        const read = p.dma('nvme0', 'read', 0x1000n, 8n, { expect: 'fault' });
        const write = p.dma('nvme0', 'write', 0x1000n, 8n);
        attach(s, 'nvme0', 'woTable');
        const walk = p.dma('nvme0', 'read', 0x1000n, 8n, { expect: 'fault' });
        const run = s.run();
        expectAllMatched(run);
        expect(fault(run, read)).toMatchObject({ reason: 'stage2-permission', gpa: 0x4000_1000n });
        expectStep(run, read, 'fault', /GPA 0x40001000 is mapped write-only: the read is refused/);
        expect(segments(run, write)[0]!.gpa).toBe(0x4000_1000n);
        expect(fault(run, walk)).toMatchObject({ reason: 'stage2-permission', gpa: 0x4000_0000n });
        expectStep(run, walk, 'fault', /\[SMMU event F_PERMISSION, S2=1, CLASS=CD\]/);
    });

    test('Config bypass: the IOVA is the IPA (stage 2 only); Config abort: every DMA is terminated', () => {
        const s = vmm(smmuMachine);
        smmuNested(s, 'bypass', 1n | (4n << 1n));
        attach(s, 'nvme0', 'bypass');
        const p = s.process('vmm');
        const through = p.dma('nvme0', 'read', 0x20_0000n, 8n);
        const noTable = guestMap(s, 'vmm', v('bypass'), 0x1000n, 0n, SZ_4K);
        const run = s.run();
        expect(segments(run, through)[0]).toMatchObject({ gpa: 0x20_0000n, pa: hostPa(run, 0x20_0000n) });
        expectStep(run, noTable, 'invalid', /has no guest stage-1 table to write: the guest STE bypasses stage 1 \(Config 4\)/);

        const t = vmm(smmuMachine);
        smmuNested(t, 'abort', 1n);
        attach(t, 'nvme0', 'abort');
        const aborted = t.process('vmm').dma('nvme0', 'read', 0x20_0000n, 8n, { expect: 'fault' });
        const run2 = t.run();
        expectAllMatched(run2);
        expect(fault(run2, aborted).reason).toBe('blocked');
        expectStep(run2, aborted, 'fault', /Config is abort \(0\): every transaction is terminated/);
    });

    test('the vIOMMU invalidation: TLBI_NH_VA drops one page, TLBI_NH_ALL everything', () => {
        const s = vmm(smmuMachine);
        smmuNested(s, 'vste', steS1(0x10_0000n));
        attach(s, 'nvme0', 'vste');
        guestMap(s, 'vmm', v('vste'), 0x1000n, 0x20_0000n, SZ_4K);
        guestMap(s, 'vmm', v('vste'), 0x5000n, 0x30_0000n, SZ_4K);
        const p = s.process('vmm');
        p.dma('nvme0', 'read', 0x1000n, 8n);
        p.dma('nvme0', 'read', 0x5000n, 8n);
        // The guest's io-pgtable-arm unmap stops at a hole (__iommu_unmap): one call per page.
        guestUnmap(s, 'vmm', v('vste'), 0x1000n, SZ_4K);
        guestUnmap(s, 'vmm', v('vste'), 0x5000n, SZ_4K);
        const stale = p.dma('nvme0', 'read', 0x1000n, 8n);
        p.ioctl('IOMMU_HWPT_INVALIDATE', v('iommufd'), { hwpt_id: v('viommu'), data_type: 1, data_uptr: arr([{ 'cmd[0]': 0x12, 'cmd[1]': 0x1000 }]) }, { expect: 'ok', fields: { entry_num: 1 } });
        const va = p.dma('nvme0', 'read', 0x1000n, 8n, { expect: 'fault' });
        const stillStale = p.dma('nvme0', 'read', 0x5000n, 8n);
        p.ioctl('IOMMU_HWPT_INVALIDATE', v('iommufd'), { hwpt_id: v('viommu'), data_type: 1, data_uptr: arr([{ 'cmd[0]': 0x10 }]) }, { expect: 'ok', fields: { entry_num: 1 } });
        const all = p.dma('nvme0', 'read', 0x5000n, 8n, { expect: 'fault' });
        const run = s.run();
        expectAllMatched(run);
        expect(segments(run, stale)[0]!.iotlb).toBe('stale');
        expect(fault(run, va).reason).toBe('stage1-not-present');
        expect(segments(run, stillStale)[0]!.iotlb).toBe('stale');
        expect(fault(run, all).reason).toBe('stage1-not-present');
    });

    test('a range TLBI (TG, NUM, SCALE) drops the granules it covers', () => {
        const s = vmm(smmuMachine);
        smmuNested(s, 'vste', steS1(0x10_0000n));
        attach(s, 'nvme0', 'vste');
        guestMap(s, 'vmm', v('vste'), 0x1000n, 0x20_0000n, 8n * SZ_4K);
        const p = s.process('vmm');
        p.dma('nvme0', 'read', 0x1000n, 8n * SZ_4K);
        guestUnmap(s, 'vmm', v('vste'), 0x1000n, 8n * SZ_4K);
        // TG 4K (1), NUM 3, SCALE 0: four pages from 0x2000.
        p.ioctl('IOMMU_HWPT_INVALIDATE', v('iommufd'), { hwpt_id: v('viommu'), data_type: 1, data_uptr: arr([{ 'cmd[0]': 0x12n | (3n << 12n), 'cmd[1]': 0x2000n | (1n << 10n) }]) }, { expect: 'ok' });
        const before = p.dma('nvme0', 'read', 0x1000n, 8n);
        const inside = p.dma('nvme0', 'read', 0x5000n, 8n, { expect: 'fault' });
        const after = p.dma('nvme0', 'read', 0x6000n, 8n);
        const run = s.run();
        expectAllMatched(run);
        expect(segments(run, before)[0]!.iotlb).toBe('stale');
        expect(fault(run, inside).reason).toBe('stage1-not-present');
        expect(segments(run, after)[0]!.iotlb).toBe('stale');
    });
});

describe('AMD nested: a guest DTE with GV and a GCR3 table', () => {
    test('the GCR3 root pointer split over DTE[0] and DTE[1]; the guest CR3 table from the next page', () => {
        const amd = machineWith({ name: 'ivhd0', kind: 'amd-vi', addressWidth: 48, pageSizes: [SZ_4K, SZ_2M, SZ_1G], pasidWidth: 16, features: ['coherent', 'intr-remap', 'nesting'] }, { kernel: { major: 7, minor: 0 } });
        const s = vmm(amd);
        const p = s.process('vmm');
        p.ioctl('IOMMU_VIOMMU_ALLOC', v('iommufd'), { type: 3, dev_id: v('nvme0_id'), hwpt_id: v('s2') }, { bind: 'viommu' });
        p.ioctl('IOMMU_VDEVICE_ALLOC', v('iommufd'), { viommu_id: v('viommu'), dev_id: v('nvme0_id'), virt_id: 0x10 }, { bind: 'vdev' });
        // V, GIOV, GV; GCR3 TRP 0x10_0000: bits 30:15 (0x20) in DTE[1] 31:16.
        const dte0 = 1n | (1n << 54n) | (1n << 55n);
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('viommu'), data_type: 3, data_uptr: arr([{ 'dte[0]': dte0, 'dte[1]': 0x20n << 16n }]) }, { bind: 'gdte' });
        attach(s, 'nvme0', 'gdte');
        const map = guestMap(s, 'vmm', v('gdte'), 0x1000n, 0x20_0000n, SZ_4K);
        const dma = p.dma('nvme0', 'read', 0x1000n, 8n);
        const run = s.run();
        expectAllMatched(run);
        expect(run.results[map]!.values.tables?.display).toBe('4 table pages at GPA 0x101000-0x104fff');
        expect(segments(run, dma)[0]).toMatchObject({ gpa: 0x20_0000n, pa: hostPa(run, 0x20_0000n) });
    });
});
