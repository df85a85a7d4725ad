/**
 * IOMMU group derivation (`pci_device_group`, `iommu_group_alloc`), one rule per test. Each
 * expected result was worked out by hand from drivers/iommu/iommu.c; the derivation is in the
 * comment above the test. "path(X)" is `pci_acs_path_enabled(X, NULL, REQ_ACS_FLAGS)`.
 */

import { describe, expect, it } from 'vitest';
import { deriveGroups, probeGroups, virtfnDevices } from '../../../engine/machine/groups.js';
import {
    amdvi, bridge, ds, ep, groupsOf, machine, pci, platformDev, rp, smmuv3, sw, vtd,
} from './builders.js';

describe('kernel-semantics 1.10 worked examples', () => {
    // rp1: root bus, nothing above it, not multifunction → new group 0.
    // e: alias walk passes rp1 (root port); path(rp1) holds → stop; no alias, single function → 1.
    it('root port with ACS isolates its endpoint', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0', rp('00:01.0', 'rp1', { acs: true }, ep('01:00.0', 'e'))));
        expect(groupsOf(spec)).toEqual({ 0: ['rp1'], 1: ['e'] });
    });

    // Probe order rp1, us, ds1, ds2, e1, e2 (bus 00, 01, 02, 03, 04). rp1 → 0. Every later device
    // climbs: path(parent) reaches rp1, which has no ACS, so P becomes the parent, whose group (0)
    // was given first.
    it('root port without ACS pulls the whole switch into its group', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0',
            rp('00:01.0', 'rp1', {}, sw('01:00.0', 'us', {},
                ds('02:01.0', 'ds1', { acs: true }, ep('03:00.0', 'e1')),
                ds('02:02.0', 'ds2', { acs: true }, ep('04:00.0', 'e2')))),
        ));
        expect(groupsOf(spec)).toEqual({ 0: ['rp1', 'us', 'ds1', 'ds2', 'e1', 'e2'] });
    });

    // rp1 → 0; us: path(rp1) ok → 1; ds1: path(us) ok (single-function upstream port counts as
    // isolated, then rp1) → 2; ds2 → 3 (its own ACS does not matter for itself); e1: path(ds1)
    // ok → 4; e2: path(ds2) fails → P = ds2 → 3.
    it('switch with mixed downstream ACS: only the port without ACS shares', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0',
            rp('00:01.0', 'rp1', { acs: true }, sw('01:00.0', 'us', {},
                ds('02:01.0', 'ds1', { acs: true }, ep('03:00.0', 'e1')),
                ds('02:02.0', 'ds2', {}, ep('04:00.0', 'e2')))),
        ));
        expect(groupsOf(spec)).toEqual({ 0: ['rp1'], 1: ['us'], 2: ['ds1'], 3: ['ds2', 'e2'], 4: ['e1'] });
    });

    // e0: multifunction without ACS; function search finds e1 without a group → new 1.
    // e1: function search finds e0 (not isolated) with group 1.
    it('multifunction endpoint without ACS: one group', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0',
            rp('00:01.0', 'rp1', { acs: true }, ep('01:00.0', 'e0'), ep('01:00.1', 'e1'))));
        expect(groupsOf(spec)).toEqual({ 0: ['rp1'], 1: ['e0', 'e1'] });
    });

    // b: P = b, path(rp1) ok → new 1. x and y: the alias walk reaches b (PCIe-to-PCI bridge,
    // alias 02:00.0), which has group 1 → join.
    it('PCIe-to-PCI bridge: everything behind it shares the bridge group', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0',
            rp('00:01.0', 'rp1', { acs: true }, bridge('01:00.0', 'b', {}, ep('02:00.0', 'x'), ep('02:01.0', 'y')))));
        expect(groupsOf(spec)).toEqual({ 0: ['rp1'], 1: ['b', 'x', 'y'] });
    });

    // VFs are not multifunction and path(rp1) holds: each VF gets a new group.
    it('SR-IOV PF below ACS: PF and each VF alone', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0',
            rp('00:01.0', 'rp1', { acs: true }, ep('01:00.0', 'pf', { sriov: 2 }))));
        const boot = deriveGroups(spec);
        expect(boot.groups).toEqual([{ id: 0, devices: ['rp1'] }, { id: 1, devices: ['pf'] }]);
        const pf = boot.devices.find((d) => d.name === 'pf')!;
        const vfs = virtfnDevices('pf', pf.pci, 'dmar0', 2);
        const existing = new Map(boot.devices.map((d) => [d.name, { pci: d.pci, group: d.name === 'rp1' ? 0 : 1 }]));
        expect(probeGroups(vfs, existing, new Set([0, 1]))).toEqual(new Map([['pf.vf0', 2], ['pf.vf1', 3]]));
    });
});

