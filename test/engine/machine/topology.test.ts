/**
 * PCI enumeration: order, `struct pci_dev` fields, defaults.
 */

import { describe, expect, it } from 'vitest';
import { enumeratePci } from '../../../engine/machine/topology.js';
import { bridge, ds, ep, lineLoc, machine, pci, rp, sw, vtd } from './builders.js';

const names = (spec: Parameters<typeof enumeratePci>[0]) => enumeratePci(spec).devices.map((d) => d.name);

describe('enumeration order (pci_scan_child_bus / pci_bus_add_devices)', () => {
    // Bus 00 by devfn (1c.0 before 1d.0 before 1f.0), then depth first behind each bridge in
    // that order: bus 01, then bus 02 and everything below it, then bus 05.
    it('every function of a bus by devfn, then the buses behind each bridge, depth first', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0',
            rp('00:1f.0', 'rpz', {}, ep('05:00.0', 'z')),
            rp('00:1c.0', 'rpa', {}, ep('01:00.0', 'a')),
            rp('00:1d.0', 'rpb', {}, sw('02:00.0', 'sw', {}, ds('03:02.0', 'ds2', {}, ep('04:00.0', 'b2')), ds('03:01.0', 'ds1', {})))));
        expect(names(spec)).toEqual(['rpa', 'rpb', 'rpz', 'a', 'sw', 'ds1', 'ds2', 'b2', 'z']);
    });

    // Segments in declaration order; root buses of a segment by ascending number.
    it('segments in declaration order, root buses ascending', () => {
        const spec = machine(
            pci(1, undefined, ep('00:02.0', 's1')),
            pci(0, undefined, ep('80:02.0', 'hi'), ep('00:02.0', 'lo')));
        expect(names(spec)).toEqual(['s1', 'lo', 'hi']);
    });
});

describe('struct pci_dev fields', () => {
    const spec = machine(vtd('dmar0'), pci(0, 'dmar0',
        ep('00:02.0', 'igpu', { id: '8086:9a49', className: 'display' }),
        ep('00:03.0', 'old', { conventional: true }),
        rp('00:1c.0', 'rp0', { acs: true }, ep('01:00.0', 'nvme0', { pasid: 20, ats: true, pri: true, sriov: 8, noSnoop: true })),
        rp('00:1d.0', 'rp1', { acs: ['sv', 'rr'], driver: null }, ep('02:00.0', 'nic0', { driver: 'ixgbe' }), ep('02:00.1', 'nic1')),
        bridge('00:1e.0', 'legacy', {}, ep('03:00.0', 'sound0', { ats: true }), bridge('03:01.0', 'cb', { conventional: true }, ep('04:00.0', 'card'))),
        rp('00:1f.0', undefined, {}, sw('05:00.0', 'sw0', {}, ds('06:01.0', undefined, {}, ep('07:00.0', 'gpu0')))),
    ));
    const { devices, diagnostics } = enumeratePci(spec);
    const dev = (name: string) => {
        const d = devices.find((x) => x.name === name);
        if (!d) {
            throw new Error(name);
        }
        return d;
    };

    it('PCIe types as Linux sees them', () => {
        expect(Object.fromEntries(devices.map((d) => [d.name, d.pci.type]))).toEqual({
            'igpu': 'rc-endpoint',
            'old': 'conventional',
            'rp0': 'root-port',
            'rp1': 'root-port',
            'legacy': 'pcie-to-pci-bridge',
            '0000:00:1f.0': 'root-port',
            'nvme0': 'endpoint',
            'nic0': 'endpoint',
            'nic1': 'endpoint',
            // Behind a PCIe-to-PCI bridge is a conventional PCI bus: no PCIe capability.
            'sound0': 'conventional',
            'cb': 'pci-bridge',
            'card': 'conventional',
            'sw0': 'upstream-port',
            '0000:06:01.0': 'downstream-port',
            'gpu0': 'endpoint',
        });
    });

    it('unnamed ports are keyed by their address', () => {
        expect(dev('0000:06:01.0').devName).toBe('0000:06:01.0');
        expect(dev('nic1').devName).toBe('0000:02:00.1');
    });

    // pci_scan_slot: a function > 0 makes the whole slot multifunction.
    it('multifunction per slot', () => {
        expect(dev('nic0').pci.multifunction).toBe(true);
        expect(dev('nic1').pci.multifunction).toBe(true);
        expect(dev('nvme0').pci.multifunction).toBe(false);
        expect(dev('igpu').pci.multifunction).toBe(false);
    });

    // SV 0x01 | RR 0x04 | CR 0x08 | UF 0x10 = 0x1d.
    it('ACS registers: acs, acs(sv rr), none', () => {
        expect(dev('rp0').pci.acs).toEqual({ cap: 0x1d, ctrl: 0x1d });
        expect(dev('rp1').pci.acs).toEqual({ cap: 0x1d, ctrl: 0x05 });
        expect(dev('0000:00:1f.0').pci.acs).toBeUndefined();
    });

    it('bus->self and secondary bus numbers', () => {
        expect(dev('nvme0').pci.upstream).toBe('rp0');
        expect(dev('rp0').pci.upstream).toBeUndefined();
        expect(dev('rp0').pci.secondaryBus).toBe(1);
        expect(dev('legacy').pci.secondaryBus).toBe(3);
        expect(dev('cb').pci.upstream).toBe('legacy');
        expect(dev('cb').pci.secondaryBus).toBe(4);
        expect(dev('sw0').pci.secondaryBus).toBe(6);
        expect(dev('gpu0').pci.upstream).toBe('0000:06:01.0');
        expect(dev('nvme0').pci.secondaryBus).toBeUndefined();
    });

    it('initial drivers: the spec, else pcieport for ports, else none', () => {
        expect(dev('rp0').driver).toBe('pcieport');
        expect(dev('sw0').driver).toBe('pcieport');
        expect(dev('0000:06:01.0').driver).toBe('pcieport');
        expect(dev('rp1').driver).toBeNull();
        expect(dev('legacy').driver).toBeNull();
        expect(dev('nic0').driver).toBe('ixgbe');
        expect(dev('nic1').driver).toBeNull();
    });

    it('IDs: the written ones, else the neutral 1b36:0000', () => {
        expect([dev('igpu').pci.vendor, dev('igpu').pci.deviceId]).toEqual([0x8086, 0x9a49]);
        expect([dev('nvme0').pci.vendor, dev('nvme0').pci.deviceId]).toEqual([0x1b36, 0]);
    });

    it('endpoint capabilities and attributes', () => {
        const nvme0 = dev('nvme0');
        expect(nvme0.pci).toMatchObject({ pasidWidth: 20, ats: true, pri: true, sriovTotal: 8, className: undefined });
        expect(nvme0.noSnoop).toBe(true);
        expect(nvme0.iommu).toBe('dmar0');
        expect(dev('igpu').pci.className).toBe('display');
        expect(dev('nic1').pci).toMatchObject({ pasidWidth: 0, ats: false, pri: false, dmaAliasDevfns: [], resets: [], requireDirect: false });
    });

    // PCIe extended capabilities do not exist on a conventional function: dropped, with a warning.
    it('PCIe-only capabilities are dropped from conventional functions', () => {
        expect(dev('sound0').pci.ats).toBe(false);
        expect(diagnostics.map((d) => d.code)).toEqual(['pcie-capability-on-conventional']);
    });
});

