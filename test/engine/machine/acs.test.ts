/**
 * `pci_acs_enabled`, `pci_acs_flags_enabled`, `pci_acs_path_enabled` and the ACS quirk table.
 */

import { describe, expect, it } from 'vitest';
import {
    PCI_ACS_CR, PCI_ACS_EC, PCI_ACS_RR, PCI_ACS_SV, PCI_ACS_UF, REQ_ACS_FLAGS,
    pci_acs_enabled, pci_acs_flags_enabled, pci_acs_path_enabled,
} from '../../../engine/machine/acs.js';
import type { PciDev } from '../../../engine/state.js';
import { amdvi, bridge, ds, ep, lookupOf, machine, pci, rp, sw, vtd } from './builders.js';

const base: PciDev = {
    bdf: { segment: 0, bus: 1, device: 0, fn: 0 }, type: 'endpoint', vendor: 0x1b36, deviceId: 0, multifunction: false,
    pasidWidth: 0, ats: false, pri: false, dmaAliasDevfns: [], resets: [], requireDirect: false,
};
const noIvrs = { ivrs: false };

describe('pci_acs_flags_enabled', () => {
    it('no ACS capability: false', () => {
        expect(pci_acs_flags_enabled(base, REQ_ACS_FLAGS)).toBe(false);
    });

    // Flags the capability does not implement count as hard-wired on.
    it('unimplemented flags count as enabled', () => {
        const acs = { cap: PCI_ACS_SV | PCI_ACS_RR, ctrl: PCI_ACS_SV | PCI_ACS_RR };
        expect(pci_acs_flags_enabled({ ...base, acs }, REQ_ACS_FLAGS)).toBe(true);
    });

    it('implemented but disabled flags fail', () => {
        const acs = { cap: REQ_ACS_FLAGS, ctrl: PCI_ACS_SV | PCI_ACS_RR };
        expect(pci_acs_flags_enabled({ ...base, acs }, REQ_ACS_FLAGS)).toBe(false);
    });

    // Egress Control is required whenever asked, implemented or not.
    it('EC is always required when asked', () => {
        const acs = { cap: REQ_ACS_FLAGS, ctrl: REQ_ACS_FLAGS };
        expect(pci_acs_flags_enabled({ ...base, acs }, REQ_ACS_FLAGS | PCI_ACS_EC)).toBe(false);
    });
});

describe('pci_acs_enabled by PCIe type', () => {
    const acs = { cap: REQ_ACS_FLAGS, ctrl: REQ_ACS_FLAGS };
    it.each([
        ['root port without ACS', { type: 'root-port' }, false],
        ['root port with ACS', { type: 'root-port', acs }, true],
        ['downstream port without ACS', { type: 'downstream-port' }, false],
        ['downstream port with ACS', { type: 'downstream-port', acs }, true],
        ['single-function endpoint', { type: 'endpoint' }, true],
        ['multifunction endpoint without ACS', { type: 'endpoint', multifunction: true }, false],
        ['multifunction endpoint with ACS', { type: 'endpoint', multifunction: true, acs }, true],
        ['single-function upstream port', { type: 'upstream-port' }, true],
        ['multifunction upstream port', { type: 'upstream-port', multifunction: true }, false],
        ['single-function RCiEP', { type: 'rc-endpoint' }, true],
        ['multifunction RCiEP', { type: 'rc-endpoint', multifunction: true }, false],
        ['legacy endpoint', { type: 'legacy-endpoint' }, true],
        ['PCIe-to-PCI bridge, even with ACS', { type: 'pcie-to-pci-bridge', acs }, false],
        ['conventional PCI bridge', { type: 'pci-bridge' }, false],
        ['conventional function', { type: 'conventional' }, false],
    ] as const)('%s', (_what, fields, expected) => {
        expect(pci_acs_enabled({ ...base, ...fields }, REQ_ACS_FLAGS, noIvrs)).toBe(expected);
    });
});

