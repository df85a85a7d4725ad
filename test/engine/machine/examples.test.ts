/**
 * Groups of the machines the project documents: the Machines section of
 * /work/shared/design/language.md and the machines of /work/shared/examples/*.iommu, transcribed
 * with the builders (the language's parser is tested elsewhere).
 */

import { describe, expect, it } from 'vitest';
import { deriveGroups, probeGroups, virtfnDevices } from '../../../engine/machine/groups.js';
import { bridge, ds, ep, groupsOf, machine, pci, rp, sw, vtd } from './builders.js';

describe('language.md: machine workstation', () => {
    const workstation = machine(vtd('dmar0'), pci(0, 'dmar0',
        ep('00:02.0', 'igpu', { id: '8086:9a49', className: 'display', driver: 'i915' }),
        rp('00:1c.0', 'rp0', { acs: true }, ep('01:00.0', 'nvme0', { driver: 'nvme' })),
        rp('00:1d.0', 'rp1', {},
            ep('02:00.0', 'nic0', { driver: 'ixgbe' }),
            ep('02:00.1', 'nic1', { driver: 'ixgbe' })),
        bridge('00:1e.0', 'legacy', {}, ep('03:00.0', 'sound0', { driver: 'snd_hda_intel' })),
        rp('00:1f.0', 'rp2', { acs: true },
            sw('04:00.0', 'sw0', {},
                ds('05:01.0', undefined, { acs: true },
                    ep('06:00.0', 'gpu0', { driver: 'nvidia', pasid: 20, ats: true, pri: true, sriov: 4 })),
                ds('05:02.0', undefined, {},
                    ep('07:00.0', 'fpga0', { driver: null, noSnoop: true })))),
    ));

    // Scan order: bus 00 (igpu, rp0, rp1, legacy, rp2), 01 nvme0, 02 nic0 nic1, 03 sound0,
    // 04 sw0, 05 (05:01.0, 05:02.0), 06 gpu0, 07 fpga0.
    // igpu: single-function RCiEP → 0. rp0 → 1, rp1 → 2, legacy → 3, rp2 → 4 (root ports and
    // the RC-integrated PCIe-to-PCI bridge are alone: single function, root bus).
    // nvme0: path(rp0) ok → 5. nic0, nic1: path(rp1) fails → rp1's 2. sound0: alias walk meets
    // legacy (alias 03:00.0) → 3. sw0: path(rp2) ok → 6. 05:01.0 and 05:02.0: path(sw0) ok
    // (single-function upstream port, then rp2) → 7 and 8. gpu0: path(05:01.0) ok → 9.
    // fpga0: path(05:02.0) fails → 8.
    it('derives the groups and ids Linux gives', () => {
        expect(groupsOf(workstation)).toEqual({
            0: ['igpu'],
            1: ['rp0'],
            2: ['rp1', 'nic0', 'nic1'],
            3: ['legacy', 'sound0'],
            4: ['rp2'],
            5: ['nvme0'],
            6: ['sw0'],
            7: ['0000:05:01.0'],
            8: ['0000:05:02.0', 'fpga0'],
            9: ['gpu0'],
        });
    });

    it('has no topology diagnostics', () => {
        expect(deriveGroups(workstation).diagnostics).toEqual([]);
    });

    // gpu0's VFs sit at 06:10.0...; path(05:01.0) holds, so each gets a new group from 10 on.
    it('gpu0 VFs get groups 10 and up', () => {
        const boot = deriveGroups(workstation);
        const gpu0 = boot.devices.find((d) => d.name === 'gpu0')!;
        const vfs = virtfnDevices('gpu0', gpu0.pci, 'dmar0', 4);
        const existing = new Map(boot.devices.map((d) => [d.name, {
            pci: d.pci, group: boot.groups.find((g) => g.devices.includes(d.name))?.id,
        }]));
        const used = new Set(boot.groups.map((g) => g.id));
        expect([...probeGroups(vfs, existing, used)]).toEqual([
            ['gpu0.vf0', 10], ['gpu0.vf1', 11], ['gpu0.vf2', 12], ['gpu0.vf3', 13],
        ]);
        expect(vfs.map((v) => v.devName)).toEqual(['0000:06:10.0', '0000:06:10.1', '0000:06:10.2', '0000:06:10.3']);
    });
});

describe('/work/shared/examples', () => {
    const dmar0 = vtd('dmar0');

    // 01-groups-not-devices: rp0 → 0, rp1 → 1, nic0/nic1 climb to rp0 (no ACS) → 0, gpu0 → 2.
    it('01-groups-not-devices (desktop)', () => {
        const desktop = machine(dmar0, pci(0, 'dmar0',
            rp('00:1c.0', 'rp0', {}, ep('01:00.0', 'nic0', { driver: 'ixgbe' }), ep('01:00.1', 'nic1', { driver: 'ixgbe' })),
            rp('00:1d.0', 'rp1', { acs: true }, ep('02:00.0', 'gpu0', { driver: 'nvidia', sriov: 4 }))));
        expect(groupsOf(desktop)).toEqual({ 0: ['rp0', 'nic0', 'nic1'], 1: ['rp1'], 2: ['gpu0'] });
    });

    // 02-ioas-is-the-container: rp0 0, rp1 1, rp2 2, nvme0 3, nic0 4, nicA/nicB join rp2 (2).
    it('02-ioas-is-the-container (server)', () => {
        const server = machine(dmar0, pci(0, 'dmar0',
            rp('00:01.0', 'rp0', { acs: true }, ep('01:00.0', 'nvme0', { driver: 'nvme' })),
            rp('00:02.0', 'rp1', { acs: true }, ep('02:00.0', 'nic0', { driver: 'ice' })),
            rp('00:03.0', 'rp2', {}, ep('03:00.0', 'nicA', { driver: 'ixgbe' }), ep('03:00.1', 'nicB', { driver: 'ixgbe' }))));
        expect(groupsOf(server)).toEqual({ 0: ['rp0'], 1: ['rp1'], 2: ['rp2', 'nicA', 'nicB'], 3: ['nvme0'], 4: ['nic0'] });
    });

    // 03-pasids-sva-and-slices: two ACS root ports with one device each.
    it('03-pasids-sva-and-slices (accel_host)', () => {
        const accel = machine(dmar0, pci(0, 'dmar0',
            rp('00:01.0', 'rp0', { acs: true }, ep('01:00.0', 'dsa0', { driver: 'idxd', pasid: 20, ats: true, pri: true })),
            rp('00:02.0', 'rp1', { acs: true }, ep('02:00.0', 'dsa1', { driver: 'idxd', pasid: 20, ats: true, pri: true }))));
        expect(groupsOf(accel)).toEqual({ 0: ['rp0'], 1: ['rp1'], 2: ['dsa0'], 3: ['dsa1'] });
    });

    // 04 (both machines) and 05: one ACS root port, one endpoint.
    it.each(['04 old_server', '04 old_server_unsafe', '05 desktop'])('%s', () => {
        const spec = machine(dmar0, pci(0, 'dmar0', rp('00:01.0', 'rp0', { acs: true }, ep('01:00.0', 'dev'))));
        expect(groupsOf(spec)).toEqual({ 0: ['rp0'], 1: ['dev'] });
    });
});
