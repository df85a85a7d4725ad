/** Machine blocks lower to the engine's MachineSpec. */

import { describe, expect, test } from 'vitest';
import type { EndpointSpec, PciNodeSpec, RootPortSpec } from '../../../engine/machine/spec.js';
import { lowerMachine, parseKernelVersion, parsePciId } from '../../../language/lowering/lower-machine.js';
import { describeDiagnostics, fixture, lineOf, parseValid, WORKSTATION } from '../helpers.js';

async function machineSpec(text: string, index = 0) {
    const document = await parseValid(text);
    expect(describeDiagnostics(document)).toEqual([]);
    return lowerMachine(document.parseResult.value.machines[index]!);
}

/** Every PCI node of a spec, depth first. */
function allNodes(nodes: readonly PciNodeSpec[]): PciNodeSpec[] {
    return nodes.flatMap(node => [
        node,
        ...allNodes('children' in node ? node.children : 'ports' in node ? node.ports : []),
    ]);
}

function byName(nodes: readonly PciNodeSpec[], name: string): PciNodeSpec {
    const found = allNodes(nodes).find(n => n.name === name);
    if (!found) {
        throw new Error(`no ${name}`);
    }
    return found;
}

describe("the contract's machine", () => {
    test('settings and IOMMU units', async () => {
        const spec = await machineSpec(WORKSTATION);
        expect(spec.name).toBe('workstation');
        expect(spec.kernel).toEqual({ major: 6, minor: 12 });
        expect(spec.memory).toBe(16n << 30n);
        expect(spec.pageSize).toBe(4096);
        expect(spec.cmdline).toBe('vfio_iommu_type1.allow_unsafe_interrupts=1 vfio_iommu_type1.dma_entry_limit=1024');
        expect(spec.iommus).toEqual([expect.objectContaining({
            name: 'dmar0',
            kind: 'intel-vtd',
            addressWidth: 48,
            pageSizes: [4096n, 2n << 20n, 1n << 30n],
            pasidWidth: 20,
            features: ['coherent', 'enforce-coherency', 'intr-remap', 'nesting', 'dirty-tracking', 'sva'],
        })]);
        expect(spec.platform).toEqual([]);
    });

    test('PCI topology: BDFs, ACS, drivers, SR-IOV, bridges and switches', async () => {
        const spec = await machineSpec(WORKSTATION);
        expect(spec.segments).toHaveLength(1);
        const segment = spec.segments[0]!;
        expect(segment).toMatchObject({ segment: 0, iommu: 'dmar0' });
        const nodes = segment.children;

        expect(byName(nodes, 'igpu')).toMatchObject({
            type: 'endpoint', bdf: { segment: 0, bus: 0, device: 2, fn: 0 }, vendor: 0x8086, deviceId: 0x9a49, className: 'display', driver: 'i915',
        });
        const rp0 = byName(nodes, 'rp0') as RootPortSpec;
        expect(rp0).toMatchObject({ type: 'root-port', bdf: { bus: 0, device: 0x1c, fn: 0 }, acs: { enabled: ['sv', 'rr', 'cr', 'uf'] } });
        expect(rp0.children.map(c => c.name)).toEqual(['nvme0']);
        expect(rp0.driver).toBeUndefined();
        const rp1 = byName(nodes, 'rp1');
        expect(rp1.acs).toBeUndefined();
        expect(byName(nodes, 'nic0')).toMatchObject({ bdf: { segment: 0, bus: 2, device: 0, fn: 0 }, driver: 'ixgbe' });
        expect(byName(nodes, 'nic1')).toMatchObject({ bdf: { segment: 0, bus: 2, device: 0, fn: 1 }, driver: 'ixgbe' });
        expect(byName(nodes, 'legacy')).toMatchObject({ type: 'pci-bridge', bdf: { bus: 0, device: 0x1e, fn: 0 } });
        expect(byName(nodes, 'legacy')).not.toHaveProperty('conventional');
        expect(byName(nodes, 'sound0')).toMatchObject({ bdf: { bus: 3 }, driver: 'snd_hda_intel' });
        const sw0 = byName(nodes, 'sw0');
        expect(sw0).toMatchObject({ type: 'switch', bdf: { bus: 4, device: 0, fn: 0 } });
        expect('ports' in sw0 && sw0.ports.map(p => [p.bdf.bus, p.bdf.device, p.acs?.enabled ?? null])).toEqual([
            [5, 1, ['sv', 'rr', 'cr', 'uf']],
            [5, 2, null],
        ]);
        const gpu0 = byName(nodes, 'gpu0') as EndpointSpec;
        expect(gpu0).toMatchObject({ bdf: { bus: 6 }, driver: 'nvidia', pasidWidth: 20, ats: true, pri: true, sriov: 4 });
        expect(byName(nodes, 'fpga0')).toMatchObject({ bdf: { bus: 7 }, driver: null, noSnoop: true });
        expect(gpu0.noSnoop).toBeUndefined();
    });

    test('mdevs', async () => {
        const spec = await machineSpec(WORKSTATION);
        expect(spec.mdevs.map(m => ({ name: m.name, parent: m.parent, kind: m.kind }))).toEqual([
            { name: 'vgpu0', parent: 'gpu0', kind: 'emulated' },
            { name: 'vgpu1', parent: 'gpu0', kind: 'pasid' },
        ]);
    });

    test('locations are 0-based LSP ranges of the declaring text', async () => {
        const spec = await machineSpec(WORKSTATION);
        const nic0 = byName(spec.segments[0]!.children, 'nic0');
        expect(nic0.loc?.start.line).toBe(lineOf(WORKSTATION, 'endpoint 02:00.0 nic0'));
        expect(nic0.loc?.uri).toMatch(/^file:\/\/\/test\//);
        expect(spec.loc?.start).toEqual({ line: lineOf(WORKSTATION, 'machine workstation'), character: 0 });
    });
});

describe('more machine forms', () => {
    test('several units and segments, conventional bridges and functions, aliases, resets, platform devices', async () => {
        const spec = await machineSpec(fixture('contract/more-of-the-language.iommu'));
        expect(spec.iommus.map(u => [u.name, u.kind, u.mode ?? null])).toEqual([
            ['dmar0', 'intel-vtd', 'scalable'], ['dmar1', 'intel-vtd', 'legacy'], ['smmu0', 'arm-smmu-v3', null],
        ]);
        expect(spec.segments.map(s => [s.segment, s.iommu])).toEqual([[0, 'dmar0'], [1, 'dmar1']]);
        const nodes = spec.segments.flatMap(s => s.children);
        expect(byName(nodes, 'igpu')).toMatchObject({ resets: ['flr', 'pm'] });
        expect(byName(nodes, 'rp0')).toMatchObject({ vendor: 0x8086, deviceId: 0xa110, driver: 'pcieport', acs: { enabled: ['sv', 'rr', 'cr', 'uf'] } });
        expect(byName(nodes, 'gpu0')).toMatchObject({ acs: { enabled: ['sv', 'rr', 'cr', 'uf'] }, resets: ['flr', 'bus'] });
        expect(byName(nodes, 'gpu0_audio')).toMatchObject({ dmaAliases: [{ segment: 0, bus: 1, device: 0, fn: 0 }] });
        expect(byName(nodes, 'sound0')).toMatchObject({ conventional: true });
        expect(byName(nodes, 'old')).toMatchObject({ type: 'pci-bridge', conventional: true, driver: null });
        expect(byName(nodes, 'dsa0')).toMatchObject({ requireDirect: true });
        expect(byName(nodes, 'nvme0')).toMatchObject({ bdf: { segment: 1, bus: 1, device: 0, fn: 0 } });
        expect(spec.platform).toEqual([expect.objectContaining({ name: 'dsp0', iommu: 'smmu0', driver: 'qcom_dsp', pasidWidth: 8 })]);
    });

    test('acs(...) enables the listed flags only; segments are hex', async () => {
        const spec = await machineSpec('machine m { pci 0010 { root-port 00:01.0 rp acs(sv rr) { } root-port 00:02.0 none acs() } }');
        expect(spec.segments[0]!.segment).toBe(16);
        expect(spec.segments[0]!.children.map(c => c.acs)).toEqual([{ enabled: ['sv', 'rr'] }, { enabled: [] }]);
        expect(spec.segments[0]!.children[0]!.bdf).toEqual({ segment: 16, bus: 0, device: 1, fn: 0 });
    });

    test('helpers: kernel versions and PCI IDs', () => {
        expect(parseKernelVersion('6.12')).toEqual({ major: 6, minor: 12 });
        expect(parseKernelVersion('7')).toEqual({ major: 7, minor: 0 });
        expect(parseKernelVersion('x')).toBeUndefined();
        expect(parsePciId('10de:1b80')).toEqual({ vendor: 0x10de, deviceId: 0x1b80 });
    });
});