describe('DMA alias devfns', () => {
    it('explicit dma-alias (same bus) and header quirks that key on the written id', () => {
        const spec = machine(pci(0, undefined,
            ep('00:02.0', 'a', { dmaAlias: ['00:02.1', '0000:00:05.0'] }),
            ep('00:03.0', 'sata', { id: '1b4b:9123' }),
            ep('00:04.0', 'plain'),
            ep('00:06.0', 'card', { id: '1180:e832' }),
            ep('00:06.2', 'card2', { id: '1180:e832' })));
        const devs = new Map(enumeratePci(spec).devices.map((d) => [d.name, d.pci.dmaAliasDevfns]));
        expect(devs.get('a')).toEqual([0x11, 0x28]);
        expect(devs.get('sata')).toEqual([0x19]); // quirk_dma_func1_alias: 00:03.1
        expect(devs.get('plain')).toEqual([]);
        expect(devs.get('card')).toEqual([]); // quirk_dma_func0_alias: function 0 needs no alias
        expect(devs.get('card2')).toEqual([0x30]); // 00:06.2 also DMAs as 00:06.0
    });

    it('dma-alias on another bus is an error and is ignored', () => {
        const spec = machine(pci(0, undefined, ep('00:02.0', 'a', { dmaAlias: ['01:00.0'], line: 7 })));
        const { devices, diagnostics } = enumeratePci(spec);
        expect(devices[0]!.pci.dmaAliasDevfns).toEqual([]);
        expect(diagnostics).toEqual([{
            severity: 'error', code: 'dma-alias-other-bus', loc: lineLoc(7),
            message: "0000:00:02.0 (a) has dma-alias on bus 01, not its own bus: Linux keeps DMA aliases as devfns of the device's bus (dma_alias_mask), so this alias is ignored",
        }]);
    });
});