describe('ACS on ports', () => {
    // nvme0: path(rp0) fails (root port, no ACS capability, no quirk) → P = rp0 → group 0.
    it('root port without ACS shares its group with the device below', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0', rp('00:1c.0', 'rp0', {}, ep('01:00.0', 'nvme0'))));
        expect(groupsOf(spec)).toEqual({ 0: ['rp0', 'nvme0'] });
    });

    // acs(sv rr): CR and UF are implemented but off; pci_acs_flags_enabled masks REQ_ACS_FLAGS
    // with the capability (all four) and finds CR|UF missing from control → path fails.
    it('acs(sv rr) is not isolation', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0', rp('00:1c.0', 'rp0', { acs: ['sv', 'rr'] }, ep('01:00.0', 'e'))));
        expect(groupsOf(spec)).toEqual({ 0: ['rp0', 'e'] });
    });

    // acs(sv rr cr uf) is the same as plain acs.
    it('acs(sv rr cr uf) isolates like acs', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0', rp('00:1c.0', 'rp0', { acs: ['sv', 'rr', 'cr', 'uf'] }, ep('01:00.0', 'e'))));
        expect(groupsOf(spec)).toEqual({ 0: ['rp0'], 1: ['e'] });
    });

    // rp acs → 0, sw1 → 1, ds1 (no ACS) → 2. sw2: path(ds1) fails → P = ds1 → 2. ds2a, ds2b:
    // path(sw2) climbs through ds1 and fails → P = sw2 → 2. a: path(ds2a) reaches ds1, fails →
    // P = ds2a → 2; b likewise. One non-ACS port high up merges everything below it.
    it('a non-ACS port high up merges everything below it', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0',
            rp('00:01.0', 'rp', { acs: true }, sw('01:00.0', 'sw1', {},
                ds('02:01.0', 'ds1', {}, sw('03:00.0', 'sw2', {},
                    ds('04:01.0', 'ds2a', { acs: true }, ep('05:00.0', 'a')),
                    ds('04:02.0', 'ds2b', { acs: true }, ep('06:00.0', 'b'))))))));
        expect(groupsOf(spec)).toEqual({ 0: ['rp'], 1: ['sw1'], 2: ['ds1', 'sw2', 'ds2a', 'ds2b', 'a', 'b'] });
    });

    // rp0 → 0 (function search finds rp1 without group). rp1: function search finds rp0 (not
    // isolated, group 0). a, b: path(rp0/rp1) fails → P = the port → 0.
    it('multifunction root ports without ACS share one group with everything below', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0',
            rp('00:1c.0', 'rp0', {}, ep('01:00.0', 'a')),
            rp('00:1c.1', 'rp1', {}, ep('02:00.0', 'b'))));
        expect(groupsOf(spec)).toEqual({ 0: ['rp0', 'rp1', 'a', 'b'] });
    });

    // With ACS, pci_acs_enabled(root port) holds, so the function search returns nothing.
    it('multifunction root ports with ACS are separate', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0',
            rp('00:1c.0', 'rp0', { acs: true }, ep('01:00.0', 'a')),
            rp('00:1c.1', 'rp1', { acs: true }, ep('02:00.0', 'b'))));
        expect(groupsOf(spec)).toEqual({ 0: ['rp0'], 1: ['rp1'], 2: ['a'], 3: ['b'] });
    });

    // 8086:8c10 and 8086:8c12 (Lynxpoint-H PCH) are in pci_quirk_intel_pch_acs_ids: the quirk
    // answers "isolated" although the ports have no ACS capability.
    it('Intel PCH root ports (pci_quirk_intel_pch_acs) isolate without an ACS capability', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0',
            rp('00:1c.0', 'rp0', { id: '8086:8c10' }, ep('01:00.0', 'a')),
            rp('00:1c.1', 'rp1', { id: '8086:8c12' }, ep('02:00.0', 'b'))));
        expect(groupsOf(spec)).toEqual({ 0: ['rp0'], 1: ['rp1'], 2: ['a'], 3: ['b'] });
    });

    // 8086:a110 (Sunrise Point): pci_quirk_intel_spt_pch_acs answers from the ACS registers; with
    // no ACS capability it does not answer and the standard rule says "no capability, no ACS".
    it('Intel Sunrise Point root ports follow their (dword) ACS registers', () => {
        const withAcs = machine(vtd('dmar0'), pci(0, 'dmar0', rp('00:1c.0', 'rp0', { id: '8086:a110', acs: true }, ep('01:00.0', 'a'))));
        const without = machine(vtd('dmar0'), pci(0, 'dmar0', rp('00:1c.0', 'rp0', { id: '8086:a110' }, ep('01:00.0', 'a'))));
        expect(groupsOf(withAcs)).toEqual({ 0: ['rp0'], 1: ['a'] });
        expect(groupsOf(without)).toEqual({ 0: ['rp0', 'a'] });
    });
});

