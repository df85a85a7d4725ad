import { describe, expect, test } from 'vitest';
import type { MachineSpec } from '../../engine/machine/spec.js';
import { runScenario } from '../../engine/runner.js';
import { ep, pci, rp, vtd } from './machine/builders.js';
import { K, M, dev, expectStep, path, scenario, v, vfioGroup } from './scenario.js';

const machine: MachineSpec = {
    name: 'm',
    iommus: [vtd('dmar0')],
    segments: [pci(0, 'dmar0',
        rp('00:01.0', 'rp0', { acs: true }, ep('01:00.0', 'nic0', { driver: 'e1000e' })),
        rp('00:02.0', 'rp1', { acs: true }, ep('02:00.0', 'nvme0', { driver: 'nvme' })),
    )],
    platform: [],
    mdevs: [],
};

/** A process that assigns nic0 through the legacy API and opens its device fd. */
function assignNic() {
    const s = scenario(machine);
    const vmm = s.process('vmm');
    vmm.unbind('nic0');
    vmm.bind('nic0', 'vfio-pci');
    vmm.open(path('/dev/vfio/vfio'), 'container');
    vmm.open(vfioGroup('nic0'), 'group');
    vmm.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('container') });
    vmm.ioctl('VFIO_SET_IOMMU', v('container'), { positional: 3n });
    vmm.mmap(2n * M, 'ram');
    vmm.ioctl('VFIO_IOMMU_MAP_DMA', v('container'), { vaddr: v('ram'), iova: 0, size: 2n * M, flags: 3n });
    vmm.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('group'), { positional: dev('nic0') }, { bind: 'dev' });
    return { s, vmm };
}

describe('snapshots', () => {
    test('each tick keeps the state after it, sharing what did not change', () => {
        const { s } = assignNic();
        const run = s.run();
        expect(run.ticks.length).toBe(s.steps.length);
        const before = run.ticks[2]!.state.kernel; // after opening the container
        const after = run.ticks[3]!.state.kernel; // after opening the group
        // Opening a group file does not touch domains: the map is the very same object.
        expect(after.domains).toBe(before.domains);
        expect(after.files).not.toBe(before.files);
        // Stepping back is reading an older snapshot: it still shows the old state.
        expect(run.ticks[0]!.state.kernel.devices.get('nic0')!.driver).toBe(null);
        expect(run.ticks[1]!.state.kernel.devices.get('nic0')!.driver).toBe('vfio-pci');
        expect(run.initial.kernel.devices.get('nic0')!.driver).toBe('e1000e');
    });

    test('a failed call leaves the kernel state as it was', () => {
        const s = scenario(machine);
        const p = s.process('p');
        p.bind('nic0', 'vfio-pci', { expect: 'EBUSY' });
        const run = s.run();
        expectStep(run, 0, 'EBUSY', /already bound to e1000e/);
        expect(run.ticks[0]!.state.kernel).toBe(run.initial.kernel);
    });
});

describe('variables', () => {
    test('let binds the main out-value; a failed open binds -1 and later use is EBADF', () => {
        const s = scenario(machine);
        const p = s.process('p');
        p.open(path('/dev/vfio/42'), 'g', { expect: 'ENOENT' });
        const st = p.ioctl('VFIO_GROUP_GET_STATUS', v('g'), {}, { expect: 'EBADF' });
        const run = s.run();
        expect(run.ticks[0]!.state.env.get('p')!.get('g')!.value).toBe(-1n);
        expectStep(run, st, 'EBADF', /fd -1 is not open in p/);
    });

    test('an unbound variable makes the step invalid, not a kernel error', () => {
        const s = scenario(machine);
        const p = s.process('p');
        p.close(v('nope'));
        const run = s.run();
        expectStep(run, 0, 'invalid', /'nope' is not bound/);
        expect(run.results[0]!.expectation?.matched).toBe(false);
    });

    test('fork copies fds and bindings; send passes an fd to another process', () => {
        const s = scenario(machine);
        const a = s.process('a');
        a.open(path('/dev/vfio/vfio'), 'c');
        a.fork('child');
        const child = s.process('child');
        child.ioctl('VFIO_GET_API_VERSION', v('c'), {}, { expect: 'ok', fields: { value: 0 } });
        const b = s.process('b');
        a.send(v('c'), 'b', 'got');
        b.ioctl('VFIO_CHECK_EXTENSION', v('got'), { positional: 3n }, { expect: 'ok', fields: { value: 1 } });
        const run = s.run();
        expect(run.results.every((r) => r.expectation?.matched)).toBe(true);
        // The container file is shared by three fds now.
        const k = run.ticks[run.ticks.length - 1]!.state.kernel;
        expect([...k.files.values()].find((f) => f.kind === 'vfio-container')!.refs).toBe(3);
    });
});

