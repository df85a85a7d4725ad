/**
 * VF creation (`pci_iov_add_virtfn`): addresses, virtual buses, fields.
 */

import { describe, expect, it } from 'vitest';
import { pci_iov_virtfn_bus, pci_iov_virtfn_devfn, virtfnDevices } from '../../../engine/machine/sriov.js';
import { enumeratePci } from '../../../engine/machine/topology.js';
import { ep, machine, pci, rp, vtd } from './builders.js';

const spec = machine(vtd('dmar0'), pci(0, 'dmar0',
    rp('00:01.0', 'rp0', { acs: true },
        ep('01:00.0', 'p0', { sriov: 64, pasid: 16, ats: true, className: 'network', id: '8086:10c9' }),
        ep('01:00.1', 'p1', { sriov: 64 }),
        ep('01:00.2', 'p2', { sriov: 8 }))));
const devices = new Map(enumeratePci(spec).devices.map((d) => [d.name, d]));
const pf = (name: string) => devices.get(name)!.pci;

describe('VF routing IDs', () => {
    // RID = PF RID + First VF Offset (0x80 + 0x3f * fn) + n (stride 1).
    it('function 0: VFs from devfn 0x80 on the PF bus', () => {
        expect(virtfnDevices('p0', pf('p0'), 'dmar0', 3).map((v) => v.devName)).toEqual(['0000:01:10.0', '0000:01:10.1', '0000:01:10.2']);
    });

    it('each PF of a slot gets its own block', () => {
        expect(virtfnDevices('p1', pf('p1'), 'dmar0', 2).map((v) => v.devName)).toEqual(['0000:01:18.0', '0000:01:18.1']);
        expect(virtfnDevices('p2', pf('p2'), 'dmar0', 2).map((v) => v.devName)).toEqual(['0000:02:00.0', '0000:02:00.1']);
    });

    it('pci_iov_virtfn_bus/devfn spill onto the next bus past devfn 255', () => {
        expect([pci_iov_virtfn_bus(pf('p0'), 127), pci_iov_virtfn_devfn(pf('p0'), 127)]).toEqual([1, 0xff]);
        expect([pci_iov_virtfn_bus(pf('p0'), 128), pci_iov_virtfn_devfn(pf('p0'), 128)]).toEqual([2, 0x00]);
    });
});

describe('VF struct pci_dev', () => {
    it('names, PF links, not multifunction, PASID/ATS from the PF', () => {
        const [vf0] = virtfnDevices('p0', pf('p0'), 'dmar0', 1);
        expect(vf0).toMatchObject({ name: 'p0.vf0', devName: '0000:01:10.0', iommu: 'dmar0', driver: null, noSnoop: false });
        expect(vf0!.pci).toMatchObject({
            type: 'endpoint', vendor: 0x8086, deviceId: 0x10c9, className: 'network', multifunction: false,
            upstream: 'rp0', physfn: 'p0', vfIndex: 0, pasidWidth: 16, ats: true, pri: false,
            dmaAliasDevfns: [], resets: ['flr'],
        });
        expect(vf0!.pci.acs).toBeUndefined();
        expect(vf0!.pci.virtualBus).toBeUndefined();
    });

    // virtfn_add_bus: a bus with no bridge (bus->self NULL) for RIDs beyond the PF's bus.
    it('VFs on a virtual bus have no bus->self', () => {
        const vf = virtfnDevices('p2', pf('p2'), 'dmar0', 1)[0]!;
        expect(vf.pci.upstream).toBeUndefined();
        expect(vf.pci.virtualBus).toBe(true);
    });
});