describe('multifunction devices', () => {
    // Both functions have ACS: pci_acs_enabled(MF endpoint) = pci_acs_flags_enabled → true →
    // get_pci_function_alias_group returns NULL for each.
    it('function-level acs isolates the functions', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0',
            rp('00:01.0', 'rp', { acs: true }, ep('01:00.0', 'f0', { acs: true }), ep('01:00.1', 'f1', { acs: true }))));
        expect(groupsOf(spec)).toEqual({ 0: ['rp'], 1: ['f0'], 2: ['f1'] });
    });

    // f0 has ACS: its own function search stops at once (isolated). f1 has none, but the search
    // skips functions that are isolated (f0), so f1 finds nobody either: separate groups.
    it('only one function with acs: still separate groups (the search skips isolated functions)', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0',
            rp('00:01.0', 'rp', { acs: true }, ep('01:00.0', 'f0', { acs: true }), ep('01:00.1', 'f1'))));
        expect(groupsOf(spec)).toEqual({ 0: ['rp'], 1: ['f0'], 2: ['f1'] });
    });

    // 8086:10c9 is an 82576 in pci_quirk_mf_endpoint_acs: the quirk answers "isolated".
    it('pci_quirk_mf_endpoint_acs ID (Intel 82576) isolates the functions', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0',
            rp('00:01.0', 'rp', { acs: true }, ep('01:00.0', 'p0', { id: '8086:10c9' }), ep('01:00.1', 'p1', { id: '8086:10c9' }))));
        expect(groupsOf(spec)).toEqual({ 0: ['rp'], 1: ['p0'], 2: ['p1'] });
    });

    // A multifunction RCiEP is only isolated by ACS or a quirk: plain ones share.
    it('multifunction RCiEPs without ACS share a group', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0', ep('00:02.0', 'a'), ep('00:02.1', 'b')));
        expect(groupsOf(spec)).toEqual({ 0: ['a', 'b'] });
    });

    // pci_quirk_rciep_acs: any Intel RCiEP counts as isolated (VT-d r3.1 3.16).
    it('Intel multifunction RCiEPs are isolated (pci_quirk_rciep_acs)', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0', ep('00:02.0', 'a', { id: '8086:1234' }), ep('00:02.1', 'b', { id: '8086:1235' })));
        expect(groupsOf(spec)).toEqual({ 0: ['a'], 1: ['b'] });
    });

    // pci_quirk_rciep_acs answers only for RC-integrated endpoints (-ENOTTY otherwise), and
    // 8086:1234 is in no other list: behind a root port the two functions share.
    it('the Intel RCiEP quirk does not apply to endpoints below a port', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0',
            rp('00:01.0', 'rp', { acs: true }, ep('01:00.0', 'a', { id: '8086:1234' }), ep('01:00.1', 'b', { id: '8086:1234' }))));
        expect(groupsOf(spec)).toEqual({ 0: ['rp'], 1: ['a', 'b'] });
    });

    // pci_quirk_amd_sb_acs: multifunction ATI/AMD southbridge functions on the root bus, only
    // when an IVRS table (AMD IOMMU) exists.
    it('AMD southbridge functions are isolated only with an AMD IOMMU', () => {
        const sb = (unit: ReturnType<typeof vtd>) => machine(unit, pci(0, unit.name,
            ep('00:14.0', 'smbus', { id: '1002:4385' }), ep('00:14.1', 'ide', { id: '1002:439c' })));
        expect(groupsOf(sb(amdvi('ivhd0')))).toEqual({ 0: ['smbus'], 1: ['ide'] });
        expect(groupsOf(sb(vtd('dmar0')))).toEqual({ 0: ['smbus', 'ide'] });
    });
});