describe('ACS quirks (pci_dev_acs_enabled[])', () => {
    const dev = (type: PciDev['type'], id: string, extra: Partial<PciDev> = {}): PciDev => {
        const [v, d] = id.split(':');
        return { ...base, type, vendor: parseInt(v!, 16), deviceId: parseInt(d!, 16), ...extra };
    };
    const mfAcs = { cap: REQ_ACS_FLAGS, ctrl: PCI_ACS_SV | PCI_ACS_RR };

    it.each([
        ['pci_quirk_intel_pch_acs: listed PCH root port', dev('root-port', '8086:1e10'), true],
        ['pci_quirk_intel_pch_acs: Patsburg lists even IDs only', dev('root-port', '8086:1d11'), false],
        ['pci_quirk_intel_pch_acs: other Intel root port', dev('root-port', '8086:1234'), false],
        ['pci_quirk_intel_spt_pch_acs: with ACS on', dev('root-port', '8086:a290', { acs: { cap: REQ_ACS_FLAGS, ctrl: REQ_ACS_FLAGS } }), true],
        ['pci_quirk_intel_spt_pch_acs: with acs(sv rr)', dev('root-port', '8086:a290', { acs: mfAcs }), false],
        ['pci_quirk_mf_endpoint_acs: I350', dev('endpoint', '8086:1521', { multifunction: true }), true],
        ['pci_quirk_mf_endpoint_acs: Solarflare', dev('endpoint', '1924:0a03', { multifunction: true }), true],
        ['pci_quirk_mf_endpoint_acs: Broadcom', dev('endpoint', '14e4:16d7', { multifunction: true }), true],
        ['pci_quirk_rciep_acs: Intel RCiEP', dev('rc-endpoint', '8086:9a49', { multifunction: true }), true],
        ['pci_quirk_rciep_acs: not for Intel endpoints', dev('endpoint', '8086:9a49', { multifunction: true }), false],
        ['pci_quirk_cavium_acs: ThunderX2 root port', dev('root-port', '177d:af84'), true],
        ['pci_quirk_qcom_rp_acs', dev('root-port', '17cb:0401'), true],
        ['pci_quirk_al_acs', dev('root-port', '1c36:0031'), true],
        ['pci_quirk_zhaoxin_pcie_ports_acs: listed port', dev('downstream-port', '1d17:0716'), true],
        // The Zhaoxin quirk answers "no" for unlisted ports, even with a working ACS capability.
        ['pci_quirk_zhaoxin_pcie_ports_acs: unlisted port', dev('root-port', '1d17:0800', { acs: { cap: REQ_ACS_FLAGS, ctrl: REQ_ACS_FLAGS } }), false],
        ['pci_quirk_wangxun_nic_acs: listed NIC', dev('endpoint', '8088:1001', { multifunction: true }), true],
    ])('%s', (_what, d, expected) => {
        expect(pci_acs_enabled(d, REQ_ACS_FLAGS, noIvrs)).toBe(expected);
    });

    // pci_quirk_amd_sb_acs: multifunction, on a root bus, with IVRS; only RR and CR are asked.
    it('pci_quirk_amd_sb_acs needs IVRS, multifunction and a root bus', () => {
        const sb = dev('conventional', '1002:4384', { multifunction: true, bdf: { segment: 0, bus: 0, device: 0x14, fn: 4 } });
        expect(pci_acs_enabled(sb, REQ_ACS_FLAGS, { ivrs: true })).toBe(true);
        expect(pci_acs_enabled(sb, REQ_ACS_FLAGS, { ivrs: false })).toBe(false);
        expect(pci_acs_enabled({ ...sb, multifunction: false }, REQ_ACS_FLAGS, { ivrs: true })).toBe(false);
        expect(pci_acs_enabled({ ...sb, upstream: 'rp' }, REQ_ACS_FLAGS, { ivrs: true })).toBe(false);
    });

    it('quirks answer only for the flags they provide', () => {
        const sb = dev('rc-endpoint', '1022:780f', { multifunction: true, bdf: { segment: 0, bus: 0, device: 0x14, fn: 4 } });
        expect(pci_acs_enabled(sb, PCI_ACS_RR | PCI_ACS_CR, { ivrs: true })).toBe(true);
        expect(pci_acs_enabled(sb, PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF | PCI_ACS_EC, { ivrs: true })).toBe(false);
    });
});

describe('pci_acs_path_enabled', () => {
    const spec = machine(vtd('dmar0'), pci(0, 'dmar0',
        rp('00:01.0', 'rp', { acs: true }, sw('01:00.0', 'us', {},
            ds('02:01.0', 'good', { acs: true }, ep('03:00.0', 'a')),
            ds('02:02.0', 'bad', {}, sw('04:00.0', 'us2', {}, ds('05:01.0', 'deep', { acs: true })))))));
    const lookup = lookupOf(spec);

    it('holds when every device up to the root bus provides the flags', () => {
        expect(pci_acs_path_enabled('good', undefined, REQ_ACS_FLAGS, lookup)).toBe(true);
    });

    it('fails at any device on the way', () => {
        expect(pci_acs_path_enabled('deep', undefined, REQ_ACS_FLAGS, lookup)).toBe(false);
        expect(pci_acs_path_enabled('bad', undefined, REQ_ACS_FLAGS, lookup)).toBe(false);
    });

    it('with an end device, stops there', () => {
        expect(pci_acs_path_enabled('deep', 'us2', REQ_ACS_FLAGS, lookup)).toBe(true);
        expect(pci_acs_path_enabled('deep', 'us', REQ_ACS_FLAGS, lookup)).toBe(false);
    });

    // Reaching the root bus without meeting `end` is a failure.
    it('an end that is not above the start fails', () => {
        expect(pci_acs_path_enabled('good', 'a', REQ_ACS_FLAGS, lookup)).toBe(false);
    });

    it('PCIe-to-PCI bridges and conventional bridges never pass', () => {
        const l = lookupOf(machine(amdvi('ivhd0'), pci(0, 'ivhd0', bridge('00:1e.0', 'b', {}, bridge('01:00.0', 'cb', { conventional: true })))));
        expect(pci_acs_path_enabled('b', undefined, REQ_ACS_FLAGS, l)).toBe(false);
        expect(pci_acs_path_enabled('cb', undefined, REQ_ACS_FLAGS, l)).toBe(false);
    });
});
