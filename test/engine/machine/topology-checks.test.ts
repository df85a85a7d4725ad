/**
 * Topology diagnostics about bus numbers and slots: what Linux would renumber or never scan.
 */

import { describe, expect, it } from 'vitest';
import { enumeratePci } from '../../../engine/machine/topology.js';
import type { MachineSpec } from '../../../engine/machine/spec.js';
import { ds, ep, lineLoc, machine, pci, rp, sw } from './builders.js';

const diags = (spec: MachineSpec) => enumeratePci(spec).diagnostics;

describe('topology diagnostics: buses and slots', () => {
    it('pci-bus-mismatch: siblings on different buses', () => {
        const spec = machine(pci(0, undefined,
            rp('00:1d.0', 'rp1', {}, ep('02:00.0', 'nic0'), ep('03:00.0', 'nic1', { line: 3 }))));
        expect(diags(spec)).toEqual([{
            severity: 'error', code: 'pci-bus-mismatch', loc: lineLoc(3),
            message: '0000:03:00.0 (nic1) is on bus 03 but its sibling 0000:02:00.0 (nic0) below rp1 is on bus 02: the functions below a bridge all sit on its one secondary bus',
        }]);
    });

    // The brief's "a device below a root port on bus 0".
    it('pci-child-on-parent-bus: a child on the bus its bridge sits on', () => {
        const spec = machine(pci(0, undefined, rp('00:1c.0', 'rp1', {}, ep('00:00.0', 'x', { line: 2 }))));
        expect(diags(spec)).toEqual([{
            severity: 'error', code: 'pci-child-on-parent-bus', loc: lineLoc(2),
            message: "0000:00:00.0 (x) is on bus 00, the bus its parent rp1 itself sits on: the functions below a bridge sit on its secondary bus, numbered above the bridge's own",
        }]);
    });

    it('pci-bus-order: a secondary bus numbered below the bridge', () => {
        const spec = machine(pci(0, undefined,
            rp('00:1c.0', 'rp', {}, sw('05:00.0', 'sw', {}, ds('03:01.0', 'd', { line: 3 })))));
        expect(diags(spec)).toEqual([{
            severity: 'error', code: 'pci-bus-order', loc: lineLoc(3),
            message: "0000:03:01.0 (d) is on bus 03 but its parent sw sits on bus 05: a secondary bus numbered below the bridge's own is a misconfigured bridge, which Linux renumbers (pci_scan_bridge_extend)",
        }]);
    });

    it('pci-child-on-root-bus: a bridge whose secondary bus is a root bus', () => {
        const spec = machine(pci(0, undefined,
            rp('00:1c.0', 'rpa', {}, ep('80:00.0', 'x', { line: 2 })),
            ep('80:02.0', 'rciep')));
        expect(diags(spec)).toEqual([{
            severity: 'error', code: 'pci-child-on-root-bus', loc: lineLoc(2),
            message: '0000:80:00.0 (x) is on bus 80, below rpa, but bus 80 is a root bus of segment 0000',
        }]);
    });

    it('pci-bus-conflict: one bus below two bridges', () => {
        const spec = machine(pci(0, undefined,
            rp('00:1c.0', 'rp0', {}, sw('02:00.0', 'swa', {}, ds('03:01.0', 'dsa', {}))),
            rp('00:1d.0', 'rp1', {}, ep('03:00.0', 'x', { line: 5 }))));
        expect(diags(spec)).toEqual([{
            severity: 'error', code: 'pci-bus-conflict', loc: lineLoc(5),
            message: '0000:03:00.0 (x) is on bus 03, below rp1, but bus 03 is already the secondary bus of swa: a bus sits below exactly one bridge',
        }]);
    });

    it('pci-missing-function0: a slot without function 0', () => {
        const spec = machine(pci(0, undefined, rp('00:1d.0', 'rp1', {}, ep('02:00.1', 'nic1', { line: 2 }))));
        expect(diags(spec)).toEqual([{
            severity: 'error', code: 'pci-missing-function0', loc: lineLoc(2),
            message: "0000:02:00.1 (nic1) is function 1 of slot 0000:02:00, which has no function 0: pci_scan_slot stops at a missing function 0, so Linux never sees the slot's other functions",
        }]);
    });

    it('pci-missing-function0 on a root bus too', () => {
        expect(diags(machine(pci(0, undefined, ep('00:02.1', 'a', { line: 1 }))))[0]?.code).toBe('pci-missing-function0');
    });

    it('pci-device-not-scanned: device > 0 on the link below a PCIe port (only_one_child)', () => {
        const spec = machine(pci(0, undefined, rp('00:1d.0', 'rp1', {}, ep('02:00.0', 'a'), ep('02:01.0', 'b', { line: 3 }))));
        expect(diags(spec)).toEqual([{
            severity: 'error', code: 'pci-device-not-scanned', loc: lineLoc(3),
            message: '0000:02:01.0 (b) is device 01 on the link below rp1: Linux scans only device 00 below a PCIe root or downstream port (only_one_child)',
        }]);
    });

    // Below a switch upstream port, downstream ports at any device number are normal.
    it('no diagnostics for a well-formed switch', () => {
        const spec = machine(pci(0, undefined,
            rp('00:1c.0', 'rp', {}, sw('01:00.0', 'sw', {}, ds('02:01.0', 'a', {}, ep('03:00.0', 'x')), ds('02:1f.0', 'b', {})))));
        expect(diags(spec)).toEqual([]);
    });
});