describe('DMA aliases', () => {
    // cb (conventional bridge) → 1. x, y: alias walk reaches cb (own RID 01:00.0) → join.
    it('conventional PCI bridge: devices behind share its group', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0',
            rp('00:01.0', 'rp', { acs: true }, bridge('01:00.0', 'cb', { conventional: true }, ep('02:00.0', 'x'), ep('02:01.0', 'y')))));
        expect(groupsOf(spec)).toEqual({ 0: ['rp'], 1: ['cb', 'x', 'y'] });
    });

    // pb (PCIe-to-PCI) → 0; cb: walk cb, then pb (alias 01:00.0) has group → 0; x: walk x, cb
    // (group 0) → 0.
    it('a conventional bridge behind a PCIe-to-PCI bridge joins the outer bridge', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0',
            bridge('00:1e.0', 'pb', {}, bridge('01:00.0', 'cb', { conventional: true }, ep('02:00.0', 'x')))));
        expect(groupsOf(spec)).toEqual({ 0: ['pb', 'cb', 'x'] });
    });

    // Two single-function RCiEPs. b lists a's devfn in its dma_alias_mask: get_pci_alias_group(b)
    // finds a (pci_devs_are_dma_aliases) with group 0. Declared the other way round (a aliases
    // b), the test is symmetric.
    it('explicit dma-alias to another function shares the group, in either direction', () => {
        const forward = machine(vtd('dmar0'), pci(0, 'dmar0', ep('00:02.0', 'a'), ep('00:03.0', 'b', { dmaAlias: ['00:02.0'] })));
        const backward = machine(vtd('dmar0'), pci(0, 'dmar0', ep('00:02.0', 'a', { dmaAlias: ['00:03.0'] }), ep('00:03.0', 'b')));
        expect(groupsOf(forward)).toEqual({ 0: ['a', 'b'] });
        expect(groupsOf(backward)).toEqual({ 0: ['a', 'b'] });
    });

    // x aliases e1; e0/e1 are a multifunction RCiEP without ACS. x → 0 (nothing has a group
    // yet). e0: get_pci_alias_group(e0) finds nothing; the function search reaches e1, whose
    // alias search finds x (x lists e1) → 0. e1: its alias search finds x directly → 0.
    it('aliases and non-isolated functions chain (get_pci_alias_group recursion)', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0',
            ep('00:02.0', 'x', { dmaAlias: ['00:03.1'] }), ep('00:03.0', 'e0'), ep('00:03.1', 'e1')));
        expect(groupsOf(spec)).toEqual({ 0: ['x', 'e0', 'e1'] });
    });

    // Both functions have ACS, so without aliasing they are separate. 1b4b:9123 (Marvell
    // 88SE9123) gets quirk_dma_func1_alias: function 0 DMAs as 01:00.1 too → one group.
    it('DMA alias quirk by ID (quirk_dma_func1_alias) merges the functions', () => {
        const build = (id?: string) => machine(vtd('dmar0'), pci(0, 'dmar0',
            rp('00:01.0', 'rp', { acs: true },
                ep('01:00.0', 'sata', { acs: true, ...(id ? { id } : {}) }),
                ep('01:00.1', 'ide', { acs: true }))));
        expect(groupsOf(build())).toEqual({ 0: ['rp'], 1: ['sata'], 2: ['ide'] });
        expect(groupsOf(build('1b4b:9123'))).toEqual({ 0: ['rp'], 1: ['sata', 'ide'] });
    });
});