describe('blocking calls', () => {
    test('unbinding vfio-pci while a device fd is open blocks until another process closes it', () => {
        const { s, vmm } = assignNic();
        const admin = s.process('admin');
        const unbind = admin.unbind('nic0');
        const afterUnbind = admin.bind('nic0', 'e1000e'); // queued behind the blocked unbind
        const dma = vmm.dma('nic0', 'write', 0x1000n, 64n);
        const close = vmm.close(v('dev'));
        const run = s.run();
        // Order: unbind blocks; vmm's DMA still runs (the device is still assigned); the close
        // wakes the unbind, which completes, then admin's queued bind runs.
        const order = run.ticks.map((t) => `${t.kind}:${t.step}`);
        expect(order.slice(-5)).toEqual([`block:${unbind}`, `run:${dma}`, `run:${close}`, `resume:${unbind}`, `run:${afterUnbind}`]);
        expectStep(run, unbind, 'ok');
        // nic0 was its group's last VFIO device: vfio_device_remove_group detached the container
        // and released DMA ownership, so the kernel driver can take it back.
        expectStep(run, afterUnbind, 'ok');
        expect(run.ticks[run.ticks.length - 1]!.state.kernel.groups.get(run.ticks[0]!.state.kernel.devices.get('nic0')!.group!)!.owner).toBe(null);
        expectStep(run, dma, 'ok');
        expect(run.stillBlocked).toEqual([]);
    });

    test('a scenario that ends with a process still blocked reports where it waits', () => {
        const { s } = assignNic();
        const admin = s.process('admin');
        const unbind = admin.unbind('nic0');
        const later = admin.close(v('nothing'));
        const run = s.run();
        expectStep(run, unbind, 'blocked');
        expect(run.results[unbind]!.waitingFor).toMatch(/0000:01:00\.0 \(nic0\) has 1 open VFIO device file: vfio_unregister_group_dev sleeps/);
        expectStep(run, later, 'not-run');
        expect(run.stillBlocked).toEqual([{ process: 'admin', step: unbind, waitingFor: expect.stringContaining('nic0') }]);
    });
});

describe('incremental re-runs', () => {
    test('a change late in the scenario reuses the snapshots before it and gives the same results', () => {
        const { s, vmm } = assignNic();
        vmm.dma('nic0', 'write', 0x1000n, 64n);
        const first = s.run();
        const changed = { ...s.program(), steps: [...s.program().steps] };
        const last = changed.steps.length - 1;
        changed.steps[last] = { ...changed.steps[last]!, op: 'dma', device: 'nic0', dir: 'read', iova: { kind: 'int', value: 0x30_0000n }, length: { kind: 'int', value: 8n } } as (typeof changed.steps)[number];
        const again = runScenario(changed, { previous: first });
        const fresh = runScenario(changed);
        expect(again.reusedTicks).toBe(last);
        expect(again.results.map((r) => [r.outcome, r.reason])).toEqual(fresh.results.map((r) => [r.outcome, r.reason]));
        expectStep(again, last, 'fault', /0x300000 is not mapped/);
    });

    test('moving a statement (new source location, same behaviour) reuses everything', () => {
        const { s } = assignNic();
        const first = s.run();
        const moved = { ...s.program(), steps: s.program().steps.map((st) => ({ ...st, loc: { start: { line: 99, character: 0 }, end: { line: 99, character: 1 } } })) };
        const again = runScenario(moved, { previous: first });
        expect(again.reusedTicks).toBe(first.ticks.length);
    });

    test('a changed machine reruns from boot', () => {
        const { s } = assignNic();
        const first = s.run();
        const other = { ...s.program(), machine: { ...machine, cmdline: 'iommu=pt' } };
        expect(runScenario(other, { previous: first }).reusedTicks).toBe(0);
    });
});

describe('expectations', () => {
    test('mismatches say what was expected and what happened', () => {
        const s = scenario(machine);
        const p = s.process('p');
        p.open(path('/dev/vfio/vfio'), 'c', { expect: 'EBUSY' });
        p.ioctl('VFIO_CHECK_EXTENSION', v('c'), { positional: 3n }, { expect: 'ok', fields: { value: 0 } });
        p.mmap(4n * K, 'm');
        p.dma('nic0', 'write', 0x1000n, 8n, { expect: 'fault' });
        const run = s.run();
        expect(run.results[0]!.expectation).toEqual({ matched: false, message: 'expected EBUSY, got ok' });
        expect(run.results[1]!.expectation?.message).toBe('ok, but value: expected 0, got 1');
        // nic0 is on its kernel driver: its default DMA domain has no DMA-API mapping there.
        expect(run.results[3]!.expectation?.matched).toBe(true);
        expectStep(run, 3, 'fault', /not mapped in DMA-API domain.*only a kernel driver's DMA-API calls map into it/);
    });
});
