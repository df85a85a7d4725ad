/**
 * Topology diagnostics about elements themselves: duplicates, misplaced elements, unknown IOMMU
 * units, capabilities a conventional function cannot have.
 */

import { describe, expect, it } from 'vitest';
import { enumeratePci } from '../../../engine/machine/topology.js';
import type { MachineSpec } from '../../../engine/machine/spec.js';
import { bridge, ds, ep, lineLoc, machine, pci, platformDev, rp, sw, vtd } from './builders.js';

const diags = (spec: MachineSpec) => enumeratePci(spec).diagnostics;

describe('topology diagnostics: elements', () => {
    it('duplicate-name: the later element is reported and dropped', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0',
            rp('00:1c.0', 'rp0', {}, ep('01:00.0', 'nic')),
            rp('00:1d.0', 'rp1', {}, ep('02:00.0', 'nic', { line: 4 }))),
        platformDev('rp0'));
        expect(diags(spec)).toEqual([
            {
                severity: 'error', code: 'duplicate-name', loc: lineLoc(4),
                message: '0000:02:00.0 (nic) reuses the name nic of 0000:01:00.0 (nic); the later one is ignored',
            },
            {
                severity: 'error', code: 'duplicate-name', loc: undefined,
                message: 'platform device rp0 reuses the name of 0000:00:1c.0 (rp0); the later one is ignored',
            },
        ]);
        expect(enumeratePci(spec).devices.map((d) => d.devName)).toEqual(['0000:00:1c.0', '0000:00:1d.0', '0000:01:00.0']);
    });

    it('pci-duplicate-bdf: the later element is reported and dropped with what is below it', () => {
        const spec = machine(pci(0, undefined,
            rp('00:1c.0', 'rp0', {}),
            rp('00:1c.0', 'rpX', { line: 2 }, ep('05:00.0', 'lost'))));
        expect(diags(spec)).toEqual([{
            severity: 'error', code: 'pci-duplicate-bdf', loc: lineLoc(2),
            message: '0000:00:1c.0 (rpX) has the address of 0000:00:1c.0 (rp0): two functions cannot share 0000:00:1c.0; the later one is ignored',
        }]);
        expect(enumeratePci(spec).devices.map((d) => d.name)).toEqual(['rp0']);
    });

    it('unknown-iommu: a pci block or platform device naming an undeclared unit gets no IOMMU', () => {
        const block = { ...pci(0, 'dmar9', ep('00:02.0', 'a')), loc: lineLoc(3) };
        const spec = machine(vtd('dmar0'), block, { ...platformDev('acpi0', 'nope'), loc: lineLoc(5) });
        expect(diags(spec)).toEqual([
            {
                severity: 'error', code: 'unknown-iommu', loc: lineLoc(3),
                message: 'pci 0000 names IOMMU unit dmar9, which this machine does not declare: its devices get no IOMMU group',
            },
            {
                severity: 'error', code: 'unknown-iommu', loc: lineLoc(5),
                message: 'platform device acpi0 names IOMMU unit nope, which this machine does not declare: it gets no IOMMU group',
            },
        ]);
        expect(enumeratePci(spec).devices[0]!.iommu).toBeUndefined();
    });

    it.each([
        ['a root port below a port', rp('00:1c.0', 'rp0', {}, rp('01:00.0', 'inner', { line: 1 })),
            '0000:01:00.0 (inner): a root port sits on a root bus, directly in a pci block, but this one is below rp0'],
        ['a switch on the root bus', sw('00:02.0', 'sw', { line: 1 }),
            '0000:00:02.0 (sw): a switch upstream port sits on the link below a root port or a downstream port, but this one is on the root bus'],
        ['a downstream port outside a switch', rp('00:1c.0', 'rp0', {}, ds('01:00.0', 'd', { line: 1 })),
            '0000:01:00.0 (d): a downstream port belongs in a switch, but this one is below rp0'],
        ['a switch on a conventional bus', bridge('00:1e.0', 'b', {}, sw('01:00.0', 'sw', { line: 1 })),
            '0000:01:00.0 (sw): a switch upstream port needs a PCIe link, but this one is below b, a conventional PCI bus'],
        ['a PCIe-to-PCI bridge on a conventional bus', bridge('00:1e.0', 'b', {}, bridge('01:00.0', 'inner', { line: 1 })),
            '0000:01:00.0 (inner): a PCIe-to-PCI bridge needs a PCIe link upstream, but this one is below b, a conventional PCI bus'],
    ])('pci-misplaced: %s', (_what, node, message) => {
        expect(diags(machine(pci(0, undefined, node)))).toEqual([{ severity: 'error', code: 'pci-misplaced', loc: lineLoc(1), message }]);
    });

    it('pcie-capability-on-conventional: written conventional, or behind a PCI bridge', () => {
        const spec = machine(pci(0, undefined,
            ep('00:02.0', 'old', { conventional: true, acs: true, line: 1 }),
            bridge('00:1e.0', 'b', {}, ep('01:00.0', 'card', { sriov: 4, pasid: 20, ats: true, pri: true, line: 2 }))));
        expect(diags(spec)).toEqual([
            {
                severity: 'warning', code: 'pcie-capability-on-conventional', loc: lineLoc(1),
                message: '0000:00:02.0 (old) is a conventional PCI function (it is written conventional), so Linux does not see its PCIe extended capabilities: acs',
            },
            {
                severity: 'warning', code: 'pcie-capability-on-conventional', loc: lineLoc(2),
                message: '0000:01:00.0 (card) is a conventional PCI function (it sits on the conventional bus below b), so Linux does not see its PCIe extended capabilities: sriov, pasid-width, ats, pri',
            },
        ]);
        const card = enumeratePci(spec).devices.find((d) => d.name === 'card')!;
        expect(card.pci).toMatchObject({ sriovTotal: undefined, pasidWidth: 0, ats: false, pri: false, acs: undefined });
    });

    it('acs-ignored: ACS on a PCIe-to-PCI bridge never isolates', () => {
        expect(diags(machine(pci(0, undefined, bridge('00:1e.0', 'b', { acs: true, line: 1 }))))).toEqual([{
            severity: 'warning', code: 'acs-ignored', loc: lineLoc(1),
            message: '0000:00:1e.0 (b) is a PCIe-to-PCI bridge: pci_acs_enabled never counts one as isolating (PCIe r3.0 6.12.1), so its acs has no effect',
        }]);
    });
});