describe('SR-IOV', () => {
    const sriovMachine = (rpAcs: boolean, totalVfs: number) => machine(vtd('dmar0'), pci(0, 'dmar0',
        rp('00:01.0', 'rp0', rpAcs ? { acs: true } : {}, ep('01:00.0', 'pf', { sriov: totalVfs })),
        rp('00:02.0', 'rp1', { acs: true }, ep('03:00.0', 'nic'))));

    function boot(rpAcs: boolean, totalVfs = 4) {
        const result = deriveGroups(sriovMachine(rpAcs, totalVfs));
        const groupOf = new Map<string, number>();
        for (const g of result.groups) {
            for (const d of g.devices) {
                groupOf.set(d, g.id);
            }
        }
        const existing = new Map(result.devices.map((d) => [d.name, { pci: d.pci, group: groupOf.get(d.name) }]));
        const pf = result.devices.find((d) => d.name === 'pf')!;
        return { existing, pf, used: new Set(groupOf.values()) };
    }

    // Boot: rp0 0, rp1 1, pf 2, nic 3. VFs at 01:10.0 and 01:10.1: path(rp0) holds, VFs are not
    // multifunction → new groups 4 and 5 (after every id in use).
    it('with ACS above, each VF gets a new group after the existing ones', () => {
        const { existing, pf, used } = boot(true);
        const vfs = virtfnDevices('pf', pf.pci, 'dmar0', 2);
        expect(vfs.map((v) => v.devName)).toEqual(['0000:01:10.0', '0000:01:10.1']);
        expect(probeGroups(vfs, existing, used)).toEqual(new Map([['pf.vf0', 4], ['pf.vf1', 5]]));
    });

    // Without ACS at rp0: boot rp0 0 (with pf), rp1 1, nic 2. VFs: path(rp0) fails → P = rp0 →
    // group 0, together with the PF.
    it('without ACS above, the VFs join the port group (with the PF)', () => {
        const { existing, pf, used } = boot(false);
        expect(existing.get('pf')?.group).toBe(0);
        const vfs = virtfnDevices('pf', pf.pci, 'dmar0', 2);
        expect(probeGroups(vfs, existing, used)).toEqual(new Map([['pf.vf0', 0], ['pf.vf1', 0]]));
    });

    // The IDA hands out the lowest free id: with 0-3 in use by the boot groups and 5 held by some
    // other group (4 freed earlier), the VFs get 4 and then 6.
    it('VF group ids reuse freed ids (IDA)', () => {
        const { existing, pf } = boot(true);
        const vfs = virtfnDevices('pf', pf.pci, 'dmar0', 2);
        expect(probeGroups(vfs, existing, new Set([0, 1, 2, 3, 5]))).toEqual(new Map([['pf.vf0', 4], ['pf.vf1', 6]]));
    });

    // VF 128 has RID 01:00.0 + 0x80 + 128 = 02:00.0, on the virtual bus 02 (no bridge). The ACS
    // walk skips the virtual bus and continues at the PF's bus: with ACS at rp0 the VF is alone;
    // without, it climbs to rp0.
    it('VFs on a virtual bus: the ACS walk skips it and continues at the PF bus', () => {
        const isolated = boot(true, 130);
        const vfsA = virtfnDevices('pf', isolated.pf.pci, 'dmar0', 130);
        expect(vfsA[128]!.devName).toBe('0000:02:00.0');
        expect(vfsA[128]!.pci.virtualBus).toBe(true);
        const groupsA = probeGroups(vfsA, isolated.existing, isolated.used);
        expect(groupsA.get('pf.vf128')).toBe(4 + 128);
        const shared = boot(false, 130);
        const vfsB = virtfnDevices('pf', shared.pf.pci, 'dmar0', 130);
        expect(probeGroups(vfsB, shared.existing, shared.used).get('pf.vf128')).toBe(0);
    });

    // A VF of a PF in a segment without IOMMU gets no group.
    it('VFs without an IOMMU get no group', () => {
        const spec = machine(pci(0, undefined, rp('00:01.0', 'rp0', { acs: true }, ep('01:00.0', 'pf', { sriov: 2 }))));
        const result = deriveGroups(spec);
        expect(result.groups).toEqual([]);
        const pf = result.devices.find((d) => d.name === 'pf')!;
        const vfs = virtfnDevices('pf', pf.pci, undefined, 2);
        expect(probeGroups(vfs, new Map(), new Set()).size).toBe(0);
    });
});

describe('probe order and group numbering', () => {
    // PCI scan order puts segment 1 first (declared first), but units register in declaration
    // order (dmar0, then dmar1) and each unit's iommu_device_register probes the platform bus,
    // then the PCI bus, taking only its own devices: dmar0's acpi1, s0rp, s0ep get 0-2, then
    // dmar1's acpi0, s1rp, s1ep get 3-5.
    it.each([
        ['intel-vtd', vtd],
        ['amd-vi', amdvi],
        ['arm-smmu-v3', smmuv3],
    ])('several units (%s): ids go unit by unit, platform devices before PCI', (_kind, unit) => {
        const spec = machine(unit('u0'), unit('u1'),
            pci(1, 'u1', rp('00:01.0', 's1rp', { acs: true }, ep('01:00.0', 's1ep'))),
            pci(0, 'u0', rp('00:01.0', 's0rp', { acs: true }, ep('01:00.0', 's0ep'))),
            platformDev('acpi0', 'u1'),
            platformDev('acpi1', 'u0'));
        const result = deriveGroups(spec);
        expect(result.devices.map((d) => d.name)).toEqual(['s1rp', 's1ep', 's0rp', 's0ep']);
        expect(groupsOf(spec)).toEqual({
            0: ['acpi1'], 1: ['s0rp'], 2: ['s0ep'], 3: ['acpi0'], 4: ['s1rp'], 5: ['s1ep'],
        });
    });

    // Linux scans by devfn and root bus number, not by declaration order; a segment without IOMMU
    // and a platform device without IOMMU get no group.
    it('ids follow scan order (devfn, root bus), not declaration order', () => {
        const spec = machine(vtd('dmar0'),
            pci(0, 'dmar0',
                rp('80:01.0', 'rpb', { acs: true }, ep('81:00.0', 'b')),
                rp('00:1d.0', 'rp1', { acs: true }, ep('02:00.0', 'y')),
                rp('00:1c.0', 'rp0', { acs: true }, ep('01:00.0', 'x'))),
            pci(1, undefined, ep('00:02.0', 'orphan')),
            platformDev('lonely'));
        expect(groupsOf(spec)).toEqual({
            0: ['rp0'], 1: ['rp1'], 2: ['x'], 3: ['y'], 4: ['rpb'], 5: ['b'],
        });
    });

    // Platform devices get a group each (generic_device_group / SMMUv3 / acpihid per entry).
    it('platform devices get a group each', () => {
        const spec = machine(smmuv3('smmu0'), platformDev('dma0', 'smmu0'), platformDev('dma1', 'smmu0'));
        expect(groupsOf(spec)).toEqual({ 0: ['dma0'], 1: ['dma1'] });
    });
});
